"""The second plate-finding route: lettering found by a text detector trained on real photographs.

The segmenter learnt plates from our drawings; where a real plate does not look like them (a
yellow plate on a yellow body, a large plate at a slant) its find pass may see no plate at all.
PP-OCRv4's text detector (DBNet, inside the RapidOCR wheel; `make models` takes it out as
``engines/models/ppocr-det.onnx``) was trained on real photographs of text and finds a plate's
two lines of lettering whatever the plate's colour. ``TextFinder.find`` gives the lettering in a
region of the image as plate-sized groups: each line a box (PaddleOCR's published thresholds and
its "unclip" growth), lines stacked over each other paired. A group is only a place to look: the
pipeline's refine pass (the segmenter in a close window, with its shape and field checks) decides
whether a plate is there (edge/vision/pipeline.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.vision.backend import load_backend
from edge.vision.manifest import load_manifest
from edge.vision.segmenter import fit_window, resample_window

# The smallest line kept, in detector pixels (PaddleOCR drops boxes under 3 px a side).
MIN_LINE_PIXELS = 3
# Lines looked at in one region, the best-scoring (a page of text would otherwise cost seconds).
MAX_LINES = 64


@dataclass(frozen=True)
class TextGroup:
    """Lines of lettering stacked over each other: their joint box in image pixels and mean score."""

    box: tuple[float, float, float, float]
    score: float
    lines: int


class TextFinder:
    """PP-OCRv4's text detector over one region of an image at a time."""

    def __init__(self, model: str | Path, backend: str = "auto", threads: int | None = None,
                 plans_dir: str | Path | None = None, size: int = 640):
        self.manifest = load_manifest(model)
        post = self.manifest.data["postprocess"]
        self.pixel_threshold, self.box_threshold = float(post["pixel_threshold"]), float(post["box_threshold"])
        self.unclip_ratio = float(post["unclip_ratio"])
        self.size = size
        self.output = self.manifest.data["output"]["name"]
        self.backend = load_backend(self.manifest.path, backend, threads, plans_dir)

    def lines(self, image_bgr: np.ndarray, region: tuple[float, float, float, float]) -> list[TextGroup]:
        """Each line of lettering the detector finds in ``region`` (image pixels), as a one-line group."""
        x1, y1, x2, y2 = region
        # at about the image's own scale at most (the side rounded to 32 px): lettering too small to
        # see at that scale makes no readable plate
        longest = min(self.size, max(32, int(round(max(x2 - x1, y2 - y1) / 32)) * 32))
        window = fit_window(region, longest)
        view = resample_window(image_bgr, window)
        prob = self.backend.run({self.manifest.input["name"]: self.manifest.normalise(view)})[self.output][0, 0]
        n, comp, stats, _ = cv2.connectedComponentsWithStats((prob > self.pixel_threshold).astype(np.uint8), 4)
        out = []
        for k in range(1, n):
            x, y, w, h, area = stats[k]
            if min(w, h) < MIN_LINE_PIXELS:
                continue
            score = float(prob[y:y + h, x:x + w][comp[y:y + h, x:x + w] == k].mean())
            if score < self.box_threshold:
                continue
            # DBNet learnt shrunk text: its boxes are grown by area x ratio / perimeter (PaddleOCR's unclip)
            grow = area * self.unclip_ratio / (2 * (w + h))
            (x1, y1), (x2, y2) = window.to_image([[x - grow, y - grow], [x + w + grow, y + h + grow]])
            out.append(TextGroup((float(x1), float(y1), float(x2), float(y2)), score, 1))
        return out

    def find(self, image_bgr: np.ndarray, region: tuple[float, float, float, float]) -> list[TextGroup]:
        """The lettering in ``region`` as lines paired where they stack (a plate's two rows become
        one group), best scoring first."""
        return sorted(stacked(self.lines(image_bgr, region)), key=lambda g: -g.score)


def _stack(a: TextGroup, b: TextGroup) -> bool:
    """Whether two lines may be one plate's two rows: across, each overlaps half the narrower
    one's width; down, the gap between them is under the taller line's height."""
    ax1, ay1, ax2, ay2 = a.box
    bx1, by1, bx2, by2 = b.box
    across = min(ax2, bx2) - max(ax1, bx1)
    gap = max(ay1, by1) - min(ay2, by2)
    return across >= 0.5 * min(ax2 - ax1, bx2 - bx1) and gap < max(ay2 - ay1, by2 - by1)


def stacked(lines: list[TextGroup]) -> list[TextGroup]:
    """Lines joined in pairs where they stack (``_stack``), top down, each with the first line
    under it not yet taken: a plate's lettering is two rows (region and class number over kana
    and serial), so a column of text elsewhere pairs off and never becomes one tall group. A
    pair's score is its lines' mean; only the MAX_LINES best-scoring lines are looked at."""
    lines = sorted(sorted(lines, key=lambda g: -g.score)[:MAX_LINES], key=lambda g: g.box[1])
    taken = [False] * len(lines)
    out = []
    for i, a in enumerate(lines):
        if taken[i]:
            continue
        taken[i] = True
        for j in range(i + 1, len(lines)):
            b = lines[j]
            if not taken[j] and _stack(a, b):
                taken[j] = True
                a = TextGroup((min(a.box[0], b.box[0]), min(a.box[1], b.box[1]), max(a.box[2], b.box[2]),
                               max(a.box[3], b.box[3])), (a.score * a.lines + b.score * b.lines) / (a.lines + b.lines),
                              a.lines + b.lines)
                break
        out.append(a)
    return out
