"""engines.width_temperature: the temperature of a band of plate widths, fitted by likelihood."""

import json

import pytest

from edge.cli import main as anpr
from engines.width_temperature import GRID, FieldSample, fit_temperature, main, negative_log_likelihood


def _samples(confidence, right, n=100):
    return [FieldSample(40.0, confidence, i < right * n) for i in range(n)]


def test_an_over_sure_band_is_fitted_a_temperature_above_one_and_a_calibrated_one_none():
    over_sure = _samples(0.99, 0.9)  # given at 0.99, right 9 times in 10
    t = fit_temperature(over_sure)
    assert t > 1.0 and t in GRID
    assert negative_log_likelihood(over_sure, t) < negative_log_likelihood(over_sure, 1.0)
    assert fit_temperature(_samples(0.9, 0.9)) == 1.0   # as sure as right
    assert fit_temperature(_samples(0.8, 0.95)) == 1.0  # less sure than right: a temperature cannot help
    with pytest.raises(ValueError, match="no fields"):
        fit_temperature([])


def test_the_tool_reads_a_labelled_set_and_fits_on_its_band(tmp_path, capsys):
    folder = tmp_path / "small"
    assert anpr(["synth", str(folder), "--kind", "stress", "--conditions", "width 45", "--count", "4",
                 "--seed", "61", "--quiet"]) == 0
    capsys.readouterr()
    assert main([str(folder), "--from", "20", "--to", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fields"] >= 5 and 0 <= out["right"] <= out["fields"] and out["temperature"] in GRID
    assert [r["temperature"] for r in out["rows"]][0] == 1.0
    assert main([str(tmp_path / "nothing")]) == 2
    assert "no labels.csv" in capsys.readouterr().err
    assert main([str(folder), "--from", "300", "--to", "400"]) == 1
    assert "no fields to fit on" in capsys.readouterr().err
