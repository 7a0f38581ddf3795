"""``Frame``: one picture from a camera, video or folder, with its index and capture time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    image: np.ndarray  # HxWx3 uint8 BGR
    index: int  # 0, 1, 2... in the order the source gave them (frames dropped by a live source skip numbers)
    time: float  # capture time, seconds since the epoch (a file source: its start plus the frame's timestamp)
