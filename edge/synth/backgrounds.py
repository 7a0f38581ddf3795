"""Real road frames to mount synthetic plates on (../shared/data/backgrounds).

The frames carry European plates, boxed in ``plates.csv``. A frame is handed out with those
plates painted out (inpainted) so a Japanese plate can take the place of one, on a real bumper
in real light; some frames keep their other plates as negatives the segmenter must ignore.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

REPO_SHARED_BACKGROUNDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "backgrounds"


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR, plates painted out (or kept, see ``kept``)
    boxes: tuple[tuple[float, float, float, float], ...]  # where the original plates were
    kept: tuple[int, ...]  # indices of boxes whose European plate was left in as a negative


class BackgroundError(ValueError):
    """The backgrounds folder is missing pieces or malformed."""


def default_backgrounds_dir() -> Path | None:
    """ANPR_BACKGROUNDS, else ../shared/data/backgrounds beside the checkout, else None."""
    env = os.environ.get("ANPR_BACKGROUNDS")
    if env:
        return Path(env)
    return REPO_SHARED_BACKGROUNDS if REPO_SHARED_BACKGROUNDS.is_dir() else None


class Backgrounds:
    """The frames of one backgrounds folder (``images/`` and ``plates.csv``)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        table = self.folder / "plates.csv"
        if not table.is_file():
            raise BackgroundError(f"{table} is missing")
        boxes: dict[str, list[tuple[float, float, float, float]]] = {}
        with table.open(encoding="utf-8") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                try:
                    box = tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2"))
                except (KeyError, TypeError, ValueError) as exc:
                    raise BackgroundError(f"{table}:{line}: needs numeric x1,y1,x2,y2 ({exc})") from exc
                boxes.setdefault(row["file"], []).append(box)
        images = self.folder / "images"
        self.files = tuple(sorted(name for name in boxes if (images / name).is_file()))
        if not self.files:
            raise BackgroundError(f"no image of {table} is in {images}")
        self.boxes = {name: tuple(boxes[name]) for name in self.files}

    def __len__(self) -> int:
        return len(self.files)

    def frame(self, index: int, keep: int | None = None) -> Frame:
        """Frame ``index`` with its plates painted out, except box ``keep`` (a negative example)."""
        name = self.files[index % len(self.files)]
        boxes = self.boxes[name]
        image = _painted(str(self.folder / "images" / name), boxes).copy()
        if keep is None:
            return Frame(image=image, boxes=boxes, kept=())
        original = _read(str(self.folder / "images" / name))
        x1, y1, x2, y2 = (int(round(v)) for v in boxes[keep])
        image[y1:y2, x1:x2] = original[y1:y2, x1:x2]
        return Frame(image=image, boxes=boxes, kept=(keep,))


@lru_cache(maxsize=8)
def _read(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise BackgroundError(f"{path} is not a readable image")
    return image


@lru_cache(maxsize=48)
def _painted(path: str, boxes: tuple) -> np.ndarray:
    """The frame with every listed plate inpainted (cached: inpainting is the slow part)."""
    image = _read(path).copy()
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in boxes:
        pad = 4
        X1, Y1 = max(0, int(x1) - 3 * pad), max(0, int(y1) - 3 * pad)
        X2, Y2 = min(w, int(np.ceil(x2)) + 3 * pad), min(h, int(np.ceil(y2)) + 3 * pad)
        roi = image[Y1:Y2, X1:X2]
        mask = np.zeros(roi.shape[:2], np.uint8)
        mask[max(0, int(y1) - pad - Y1): int(np.ceil(y2)) + pad - Y1,
             max(0, int(x1) - pad - X1): int(np.ceil(x2)) + pad - X1] = 255
        image[Y1:Y2, X1:X2] = cv2.inpaint(roi, mask, 5, cv2.INPAINT_TELEA)
    return image
