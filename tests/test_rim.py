"""A design plate's yellow rim, looked for in the frame (edge/vision/rim.py), on drawn kei plates."""

import numpy as np
import pytest

from edge.plates.reading import vocabularies, yellow_rim_weighed
from edge.synth.stress import levels_named, stress_sample
from edge.vision.rim import ODDS_AT_NONE, ODDS_POWER, RIM_VISIBLE_WIDTH, rim_odds, yellow_line_contrast


def _contrasts(level: str, count: int) -> list[float]:
    """The rim contrast of ``count`` drawn plates of a stress condition, at their true corners."""
    out = []
    for index in range(count):
        sample = stress_sample(5353, index, levels_named(level))
        out.append(yellow_line_contrast(sample.image, sample.corners))
    return out


def test_a_yellow_rim_shows_as_a_line_and_a_plain_white_kei_plate_shows_none():
    rimmed, plain = _contrasts("plate design-yellow", 8), _contrasts("plate white on a kei car", 8)
    # 140 px plates at their true corners, the yellowest of the four edges' lines: rimmed 23-120
    # grey levels (median 69), plain 0.7-6.8 (median 2.1) (AMD EPYC, OpenCV 4)
    assert np.median(rimmed) > 20, np.round(rimmed, 1)
    assert np.median(plain) < 5, np.round(plain, 1)


def test_a_plate_too_narrow_to_show_a_rim_gets_even_odds():
    sample = stress_sample(5353, 0, levels_named("plate design-yellow"))
    assert rim_odds(sample.image, sample.corners, RIM_VISIBLE_WIDTH - 1) == 1.0
    odds = rim_odds(sample.image, sample.corners, 140.0)
    contrast = yellow_line_contrast(sample.image, sample.corners)
    assert odds == pytest.approx(ODDS_AT_NONE * (1 + contrast) ** ODDS_POWER) and odds > 1


def test_the_odds_move_only_design_yellow_against_the_rest():
    colors = vocabularies()["color"]
    p = np.full(len(colors), 1 / len(colors))
    out = yellow_rim_weighed(p, 4.0)
    assert out.sum() == pytest.approx(1.0)
    dy = colors.index("design-yellow")
    others = [i for i in range(len(colors)) if i != dy]
    assert out[dy] / out[others[0]] == pytest.approx(4.0)
    assert np.allclose(out[others], out[others[0]])
