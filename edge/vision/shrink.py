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


class FrameShrinks:
    """The area shrinks made of one frame's parts so far, so that a shrink to exactly half of one
    already made of the same part is made from it: OpenCV's area filter at exactly 2x averages
    2 x 2 blocks on a quarter of the pixels (the find pass's half-scale view of a 1280x720 frame:
    0.08 ms instead of 1.6-1.8 on two threads). The two roads differ by rounding only (at most one
    grey level). Only the very same part counts: the two whole-frame views share one when both
    reach past the frame (no region of interest); two views of a region of interest cut parts with
    different margins, and each is shrunk from the frame as before. Made for one frame and dropped
    with it: a capture may reuse its frame buffer."""

    def __init__(self, image: np.ndarray):
        self.image = image
        self._made: dict[tuple[int, int, int, int], np.ndarray] = {}  # part (x1, y1, x2, y2) -> its largest shrink

    def shrink(self, part: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
        """``area_shrink`` of ``image[y1:y2, x1:x2]`` to ``size`` (width, height)."""
        made = self._made.get(part)
        if made is not None and made.shape[1] == 2 * size[0] and made.shape[0] == 2 * size[1]:
            return cv2.resize(made, size, interpolation=cv2.INTER_AREA)
        x1, y1, x2, y2 = part
        out = area_shrink(self.image[y1:y2, x1:x2], size)
        if made is None or out.shape[1] > made.shape[1]:
            self._made[part] = out
        return out
