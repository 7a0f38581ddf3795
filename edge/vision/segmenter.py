"""The plate segmenter at run time: per-pixel plate and field probabilities for a window of an image.

A *window* is a rectangle of the image (it may reach outside it; outside is black) resampled
to the network's input. Training (engines/segmenter/data.py) cuts its views with the same
``resample_window``, so the network sees at run time what it learnt from (the find pass's
half-scale view of a frame within rounding: it is shrunk from the full-scale one, ``FrameShrinks``).
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
from edge.vision.shrink import FrameShrinks, area_shrink



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


def _shrunk_part(image: np.ndarray, box: tuple[float, float, float, float], pre: float,
                 nearest: bool = False, shrinks: FrameShrinks | None = None
                 ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The part of ``image`` a view sees (``box``, image pixels), area-shrunk by ``pre`` (by way of
    ``shrinks``, the frame's shrinks so far, when given), and the whole-pixel part it was cut from;
    None when the view sees none of the image. Only that part (a plate followed close up would
    shrink the whole frame every frame), with a margin of a few shrunk pixels for the area filter
    and the warp that follows."""
    margin = int(np.ceil(4 / pre))
    h, w = image.shape[:2]
    cx1, cy1 = max(0, int(np.floor(box[0])) - margin), max(0, int(np.floor(box[1])) - margin)
    cx2, cy2 = min(w, int(np.ceil(box[2])) + margin), min(h, int(np.ceil(box[3])) + margin)
    if cx2 <= cx1 or cy2 <= cy1:
        return None
    crop = image[cy1:cy2, cx1:cx2]
    size = (max(1, round(crop.shape[1] * pre)), max(1, round(crop.shape[0] * pre)))
    if nearest:
        shrunk = cv2.resize(crop, size, interpolation=cv2.INTER_NEAREST)
    elif shrinks is not None:
        shrunk = shrinks.shrink((cx1, cy1, cx2, cy2), size)
    else:
        shrunk = area_shrink(crop, size)
    return shrunk, (cx1, cy1, cx2, cy2)


def resample_window(image: np.ndarray, window: Window, nearest: bool = False,
                    shrinks: FrameShrinks | None = None) -> np.ndarray:
    """The window's view of ``image`` (BGR or a label map); area-averaged when it shrinks a lot,
    by way of ``shrinks`` (``image``'s shrinks so far) when given."""
    if shrinks is not None and shrinks.image is not image:
        raise ValueError("shrinks were made for another image")
    x0, y0, scale = window.x0, window.y0, window.scale
    if scale < 0.6:  # shrink what the window sees first, so the warp does not alias
        pre = scale * 1.5
        part = _shrunk_part(image, (x0, y0, x0 + window.width / scale, y0 + window.height / scale), pre, nearest,
                            shrinks)
        if part is None:
            return np.zeros((window.height, window.width, *image.shape[2:]), image.dtype)
        image, (cx1, cy1, _, _) = part
        x0, y0, scale = (x0 - cx1) * pre, (y0 - cy1) * pre, 1 / 1.5
    m = np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
    return cv2.warpAffine(image, m, (window.width, window.height),
                          flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR, borderValue=0)


@dataclass(frozen=True)
class WarpedWindow:
    """A view of the image through a homography (image pixel p goes to view pixel H p), which
    can show a plate seen at a slant as if face-on; ``scale`` is view pixels per image pixel
    across the plate it was made for, ``shrink`` the least over its sides (where the warp
    shrinks the image most)."""

    homography: tuple[tuple[float, float, float], ...]
    scale: float
    shrink: float
    width: int
    height: int

    @classmethod
    def onto(cls, quad: np.ndarray, target: np.ndarray, width: int, height: int) -> WarpedWindow:
        """The width x height view in which ``quad`` (TL, TR, BR, BL image pixels) is seen as
        ``target`` (the same corners in view pixels)."""
        quad, target = np.float32(quad), np.float32(target)
        sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)  # top, right, bottom, left
        seen = np.linalg.norm(target - np.roll(target, -1, axis=0), axis=1)
        homography = cv2.getPerspectiveTransform(quad, target)
        return cls(tuple(map(tuple, homography.tolist())), float((seen[0] + seen[2]) / max(sides[0] + sides[2], 1e-6)),
                   float(min(seen / np.maximum(sides, 1e-6))), width, height)

    def to_view(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, np.array(self.homography)).reshape(-1, 2)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, np.linalg.inv(np.array(self.homography))).reshape(-1, 2)

    def in_front(self) -> bool:
        """Whether every view pixel comes from in front of the homography's horizon (a view
        reaching past it would show the image mirrored)."""
        inverse = np.linalg.inv(np.array(self.homography))
        corners = np.array([[0, 0, 1], [self.width, 0, 1], [self.width, self.height, 1], [0, self.height, 1]], float)
        w = corners @ inverse[2]
        return bool(np.all(w > 0) or np.all(w < 0))


def resample_warped(image: np.ndarray, window: WarpedWindow) -> np.ndarray:
    """The warped window's view of ``image``; area-shrunk first where the warp shrinks a lot, as
    ``resample_window`` does, so the view does not alias."""
    h = np.array(window.homography)
    if window.shrink < 0.6:
        footprint = window.to_image([[0, 0], [window.width, 0], [window.width, window.height], [0, window.height]])
        part = _shrunk_part(image, (*footprint.min(axis=0), *footprint.max(axis=0)), window.shrink * 1.5)
        if part is None:
            return np.zeros((window.height, window.width, *image.shape[2:]), image.dtype)
        image, (cx1, cy1, cx2, cy2) = part
        shrunk = np.array([[image.shape[1] / (cx2 - cx1), 0, 0], [0, image.shape[0] / (cy2 - cy1), 0], [0, 0, 1]])
        h = h @ np.linalg.inv(shrunk @ np.array([[1, 0, -cx1], [0, 1, -cy1], [0, 0, 1]], float))
    return cv2.warpPerspective(image, h, (window.width, window.height), flags=cv2.INTER_LINEAR, borderValue=0)


def fit_window(box: tuple[float, float, float, float], longest: int, multiple: int = 32) -> Window:
    """A window over ``box`` whose longer side becomes ``longest`` view pixels, sides rounded up to ``multiple``."""
    x1, y1, x2, y2 = box
    scale = longest / max(x2 - x1, y2 - y1, 1e-6)
    width = int(np.ceil((x2 - x1) * scale / multiple) * multiple)
    height = int(np.ceil((y2 - y1) * scale / multiple) * multiple)
    return Window(x1, y1, scale, max(width, multiple), max(height, multiple))


@dataclass
class Segmentation:
    """The network's class scores (C x height x width logits) over one window; what the
    pipeline asks of them (the plate probability, each pixel's likeliest class) is worked out
    from the logits when asked, not the whole softmax every view."""

    window: Window | WarpedWindow
    logits: np.ndarray
    classes: list[str]

    @cached_property
    def probs(self) -> np.ndarray:
        """Class probabilities (C x height x width)."""
        e = np.exp(self.logits - self.logits.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    @cached_property
    def plate(self) -> np.ndarray:
        """Probability that a pixel is on a plate (its background or any field): one minus the
        background's, 1 / sum over classes of exp(logit - background's logit)."""
        odds = self.logits - self.logits[self.classes.index("background")]
        with np.errstate(over="ignore"):  # a class far likelier than background: odds inf, plate 1
            np.exp(odds, out=odds)
        return 1.0 - 1.0 / odds.sum(axis=0)

    def labels(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The most probable class of each pixel; with ``box`` (x1, y1, x2, y2 view pixels, x2
        and y2 exclusive) only inside it, class 0 elsewhere (argmax across the classes is slow
        enough to matter for a plate followed every frame)."""
        if box is None:
            return self.logits.argmax(axis=0).astype(np.uint8)
        x1, y1, x2, y2 = box
        out = np.zeros(self.logits.shape[1:], np.uint8)
        out[y1:y2, x1:x2] = self.logits[:, y1:y2, x1:x2].argmax(axis=0)
        return out


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

    def segment(self, image_bgr: np.ndarray, window: Window | WarpedWindow,
                shrinks: FrameShrinks | None = None) -> Segmentation:
        """The window's segmentation; ``shrinks``: the image's shrinks so far, for a pass that
        looks at one frame through several windows (``FrameShrinks``)."""
        if window.width % self.multiple or window.height % self.multiple:
            raise ValueError(f"window {window.width}x{window.height} is not a multiple of {self.multiple}")
        warped = isinstance(window, WarpedWindow)
        view = cv2.cvtColor(resample_warped(image_bgr, window) if warped
                            else resample_window(image_bgr, window, shrinks=shrinks), cv2.COLOR_BGR2RGB)
        logits = self.backend.run({self.manifest.input["name"]: self.manifest.normalise(view)})[self.output][0]
        return Segmentation(window, logits, self.classes)
