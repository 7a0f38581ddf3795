"""The plate segmenter at run time: per-pixel plate and field probabilities for a window of an image.

A *window* is a rectangle of the image (it may reach outside it; outside is black) resampled
to the network's input. Training (engines/segmenter/data.py) cuts its views with the same
``resample_window``, so the network sees at run time exactly what it learnt from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from edge.plates import FIELDS
from edge.vision.backend import load_backend
from edge.vision.manifest import ModelError, load_manifest



@dataclass(frozen=True)
class Window:
    """Image pixels (x0 + u / scale, y0 + v / scale) map to view pixel (u, v); the view is width x height."""

    x0: float
    y0: float
    scale: float
    width: int
    height: int

    def to_image(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, np.float64) / self.scale + (self.x0, self.y0)

    def to_view(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, np.float64) - (self.x0, self.y0)) * self.scale


def resample_window(image: np.ndarray, window: Window, nearest: bool = False) -> np.ndarray:
    """The window's view of ``image`` (BGR or a label map); area-averaged when it shrinks a lot."""
    x0, y0, scale = window.x0, window.y0, window.scale
    if scale < 0.6:  # shrink the whole image first so the warp does not alias
        pre = scale * 1.5
        size = (max(1, round(image.shape[1] * pre)), max(1, round(image.shape[0] * pre)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)
        x0, y0, scale = x0 * pre, y0 * pre, 1 / 1.5
    m = np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
    return cv2.warpAffine(image, m, (window.width, window.height),
                          flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR, borderValue=0)


def fit_window(box: tuple[float, float, float, float], longest: int, multiple: int = 32) -> Window:
    """A window over ``box`` whose longer side becomes ``longest`` view pixels, sides rounded up to ``multiple``."""
    x1, y1, x2, y2 = box
    scale = longest / max(x2 - x1, y2 - y1, 1e-6)
    width = int(np.ceil((x2 - x1) * scale / multiple) * multiple)
    height = int(np.ceil((y2 - y1) * scale / multiple) * multiple)
    return Window(x1, y1, scale, max(width, multiple), max(height, multiple))


@dataclass
class Segmentation:
    """Class probabilities (C x height x width) over one window."""

    window: Window
    probs: np.ndarray
    classes: list[str]

    @cached_property
    def plate(self) -> np.ndarray:
        """Probability that a pixel is on a plate (its background or any field)."""
        return 1.0 - self.probs[self.classes.index("background")]

    def labels(self) -> np.ndarray:
        return self.probs.argmax(axis=0).astype(np.uint8)


class PlateSegmenter:
    """Runs the plate-seg model (engines/models/plate-seg.onnx) on windows of an image."""

    def __init__(self, model: str | Path = "plate-seg", backend: str = "auto", threads: int | None = None,
                 plans_dir: str | Path | None = None):
        self.manifest = load_manifest(model)
        self.classes = self.manifest.classes
        missing = [c for c in ("background", "plate", *FIELDS) if c not in self.classes]
        if missing:
            raise ModelError(f"manifest of {self.manifest.path.name} lacks the classes {', '.join(missing)}")
        self.multiple = int(self.manifest.input.get("multiple_of", 32))
        self.backend = load_backend(self.manifest.path, backend, threads, plans_dir)
        self.output = self.manifest.data["output"]["name"]

    def segment(self, image_bgr: np.ndarray, window: Window) -> Segmentation:
        if window.width % self.multiple or window.height % self.multiple:
            raise ValueError(f"window {window.width}x{window.height} is not a multiple of {self.multiple}")
        view = cv2.cvtColor(resample_window(image_bgr, window), cv2.COLOR_BGR2RGB)
        logits = self.backend.run({self.manifest.input["name"]: self.manifest.normalise(view)})[self.output][0]
        e = np.exp(logits - logits.max(axis=0, keepdims=True))
        return Segmentation(window, e / e.sum(axis=0, keepdims=True), self.classes)
