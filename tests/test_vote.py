"""Fusing a plate's field probabilities over frames (edge/stream/vote.py)."""

import numpy as np
import pytest

from edge.plates import PlateText
from edge.stream.vote import FULL_WEIGHT_WIDTH, fuse, fused_reading, weight
from tests.test_store import _probs

PLATE = PlateText.parse("品川 300 さ 12-34", "white")
OTHER = PlateText.parse("品川 300 さ 12-84", "white")  # one serial place differs: 3 against 8


def test_agreeing_frames_are_surer_than_one_but_claim_at_most_two_frames_worth():
    one = fused_reading([_probs(PLATE, 0.9)], [1.0], 0.5)
    two = fused_reading([_probs(PLATE, 0.9)] * 2, [1.0, 1.0], 0.5)
    twenty = fused_reading([_probs(PLATE, 0.9)] * 20, [1.0] * 20, 0.5)
    assert one.plate == two.plate == PLATE
    assert one.fields["serial"].confidence < two.fields["serial"].confidence
    assert twenty.fields["serial"].confidence == pytest.approx(two.fields["serial"].confidence)


def test_a_sharp_frame_outweighs_blurred_ones_that_disagree():
    blurred = [_probs(OTHER, 0.6)] * 3
    sharp = _probs(PLATE, 0.99)
    w_blur, w_sharp = weight(40, 0.9), weight(FULL_WEIGHT_WIDTH, 0.95)
    fused = fused_reading([*blurred, sharp], [w_blur] * 3 + [w_sharp], 0.5)
    assert fused.plate == PLATE
    # and the disagreement shows: the serial is less sure than had the blurred frames agreed
    agreeing = fused_reading([_probs(PLATE, 0.6)] * 3 + [sharp], [w_blur] * 3 + [w_sharp], 0.5)
    assert fused.fields["serial"].confidence < agreeing.fields["serial"].confidence
    assert fused.fields["region"].confidence == pytest.approx(agreeing.fields["region"].confidence)


def test_a_small_plate_counts_for_less_and_weights_stay_in_0_1():
    assert weight(20, 1.0) < weight(80, 1.0) < weight(FULL_WEIGHT_WIDTH, 1.0) == weight(400, 1.0) == 1.0
    assert 0 < weight(10, 0.0)
    pooled = fuse([_probs(PLATE)], [0.0])  # no weight at all: taken as one frame's worth
    for name, p in pooled.items():
        assert np.allclose(np.sum(p, axis=-1), 1.0)
    with pytest.raises(ValueError):
        fuse([], [])
