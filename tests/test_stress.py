"""The stress suite: scenes condition by condition, scored by `anpr eval` per condition, with pictures."""

import csv
import json

import cv2
import pytest

from edge.synth.stress import LEVELS, stress_sample
from tests.conftest import anpr


def test_each_sample_is_its_condition():
    names = [level.name for level in LEVELS]
    assert len(set(names)) == len(names)
    for i, level in enumerate(LEVELS):
        s = stress_sample(9, i)
        c = s.conditions
        assert c["stress"] == level.name and not c.get("special") and not s.record()["truncated"]
        if level.width_px:
            assert c["plate_width_px"] == pytest.approx(level.width_px)
        if level.overrides.yaw is not None:
            assert c["yaw"] == pytest.approx(level.overrides.yaw)
        if level.overrides.pitch is not None:
            assert c["pitch"] == pytest.approx(level.overrides.pitch)
        if level.overrides.shadow:
            assert c["cast_shadow"] and c["lighting"] == "day"
        if level.overrides.focal is not None:
            assert c["focal"] == pytest.approx(level.overrides.focal)
        if level.overrides.frame_size:
            assert s.image.shape[1::-1] == level.overrides.frame_size
        if level.color:
            assert s.plate.color is level.color
            assert any(w.rule == "color.white_kei" for w in s.plate.warnings) == level.kei
        if level.overrides.motion_blur:
            assert c["motion_blur_px"] == pytest.approx(level.overrides.motion_blur)
        if level.overrides.jpeg_quality:
            assert c["jpeg_quality"] == level.overrides.jpeg_quality
        assert c.get("camera_processing", False) == level.overrides.processed
        assert c.get("wide_dynamic_range", False) == level.overrides.wdr
        if level.lighting != "day":
            assert c["lighting"] == level.lighting
    assert stress_sample(9, 3).image.tobytes() == stress_sample(9, 3).image.tobytes()  # a pure function


def test_anpr_eval_scores_a_stress_set_condition_by_condition_with_pictures(tmp_path):
    out = tmp_path / "stress"
    run = anpr("synth", str(out), "--kind", "stress", "--count", str(len(LEVELS)), "--seed", "4", "--quiet")
    assert run.returncode == 0, run.stderr
    with open(out / "labels.csv", encoding="utf-8") as f:
        assert [r["condition"] for r in csv.DictReader(f)] == [level.name for level in LEVELS]
    report = tmp_path / "report"
    run = anpr("eval", str(out), "--no-baselines", "--json", "--report", str(report))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    conditions = result["conditions"]
    assert list(conditions) == [level.name for level in LEVELS]
    assert all(c["plates"] == 1 and 0 <= c["recall"] <= 1 for c in conditions.values())
    # each condition's outline error: a share of the plate's width where its plate was found, none where not
    errors = {name: c["corner_error_of_width"] for name, c in conditions.items()}
    assert all((errors[name] is None) == (c["recall"] == 0) for name, c in conditions.items())
    found = [e for e in errors.values() if e is not None]
    assert found and all(0 <= e < 0.3 for e in found) and sorted(found)[len(found) // 2] < 0.05
    for name in ("conditions.png", "reliability.png"):
        assert cv2.imread(str(report / name)) is not None
    page = (report / "index.html").read_text(encoding="utf-8")
    assert 'src="conditions.png"' in page and "bus or truck rear" in page and "corner error of width" in page
    sure = result["sure_mistakes"]
    assert f"Fields read wrong at 0.99 or more: {len(sure)}</h2>" in page
    assert all(f"<td>{m['file']}</td>" in page for m in sure)
    gate = result["gate"]
    assert f"Readings the gate would take wrongly: {gate['taken_wrong']} of {gate['taken']} taken" in page
    assert all(f"<td>{m['label']}</td>" in page for m in gate["mistakes"])


def test_a_stress_set_of_chosen_conditions_only(tmp_path):
    out = tmp_path / "close"
    run = anpr("synth", str(out), "--kind", "stress", "--conditions", "close range", "--count", "3", "--seed", "4",
               "--quiet", "--backgrounds", "none")
    assert run.returncode == 0, run.stderr
    with open(out / "labels.csv", encoding="utf-8") as f:
        assert [r["condition"] for r in csv.DictReader(f)] == [
            "close range 35 % of frame", "close range 45 % of frame", "close range 35 % of frame"]
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["conditions"] == "close range"
    run = anpr("synth", str(tmp_path / "none"), "--kind", "stress", "--conditions", "fog", "--quiet")
    assert run.returncode != 0 and "no stress condition's name holds 'fog'" in run.stderr and "glare" in run.stderr
    run = anpr("synth", str(tmp_path / "scenes"), "--kind", "scenes", "--conditions", "glare", "--quiet")
    assert run.returncode != 0 and "needs --kind stress" in run.stderr
