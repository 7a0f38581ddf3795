"""Where each field is cut from a rectified plate, and how a cut becomes a classifier's input.

The rectified plate (``geometry.CANONICAL_SIZE``, 336 x 168, about 1 px per mm of a medium plate)
puts every field in the same place (JP_PLATES.md section 7): region name and class number on
the top row, kana at the left of the bottom row, the four serial places to its right. Each
field's cut is that cell with a margin for corner error, so the field classifiers never depend
on the segmenter's field masks. Training (``engines/reader``) cuts its examples with this same
code.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FieldCrop:
    """A field's cut: ``box`` as fractions (x0, y0, x1, y1) of the rectified plate, ``size``
    (width, height) of the classifier's input, ``color`` whether it keeps the three channels."""

    box: tuple[float, float, float, float]
    size: tuple[int, int]
    color: bool = False


FIELD_CROPS: dict[str, FieldCrop] = {
    "region": FieldCrop((0.15, 0.02, 0.56, 0.40), (96, 40)),
    "class_number": FieldCrop((0.49, 0.02, 0.85, 0.40), (64, 40)),
    "kana": FieldCrop((0.0, 0.45, 0.23, 0.92), (40, 40)),
    "serial": FieldCrop((0.17, 0.34, 0.99, 0.97), (112, 40)),
    "color": FieldCrop((0.0, 0.0, 1.0, 1.0), (64, 32), color=True),
}


def cut(rectified: np.ndarray, crop: FieldCrop) -> np.ndarray:
    """The field's pixels at the classifier's size: HxW uint8 grey, or HxWx3 BGR for colour."""
    h, w = rectified.shape[:2]
    x0, y0, x1, y1 = crop.box
    part = rectified[int(round(y0 * h)): int(round(y1 * h)), int(round(x0 * w)): int(round(x1 * w))]
    if not crop.color and part.ndim == 3:
        part = cv2.cvtColor(part, cv2.COLOR_BGR2GRAY)
    return cv2.resize(part, crop.size, interpolation=cv2.INTER_AREA)


def to_input(cuts: np.ndarray) -> np.ndarray:
    """N cuts (NxHxW grey or NxHxWx3 BGR, uint8) -> NxCxHxW float32.

    Grey cuts are normalised each on its own (zero mean, unit spread), so the classifier sees
    the lettering, not the light or the plate colour; colour cuts keep their colour, scaled
    to [-1, 1], because the colour is what they are read for.
    """
    x = cuts.astype(np.float32)
    if x.ndim == 3:
        mean = x.mean(axis=(1, 2), keepdims=True)
        spread = x.std(axis=(1, 2), keepdims=True) + 8.0
        return np.ascontiguousarray(((x - mean) / spread)[:, None])
    return np.ascontiguousarray((x / 127.5 - 1.0).transpose(0, 3, 1, 2))
