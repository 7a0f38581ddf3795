"""Area shrinking of frames and their parts, the two halves of a big one on two threads.

OpenCV's area filter at a fractional scale runs on one thread (1280x720 to the detector's
416x234: 3.6 ms on a 2-core CPU, a twelfth of an INT8 frame). Its weights for an output row
depend only on where the row falls in the input, so cut at an output row k whose edge is a
whole input row (k x H / h whole), the rows above and below shrink apart to the same bytes (a
test checks it on frames, crops and views); one half is shrunk here and the other on a worker
thread at the same time (OpenCV lets go of the GIL while it works).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from edge.common.workers import pool

SPLIT_FROM_PIXELS = 200_000  # input pixels from which two threads pay for their handing over


def split_row(rows_in: int, rows_out: int) -> int | None:
    """The output row nearest the middle whose top edge is a whole input row, or None."""
    step = rows_out // math.gcd(rows_in, rows_out)
    k = round(rows_out / 2 / step) * step
    return k if 0 < k < rows_out else None


def area_shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``cv2.resize(image, size, interpolation=cv2.INTER_AREA)``, the same bytes, in two row
    stripes at once when the image is big and a whole-row cut exists."""
    width, height = size
    rows = image.shape[0]
    k = split_row(rows, height) if image.shape[0] * image.shape[1] >= SPLIT_FROM_PIXELS else None
    if k is None:
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    y = k * rows // height
    out = np.empty((height, width, *image.shape[2:]), image.dtype)
    lower = pool("area-shrink", 1).submit(cv2.resize, image[y:], (width, height - k), interpolation=cv2.INTER_AREA)
    out[:k] = cv2.resize(image[:y], (width, k), interpolation=cv2.INTER_AREA)
    out[k:] = lower.result()
    return out
