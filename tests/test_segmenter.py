"""The segmenter's views of a frame and its label maps, and the box round a mask."""

import cv2
import numpy as np

from edge.common.boxes import mask_box
from edge.vision.segmenter import Segmentation, WarpedWindow, Window, resample_warped, resample_window


def test_a_box_of_a_mask_and_none_for_an_empty_one():
    mask = np.zeros((40, 60), bool)
    assert mask_box(mask) is None
    mask[5:9, 12:30] = True
    mask[20, 3] = True
    assert mask_box(mask) == [3, 5, 30, 21]


def test_labels_near_a_box_are_the_argmax_there_and_background_elsewhere():
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(6), size=(50, 70)).transpose(2, 0, 1).astype(np.float32)
    seg = Segmentation(Window(0, 0, 1.0, 70, 50), probs, ["background", "plate", "a", "b", "c", "d"])
    full = probs.argmax(axis=0)
    assert (seg.labels() == full).all()
    near = seg.labels((10, 5, 40, 30))
    assert (near[5:30, 10:40] == full[5:30, 10:40]).all()
    near[5:30, 10:40] = 0
    assert not near.any()


def test_a_small_window_on_a_large_frame_shrinks_only_what_it_sees():
    rng = np.random.default_rng(5)
    image = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    window = Window(300.0, 200.0, 0.3, 128, 96)  # 427 x 320 image pixels seen at 0.3
    view = resample_window(image, window)
    # the same view from the whole frame shrunk first, as it was made before
    pre = 0.3 * 1.5
    whole = cv2.resize(image, (round(1280 * pre), round(720 * pre)), interpolation=cv2.INTER_AREA)
    m = np.float32([[1 / 1.5, 0, -300 * pre / 1.5], [0, 1 / 1.5, -200 * pre / 1.5]])
    before = cv2.warpAffine(whole, m, (128, 96), flags=cv2.INTER_LINEAR, borderValue=0)
    assert view.shape == before.shape
    assert np.abs(view.astype(int) - before.astype(int)).mean() < 1.0
    # a window partly off the frame is black where it sees nothing; one wholly off it is all black
    edge = resample_window(image, Window(1100.0, 600.0, 0.3, 128, 96))
    assert edge[:, 100:].max() == 0 and edge[:20, :40].mean() > 0
    assert not resample_window(image, Window(5000.0, 5000.0, 0.3, 128, 96)).any()


def test_a_label_map_shrunk_for_training_keeps_only_its_labels():
    labels = np.zeros((720, 1280), np.uint8)
    labels[300:420, 400:700] = 3  # a plate's field, in a frame of background
    view = resample_window(labels, Window(250.0, 200.0, 0.3, 128, 96), nearest=True)
    assert view.shape == (96, 128) and set(np.unique(view)) == {0, 3}
    assert view[int((360 - 200) * 0.3), int((550 - 250) * 0.3)] == 3


def _warped(quad, target, size=(128, 128)):
    return WarpedWindow.onto(quad, target, *size)


def test_a_warped_window_shows_a_slanted_plate_face_on_and_maps_points_back():
    # a plate close up at a slant: its near (right) side twice as tall as its far side
    image = np.zeros((600, 900, 3), np.uint8)
    quad = np.float32([[200, 250], [700, 200], [700, 400], [200, 350]])
    cv2.fillConvexPoly(image, quad.astype(np.int32), (255, 255, 255))
    target = [[32, 48], [96, 48], [96, 80], [32, 80]]
    window = _warped(quad, target)
    assert np.abs(window.to_view(quad) - target).max() < 1e-3
    points = np.array([[300.0, 260.0], [650.0, 400.0], [10.0, 590.0]])
    assert np.abs(window.to_image(window.to_view(points)) - points).max() < 1e-6
    assert window.in_front()
    view = resample_warped(image, window)
    assert view.shape == (128, 128, 3)
    assert view[52:76, 36:92].min() == 255  # the plate, face-on and upright
    assert view[:40].max() == 0 and view[88:].max() == 0 and view[:, :24].max() == 0 and view[:, 104:].max() == 0


def test_a_warped_window_that_shrinks_a_lot_shrinks_the_image_first_and_sees_the_same():
    rng = np.random.default_rng(6)
    image = cv2.GaussianBlur(rng.integers(0, 256, (1520, 2688, 3), dtype=np.uint8), (0, 0), 8)
    quad = np.float32([[800, 600], [1900, 300], [1950, 1300], [820, 1000]])  # 1100 px wide, seen in 77
    window = _warped(quad, [[25, 45], [102, 45], [102, 83], [25, 83]])
    assert window.shrink < 0.6
    direct = cv2.warpPerspective(image, np.array(window.homography), (128, 128), flags=cv2.INTER_LINEAR)
    assert np.abs(resample_warped(image, window).astype(int) - direct.astype(int)).mean() < 2.0


def test_a_warped_window_reaching_past_the_horizon_is_refused():
    # a plate whose near side is four times its far side: its depth halves every third of its
    # width, so a view reaching half a width past its near side shows what lies behind the camera
    quad = np.float32([[100, 160], [300, 100], [300, 300], [100, 210]])
    assert not _warped(quad, [[32, 48], [96, 48], [96, 80], [32, 80]]).in_front()
    assert _warped(quad, [[22, 43], [106, 43], [106, 85], [22, 85]]).in_front()  # a quarter of a width past it
    slanted = np.float32([[100, 150], [300, 100], [300, 300], [100, 250]])  # near side twice the far
    assert _warped(slanted, [[32, 48], [96, 48], [96, 80], [32, 80]]).in_front()
