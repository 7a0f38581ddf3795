"""``anpr synth`` as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.common.fonts import UNSEEN_FACES, UNSEEN_FONT_PACKAGES
from edge.plates import PlateText
from tests.conftest import REPO


def anpr(*args, env=None):
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=REPO, timeout=300, env=env)


def lettered(folder: Path) -> list[str]:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))["fonts"]


@pytest.mark.skipif(not all(Path(p).is_file() for p in UNSEEN_FACES),
                    reason=f"the unseen faces are not installed ({' '.join(UNSEEN_FONT_PACKAGES)}: make unseen-fonts)")
def test_unseen_lettering_draws_only_faces_no_model_is_taught_on_and_pins_them_as_anpr_fonts_would(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ANPR_FONTS"}
    common = ("--count", "3", "--seed", "58", "--kind", "scenes", "--quiet", "--backgrounds", "none", "--workers", "2")
    run = anpr("synth", str(tmp_path / "unseen"), "--lettering", "unseen", *common, env=env)
    assert run.returncode == 0, run.stderr
    assert lettered(tmp_path / "unseen") == [Path(p).name for p in UNSEEN_FACES]
    pinned = anpr("synth", str(tmp_path / "pinned"), *common, env={**env, "ANPR_FONTS": ":".join(UNSEEN_FACES)})
    assert pinned.returncode == 0, pinned.stderr
    for name in ("0000000.jpg", "0000001.jpg", "0000002.jpg"):  # the sets rendered by ANPR_FONTS, reproduced
        assert (tmp_path / "unseen" / "images" / name).read_bytes() == (tmp_path / "pinned" / "images" / name).read_bytes()


def test_bundled_lettering_is_ipaex_gothic_alone_and_a_lettering_clashing_with_anpr_fonts_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ANPR_FONTS"}
    run = anpr("synth", str(tmp_path / "ipaex"), "--lettering", "bundled", "--count", "1", "--quiet",
               "--backgrounds", "none", "--workers", "1", env=env)
    assert run.returncode == 0, run.stderr
    assert lettered(tmp_path / "ipaex") == ["ipaexg.ttf"]
    for extra_env, lettering, fragment in [({}, "wide", "expected one of installed, bundled, unseen"),
                                           ({"ANPR_FONTS": UNSEEN_FACES[0]}, "bundled", "both name the fonts")]:
        run = anpr("synth", str(tmp_path / lettering), "--lettering", lettering, "--count", "1", "--quiet",
                   env={**env, **extra_env})
        assert run.returncode == 2, run.stderr
        assert fragment in run.stderr and not (tmp_path / lettering).exists()


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


def test_digits_draws_every_class_number_and_serial_digit_it_can_from_them_on_valid_plates(tmp_path):
    for name, extra in (("plain", ()), ("digits", ("--digits", "17"))):
        run = anpr("synth", str(tmp_path / name), "--count", "30", "--seed", "5", "--kind", "plates", "--quiet",
                   "--backgrounds", "none", "--workers", "1", *extra)
        assert run.returncode == 0, run.stderr
    plain, drawn = ([PlateText.parse(json.loads(line)["plate"]["text"], json.loads(line)["plate"]["color"])
                     for line in (tmp_path / name / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
                    for name in ("plain", "digits"))
    for a, b in zip(plain, drawn):  # the same plates but their digits, valid and no more doubtful
        assert (b.region, b.kana, b.color, len(b.class_number), len(b.serial)) == (
            a.region, a.kana, a.color, len(a.class_number), len(a.serial)), (a, b)
        assert len(b.warnings) <= len(a.warnings) and b.meaning.category == a.meaning.category, (a, b)
        assert set(str(b.number)) <= set("17"), b
        for place, char in enumerate(b.class_number):  # other digits only where the grammar refuses 1 and 7:
            # a kei plate's first two places; a first digit whose 1 and 7 would change the category (787 is kei)
            assert char in "17" or char == a.class_number[place] and (
                not char.isdigit() or b.meaning.kei and place < 2 or place == 0 and b.class_number[1:] in (
                    "87", "88", "89")), (a, b)
    assert sum(b.class_number != a.class_number for a, b in zip(plain, drawn)) >= 25
    assert json.loads((tmp_path / "digits" / "meta.json").read_text(encoding="utf-8"))["digits"] == "17"


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
        (["synth", str(tmp_path / "x"), "--kind", "stress", "--digits", "17"], "it needs --kind scenes or plates"),
        (["synth", str(tmp_path / "x"), "--kind", "clip", "--digits", "17"], "not clip"),
        (["synth", str(tmp_path / "x"), "--digits", "7a"], "one or more of the digits 0-9"),
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
