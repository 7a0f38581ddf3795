"""A monoline drawing of the plate digits (全標協 標準字体, 1962): centre-lines in a 40x80 mm cell,
drawn with a round pen of 12 mm (0.15 of the height), the heavy, condensed look of real serials.
Fonts give the kana, kanji and letters; their digits are too light and too wide for a plate.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

CELL_W, CELL_H, STROKE = 40.0, 80.0, 12.0


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> list[tuple[float, float]]:
    """Points on an ellipse from angle a0 to a1 in degrees (0 = right, 90 = down)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


def _digit_paths() -> dict[str, list[list[tuple[float, float]]]]:
    L, R, T, B = 6.0, 34.0, 6.0, 74.0  # the pen's centre stays half a stroke inside the cell
    top_r = (R - L) / 2
    paths = {
        "0": [_arc(20, 20, top_r, 14, 180, 360) + _arc(20, 60, top_r, 14, 0, 180) + [(L, 20)]],
        "1": [[(11, 17), (23, T), (23, B)]],
        "2": [_arc(20, 21, top_r, 15, 190, 375, 20) + [(L, B), (R + 1, B)]],
        "3": [_arc(20, 21, 13, 15, 205, 450, 20) + _arc(20, 55, top_r, 19, 270, 525, 24)],
        "4": [[(27, B), (27, T), (L - 1, 53), (R + 1, 53)]],
        "5": [[(R, T), (L + 2, T), (L + 1, 36)] + _arc(20, 52, top_r, 22, 230, 515, 24)],
        "6": [_arc(20, 54, top_r, 20, 0, 360, 28), [(L, 54), (L, 38)] + _arc(22, 38, 16, 32, 180, 290, 14)],
        "7": [[(L, T + 2), (L, T), (R, T), (R - 4, 24), (17, B)]],
        "8": [_arc(20, 22, 12, 16, 0, 360, 24), _arc(20, 56, top_r, 18, 0, 360, 28)],
    }
    # the standard lettering's 9 is its 6 turned half a turn
    paths["9"] = [[(CELL_W - x, CELL_H - y) for x, y in path] for path in paths["6"]]
    return paths


_PATHS = _digit_paths()
DIGITS = frozenset(_PATHS)


@lru_cache(maxsize=512)
def digit_mask(digit: str, width: int, height: int, stroke: float = STROKE) -> np.ndarray:
    """Coverage (float32 0..1) of ``digit`` drawn to fill a ``width`` x ``height`` pixel cell.

    ``stroke`` is the pen width in cell millimetres (12 is the standard); the drawing is
    rendered at 4x and shrunk, so small cells stay smooth.
    """
    if digit not in _PATHS:
        raise KeyError(f"no monoline drawing for {digit!r}")
    width, height = max(1, int(width)), max(1, int(height))
    up = 4
    sx, sy = width * up / CELL_W, height * up / CELL_H
    canvas = np.zeros((height * up, width * up), np.uint8)
    pen = max(1, int(round(stroke * (sx + sy) / 2)))
    for path in _PATHS[digit]:
        pts = np.array([(x * sx, y * sy) for x, y in path], np.float32)
        cv2.polylines(canvas, [np.round(pts * 16).astype(np.int32)], False, 255, pen, cv2.LINE_AA, shift=4)
    small = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0
