"""Training views for the plate segmenter, cut from a synthetic scene folder (``anpr synth --kind scenes``).

Two kinds of view, matching the two passes the runtime makes (edge/vision/segmenter.py):

* *find* views: a window of the frame scaled so the plate is 12-200 px wide, as the whole-frame
  or vehicle-crop pass sees it; some windows are placed anywhere, often with no plate at all;
* *refine* views: a window round the plate, which then fills 35-100 % of its width, as the
  second pass sees a candidate (and as a tightly cropped photo of a plate looks).

Views are a pure function of (seed, index), so a run can be repeated exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.vision.geometry import quad_size
from edge.vision.segmenter import Window, resample_window

# Inputs are RGB scaled to about [-2, 2]; written into the model manifest for the runtime.
MEAN, STD = 0.5, 0.25


@dataclass(frozen=True)
class SceneRecord:
    image: Path
    mask: Path
    corners: np.ndarray  # 4x2, TL TR BR BL


def read_scenes(folder: Path) -> list[SceneRecord]:
    """Every complete sample listed in ``folder/labels.jsonl``."""
    records = []
    with open(folder / "labels.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            stem = f"{rec['index']:07d}"
            image = next((folder / "images" / f"{stem}{ext}" for ext in (".jpg", ".png")
                          if (folder / "images" / f"{stem}{ext}").exists()), None)
            if image is not None:
                records.append(SceneRecord(image, folder / "masks" / f"{stem}.png", np.float32(rec["corners"])))
    return records


def to_input(rgb_views: np.ndarray) -> np.ndarray:
    """NxHxWx3 uint8 RGB -> Nx3xHxW float32, normalised as the manifest says."""
    x = rgb_views.astype(np.float32) / 255.0
    return np.ascontiguousarray(((x - MEAN) / STD).transpose(0, 3, 1, 2))


def _window(image: np.ndarray, mask: np.ndarray, x0: float, y0: float, side: float, size: int):
    """The square window (x0, y0, side) of image and mask as size x size views, black outside the frame."""
    window = Window(x0, y0, size / side, size, size)
    return resample_window(image, window), resample_window(mask, window, nearest=True)


def _photometric(view: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = view.astype(np.float32)
    x = x * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
    x = x * rng.uniform(0.9, 1.1, size=3)
    if rng.random() < 0.1:
        x[:] = x.mean(axis=2, keepdims=True)
    x = np.clip(x, 0, 255)
    gamma = rng.uniform(0.7, 1.4)
    return (255 * (x / 255) ** gamma).astype(np.uint8)


def training_view(record: SceneRecord, rng: np.random.Generator, size: int = 224):
    """One (RGB view, label map) pair of the given size."""
    image = cv2.imread(str(record.image), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(record.mask), cv2.IMREAD_UNCHANGED)
    if image is None or mask is None:
        raise OSError(f"cannot read {record.image} or its mask")
    corners = record.corners
    width = max(quad_size(corners)[0], 4.0)
    centre = corners.mean(axis=0)
    H, W = image.shape[:2]
    if rng.random() < 0.35:  # refine view
        side = width / rng.uniform(0.35, 1.0)
        jitter = rng.uniform(-0.15, 0.15, 2) * side
    else:
        side = size * width / float(np.exp(rng.uniform(np.log(12), np.log(200))))
        jitter = rng.uniform(-0.4, 0.4, 2) * side
        if rng.random() < 0.15:  # anywhere in the frame: mostly no plate
            side = min(side, max(H, W))
            centre = np.float32([rng.uniform(0, W), rng.uniform(0, H)])
            jitter = np.zeros(2)
    cx, cy = centre + jitter
    view, labels = _window(image, mask, cx - side / 2, cy - side / 2, side, size)
    view = _photometric(view, rng)
    return cv2.cvtColor(view, cv2.COLOR_BGR2RGB), labels
