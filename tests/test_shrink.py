import cv2
import numpy as np
import pytest

from edge.vision.shrink import area_shrink, split_row


def test_a_big_area_shrink_in_two_stripes_is_opencvs_to_the_byte():
    rng = np.random.default_rng(11)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    for size in ((416, 234), (384, 216), (768, 432), (200, 112), (333, 187)):
        assert (area_shrink(frame, size) == cv2.resize(frame, size, interpolation=cv2.INTER_AREA)).all(), size
    part = rng.integers(0, 256, (613, 977, 3), dtype=np.uint8)  # a window's crop of odd size: no cut, one call
    for size in ((409, 256), (300, 200)):
        assert (area_shrink(part, size) == cv2.resize(part, size, interpolation=cv2.INTER_AREA)).all(), size
    view = frame[100:640, 37:1011]  # a crop as the segmenter cuts it (a view, not a copy): cut at row 90
    assert split_row(540, 180) == 90
    assert (area_shrink(view, (400, 180)) == cv2.resize(view, (400, 180), interpolation=cv2.INTER_AREA)).all()


def test_the_cut_is_a_whole_row_on_both_sides_or_none():
    assert split_row(720, 234) == 117 and 117 * 720 % 234 == 0
    assert split_row(720, 216) == 108
    assert split_row(613, 256) is None  # no output row but the ends falls on a whole input row
    for rows_in, rows_out in ((720, 432), (1520, 475), (1080, 333)):
        k = split_row(rows_in, rows_out)
        assert k is None or (0 < k < rows_out and k * rows_in % rows_out == 0)


def test_a_frames_half_shrink_is_made_from_its_full_one_within_rounding():
    from edge.vision.segmenter import Window, resample_window
    from edge.vision.shrink import FrameShrinks

    rng = np.random.default_rng(12)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (5, 5), 0)
    shrinks = FrameShrinks(frame)
    whole = (0, 0, 1280, 720)
    full = shrinks.shrink(whole, (768, 432))
    assert (full == cv2.resize(frame, (768, 432), interpolation=cv2.INTER_AREA)).all()  # the first: from the frame
    half = shrinks.shrink(whole, (384, 216))
    direct = cv2.resize(frame, (384, 216), interpolation=cv2.INTER_AREA)
    assert np.abs(half.astype(int) - direct).max() <= 1 and (half != direct).any()  # made from the full one
    # another part, or a size that is not half of one made: from the frame, to the byte
    assert (shrinks.shrink((0, 0, 1280, 719), (384, 216)) == cv2.resize(frame[:719], (384, 216),
                                                                         interpolation=cv2.INTER_AREA)).all()
    assert (shrinks.shrink(whole, (416, 234)) == cv2.resize(frame, (416, 234), interpolation=cv2.INTER_AREA)).all()
    # the find pass's two whole-frame views (scale 0.4 and 0.2): the second within rounding of its own
    # shrink (one grey level, two after the warp's own rounding)
    views = FrameShrinks(frame)
    for window in (Window(0.0, 0.0, 0.4, 512, 288), Window(0.0, 0.0, 0.2, 256, 160)):
        by_memo, alone = resample_window(frame, window, shrinks=views), resample_window(frame, window)
        difference = np.abs(by_memo.astype(int) - alone)
        assert by_memo.shape == alone.shape and difference.max() <= 2 and difference.mean() < 0.2
    with pytest.raises(ValueError, match="another image"):
        resample_window(frame.copy(), Window(0.0, 0.0, 0.2, 256, 160), shrinks=views)
