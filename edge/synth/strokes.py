"""A monoline drawing of the plate digits (全標協 標準字体, 1962): centre-lines in a 40x80 mm cell,
drawn with a round pen of 12 mm (0.15 of the height), the heavy, condensed look of real serials.
Fonts give the kana, kanji and letters; their digits are too light and too wide for a plate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

CELL_W, CELL_H, STROKE = 40.0, 80.0, 12.0


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> list[tuple[float, float]]:
    """Points on an ellipse from angle a0 to a1 in degrees (0 = right, 90 = down)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


@dataclass(frozen=True)
class DigitShape:
    """How one maker's lettering departs from the standard drawing, in cell millimetres.

    Real plates are pressed from many makers' dies: the loops of 6 and 9 are larger or
    smaller, the waist of 3, 5 and 8 sits higher or lower, some lettering leans, and every
    drawing is a little bent. A reader trained on one exact drawing reads only that drawing.
    """

    loop: float = 20.0  # height radius of the closed loop of 6 and 9 (the standard's 20)
    waist: float = 0.0  # moves the join of the upper and lower parts of 3, 5 and 8 down (+) or up
    slant: float = 0.0  # shear: x moves by slant * (height above the centre)
    bend: tuple[float, ...] = (0.0,) * 18  # a 3x3 grid of (dx, dy) moves, smoothly spread over the cell

    def move(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Centre-line points of the standard drawing, where this maker puts them."""
        p = np.asarray(points, np.float64)
        x, y = p[:, 0], p[:, 1]
        grid = np.asarray(self.bend, np.float64).reshape(3, 3, 2)
        # quadratic B-spline weights over the cell: smooth, and zero moves give the drawing itself
        u, v = x / CELL_W, y / CELL_H
        wu = np.stack([(1 - u) ** 2, 2 * u * (1 - u), u ** 2], axis=1)
        wv = np.stack([(1 - v) ** 2, 2 * v * (1 - v), v ** 2], axis=1)
        d = np.einsum("ni,nj,ijk->nk", wv, wu, grid)
        return list(zip(x + d[:, 0] + self.slant * (CELL_H / 2 - y), y + d[:, 1]))


STANDARD = DigitShape()


def random_digit_shape(rng: np.random.Generator) -> DigitShape:
    """One maker's departure from the standard drawing; about 1 plate in 5 keeps it exactly."""
    if rng.random() < 0.2:
        return STANDARD
    bend = rng.normal(0, 2.0, 18).clip(-4.5, 4.5)
    return DigitShape(loop=float(rng.uniform(16.5, 22.5)), waist=float(rng.uniform(-4, 4)),
                      slant=float(rng.uniform(-0.06, 0.06) if rng.random() < 0.3 else 0.0),
                      bend=tuple(float(round(b, 1)) for b in bend))


def _digit_paths(shape: DigitShape = STANDARD) -> dict[str, list[list[tuple[float, float]]]]:
    L, R, T, B = 6.0, 34.0, 6.0, 74.0  # the pen's centre stays half a stroke inside the cell
    top_r = (R - L) / 2
    w, loop = shape.waist, shape.loop
    paths = {
        "0": [_arc(20, 20, top_r, 14, 180, 360) + _arc(20, 60, top_r, 14, 0, 180) + [(L, 20)]],
        "1": [[(11, 17), (23, T), (23, B)]],
        "2": [_arc(20, 21, top_r, 15, 190, 375, 20) + [(L, B), (R + 1, B)]],
        "3": [_arc(20, 21 + w / 2, 13, 15 + w / 2, 205, 450, 20) + _arc(20, 55 + w / 2, top_r, 19 - w / 2, 270, 525, 24)],
        "4": [[(27, B), (27, T), (L - 1, 53), (R + 1, 53)]],
        "5": [[(R, T), (L + 2, T), (L + 1, 36 + w)] + _arc(20, 52 + w / 2, top_r, 22 - w / 2, 230, 515, 24)],
        "6": [_arc(20, B - loop, top_r, loop, 0, 360, 28),
              [(L, B - loop), (L, min(38.0, B - loop))] + _arc(22, 38, 16, 32, 180, 290, 14)],
        "7": [[(L, T + 2), (L, T), (R, T), (R - 4, 24), (17, B)]],
        "8": [_arc(20, 22 + w / 2, 12, 16 + w / 2, 0, 360, 24), _arc(20, 56 + w / 2, top_r, 18 - w / 2, 0, 360, 28)],
    }
    # the standard lettering's 9 is its 6 turned half a turn
    paths["9"] = [[(CELL_W - x, CELL_H - y) for x, y in path] for path in paths["6"]]
    if shape != STANDARD:
        paths = {digit: [shape.move(path) for path in drawing] for digit, drawing in paths.items()}
    return paths


DIGITS = frozenset(_digit_paths())


@lru_cache(maxsize=512)
def digit_mask(digit: str, width: int, height: int, stroke: float = STROKE,
               shape: DigitShape = STANDARD) -> np.ndarray:
    """Coverage (float32 0..1) of ``digit`` drawn to fill a ``width`` x ``height`` pixel cell.

    ``stroke`` is the pen width in cell millimetres (12 is the standard) and ``shape`` the
    maker's departure from the standard drawing; the drawing is rendered at 4x and shrunk,
    so small cells stay smooth.
    """
    if digit not in DIGITS:
        raise KeyError(f"no monoline drawing for {digit!r}")
    width, height = max(1, int(width)), max(1, int(height))
    up = 4
    sx, sy = width * up / CELL_W, height * up / CELL_H
    canvas = np.zeros((height * up, width * up), np.uint8)
    pen = max(1, int(round(stroke * (sx + sy) / 2)))
    for path in _digit_paths(shape)[digit]:
        pts = np.array([(x * sx, y * sy) for x, y in path], np.float32)
        cv2.polylines(canvas, [np.round(pts * 16).astype(np.int32)], False, 255, pen, cv2.LINE_AA, shift=4)
    small = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0
