"""Axis-aligned boxes [x1, y1, x2, y2]: IoU and non-maximum suppression, in numpy."""

from __future__ import annotations

import numpy as np


def area(box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def longer_side(box) -> float:
    """The longer of a box's width and height."""
    return max(box[2] - box[0], box[3] - box[1])


def centre(box) -> tuple[float, float]:
    """A box's centre (x, y)."""
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def holds(box, point) -> bool:
    """Whether a box holds a point (x, y), its edges included."""
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def intersection(a, b) -> float:
    """Area shared by two boxes."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a, b) -> float:
    """Intersection over union of two boxes."""
    inter = intersection(a, b)
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Indices of the boxes kept, best first: each drops the later ones overlapping it by more than threshold."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    order = list(np.argsort(-np.asarray(scores), kind="stable"))
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep: list[int] = []
    while order:
        i, rest = order[0], np.array(order[1:], int)
        keep.append(int(i))
        if rest.size == 0:
            break
        ix = (np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0])).clip(0)
        iy = (np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1])).clip(0)
        inter = ix * iy
        overlap = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = list(rest[overlap <= threshold])
    return keep


def mask_box(mask: np.ndarray) -> list[int] | None:
    """[x1, y1, x2, y2] (x2, y2 exclusive) around the true pixels of ``mask``; None if there are none."""
    xs, ys = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))  # its columns and rows
    if len(xs) == 0:
        return None
    return [int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1]
