"""YOLO decoding, NMS and the converted Tiny YOLOv3 on a real photograph."""

import numpy as np
import pytest

from edge.common.boxes import centre, holds, iou, longer_side, nms
from edge.vision.detector import VehicleDetector, decode_yolo, letterbox
from edge.vision.manifest import DEFAULT_MODELS_DIR, Manifest

CLASSES = ["person", "car", "truck"]


def _manifest(tmp_path):
    return Manifest(tmp_path / "toy.onnx", {
        "name": "toy", "classes": CLASSES, "vehicle_classes": ["car", "truck"], "sha256": "",
        "input": {"name": "image", "shape": [1, 3, 64, 64]},
        "outputs": [{"name": "out", "anchors": [[8, 6], [20, 16]], "stride": 16, "grid": [4, 4]}]})


def _raw(entries):
    """A 1 x (2 anchors x 8) x 4 x 4 head, everything off except the given (anchor, y, x, class, tw)."""
    raw = np.full((2, 5 + len(CLASSES), 4, 4), -12.0, np.float32)
    raw[:, :4] = 0.0
    for a, y, x, cls, tw in entries:
        raw[a, 2, y, x] = tw
        raw[a, 4, y, x] = 6.0  # objectness ~ 1
        raw[a, 5 + cls, y, x] = 6.0
    return raw.reshape(1, -1, 4, 4)


def test_decode_places_the_box_and_keeps_vehicle_classes_only(tmp_path):
    m = _manifest(tmp_path)
    keep = [CLASSES.index(c) for c in m.data["vehicle_classes"]]
    raw = _raw([(1, 2, 3, 1, np.log(2.0)), (0, 0, 0, 0, 0.0)])  # a car, and a person that must be dropped
    boxes, scores, ids = decode_yolo({"out": raw}, m, keep, 0.25)
    assert list(ids) == [1]
    cx, cy = 3.5 / 4 * 64, 2.5 / 4 * 64  # sigmoid(0) = 0.5 into cell (x 3, y 2)
    np.testing.assert_allclose(boxes[0], [cx - 20, cy - 8, cx + 20, cy + 8], atol=1e-3)  # w = 2 x anchor 20
    assert scores[0] > 0.99


def test_nothing_above_threshold_gives_empty_arrays(tmp_path):
    m = _manifest(tmp_path)
    boxes, scores, ids = decode_yolo({"out": _raw([])}, m, [1, 2], 0.25)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and ids.shape == (0,)


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.5]])
    scores = np.array([0.5, 0.9, 0.4, 0.3])
    assert nms(boxes, scores, 0.45) == [1, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5) == []
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)


def test_a_boxs_centre_longer_side_and_the_points_it_holds():
    box = (10, 20, 50, 30)
    assert centre(box) == (30, 25) and longer_side(box) == 40
    assert holds(box, (10, 30)) and holds(box, centre(box))  # edges included
    assert not holds(box, (9.9, 25)) and not holds(box, (30, 30.1))


def test_letterbox_keeps_aspect_and_centres():
    image = np.zeros((100, 200, 3), np.uint8)
    out, scale, dx, dy = letterbox(image, 416, 416, 127)
    assert out.shape == (416, 416, 3) and scale == pytest.approx(2.08) and dx == 0 and dy == 104
    assert out[0, 0, 0] == 127 and out[208, 208, 0] == 0


def test_tiny_yolov3_finds_the_car_round_a_real_plate(shared_dir):
    import cv2

    if not (DEFAULT_MODELS_DIR / "yolov3-tiny.onnx").exists():
        pytest.skip("run `make models` to fetch and convert Tiny YOLOv3")
    detector = VehicleDetector()
    image = cv2.imread(str(shared_dir / "data/real-dev/images/real_0024.jpg"))
    vehicles = detector.detect(image)
    plate = (601, 580, 697, 631)  # labels.csv
    assert any(v.label == "car" and v.box[0] < plate[0] and v.box[2] > plate[2] and v.box[1] < plate[1]
               for v in vehicles), vehicles
