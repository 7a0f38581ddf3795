import cv2
import numpy as np

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
