"""Fusing one plate's field probabilities over the frames it was read in, then decoding once.

Each frame's classifiers give calibrated probabilities per field (per place for the class
number and serial). Fusing averages them, each frame weighted by how legible its plate was
(its width in pixels, up to ``FULL_WEIGHT_WIDTH``, times the segmenter's plate score), and the
grammar decodes the average once (edge/plates/reading.py). Averaging keeps a field's
confidence honest when frames disagree, where a vote over decoded strings would not: one sharp
frame that reads 8 outweighs three blurred ones that read 3 at low confidence.
"""

from __future__ import annotations

import numpy as np

from edge.plates.reading import READ_FIELDS, Reading, decode

FULL_WEIGHT_WIDTH = 160.0  # px: a plate this wide shows every stroke; wider adds nothing


def weight(width: float, score: float) -> float:
    """How much one frame's reading counts: its legibility."""
    return float(min(width, FULL_WEIGHT_WIDTH) / FULL_WEIGHT_WIDTH * max(score, 0.05))


def fuse(probs: list[dict[str, np.ndarray]], weights: list[float]) -> dict[str, np.ndarray]:
    """The weighted mean of several frames' probabilities, field by field (place by place)."""
    if not probs:
        raise ValueError("nothing to fuse")
    w = np.asarray(weights, np.float64)
    w = w / w.sum() if w.sum() > 0 else np.full(len(probs), 1 / len(probs))
    return {name: np.tensordot(w, np.stack([np.asarray(p[name], np.float64) for p in probs]), axes=1)
            for name in READ_FIELDS}


def fused_reading(probs: list[dict[str, np.ndarray]], weights: list[float], min_confidence: float) -> Reading:
    """The fused probabilities decoded under the grammar."""
    return decode(fuse(probs, weights), min_confidence)
