"""``anpr synth`` as a user runs it."""

import json
import subprocess
import sys

from tests.conftest import REPO


def anpr(*args):
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=REPO, timeout=300)


def test_scenes_with_a_sheet(tmp_path):
    run = anpr("synth", str(tmp_path / "out"), "--count", "4", "--seed", "5", "--kind", "scenes",
               "--sheet", str(tmp_path / "sheet.png"), "--quiet", "--backgrounds", "none")
    assert run.returncode == 0, run.stderr
    assert "wrote 4 scenes" in run.stdout and "procedural only" in run.stdout
    lines = (tmp_path / "out" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 1, 2, 3]
    assert (tmp_path / "sheet.png").stat().st_size > 0


def test_shadowed_scenes_are_the_same_scenes_with_a_shadow_across_each_sunlit_plate(tmp_path):
    for name, extra in (("plain", ()), ("shadowed", ("--shadowed",))):
        run = anpr("synth", str(tmp_path / name), "--count", "8", "--seed", "48", "--kind", "scenes", "--quiet",
                   "--backgrounds", "none", "--workers", "1", *extra)
        assert run.returncode == 0, run.stderr
    plain, shadowed = ([json.loads(line) for line in (tmp_path / name / "labels.jsonl").read_text(
        encoding="utf-8").splitlines()] for name in ("plain", "shadowed"))
    sunlit = [p["conditions"]["lighting"] in ("day", "as photographed") for p in plain]
    assert any(sunlit) and not all(sunlit)  # the seed draws both, so both sides are checked
    for a, b, lit in zip(plain, shadowed, sunlit):
        assert b["plate"] == a["plate"] and b["corners"] == a["corners"]  # the same scene, the same labels
        assert b["conditions"] == ({**a["conditions"], "cast_shadow": True} if lit else a["conditions"])
        same = (tmp_path / "plain" / a["image"]).read_bytes() == (tmp_path / "shadowed" / b["image"]).read_bytes()
        assert same != lit
    assert json.loads((tmp_path / "shadowed" / "meta.json").read_text(encoding="utf-8"))["shadowed"] is True


def test_bad_arguments_exit_two_with_the_reason(tmp_path):
    for args, fragment in [
        (["synth", str(tmp_path / "x"), "--count", "0"], "must be at least 1"),
        (["synth", str(tmp_path / "x"), "--seed", "-3"], "must be 0 or more"),
        (["synth", str(tmp_path / "x"), "--kind", "cars"], "invalid choice"),
        (["synth"], "give OUT"),
        (["synth", str(tmp_path / "x"), "--backgrounds", str(tmp_path / "nowhere")], "plates.csv is missing"),
        (["synth", "--compare", str(tmp_path / "nowhere"), "--picture", str(tmp_path / "c.png")], "cannot read"),
        (["synth", str(tmp_path / "x"), "--kind", "clip", "--size", "big"], "expected WIDTHxHEIGHT"),
        (["synth", str(tmp_path / "x"), "--kind", "clip", "--size", "8000x6000"], "expected 320x240 to 3840x2160"),
        (["synth", str(tmp_path / "x"), "--kind", "clip", "--fps", "100"], "expected 5 to 60"),
        (["synth", str(tmp_path / "x"), "--kind", "scenes", "--size", "2688x1520"], "only for --kind clip"),
        (["synth", str(tmp_path / "x"), "--kind", "stress", "--shadowed"], "it needs --kind scenes"),
    ]:
        run = anpr(*args)
        assert run.returncode == 2, (args, run.stderr)
        assert fragment in run.stderr, (args, run.stderr)


def test_compare_picture_from_real_dev(tmp_path, shared_dir):
    picture = tmp_path / "compare.png"
    run = anpr("synth", "--compare", str(shared_dir / "data" / "real-dev"), "--picture", str(picture))
    assert run.returncode == 0, run.stderr
    key = picture.with_suffix(".key.txt").read_text(encoding="utf-8").splitlines()
    assert len(key) >= 10 and all("real on the" in line for line in key)
    assert picture.stat().st_size > 10_000
