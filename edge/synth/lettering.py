"""One maker's lettering: a font's glyphs made heavier or lighter, sheared and bent, per plate
and per glyph.

Real plates are pressed from makers' dies, not typed in desktop fonts: strokes are wider or
narrower than any font's, and every die is a little different from the next. A reader trained
on exact font outlines learns the fonts; one trained on outlines that move learns the letters.
The digits' own drawing varies in ``strokes.DigitShape``; this is the same idea for the kanji,
kana and letters taken from fonts.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Lettering:
    """How one plate's lettering departs from its font, as fractions of a glyph's height."""

    stroke: float = 0.0  # the ink's edge moved outwards (+) or inwards (-)
    shear: float = 0.0  # x moves by shear * (height above the centre)
    warp: float = 0.0  # amplitude of a smooth displacement drawn anew for every glyph

    def distort(self, glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``glyph`` (coverage 0..1, cropped to its ink) in this lettering, cropped to its ink again."""
        if self == PLAIN:
            return glyph
        h = glyph.shape[0]
        pad = int(np.ceil(h * (abs(self.stroke) + abs(self.shear) / 2 + 2 * self.warp))) + 2
        m = np.pad(glyph.astype(np.float32), pad)
        if self.stroke:
            # signed distance to the ink's edge, in pixels; the edge moved by stroke * h
            ink = (m > 0.5).astype(np.uint8)
            inside = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
            outside = cv2.distanceTransform(1 - ink, cv2.DIST_L2, 3)
            m = np.clip(inside - outside + 0.5 + self.stroke * h, 0, 1).astype(np.float32)
        H, W = m.shape
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
        dx = self.shear * (ys - H / 2)
        dy = np.zeros_like(dx)
        if self.warp:
            field = rng.normal(0, 1, (2, 3, 3)).astype(np.float32)
            dx += cv2.resize(field[0], (W, H), interpolation=cv2.INTER_CUBIC) * self.warp * h
            dy += cv2.resize(field[1], (W, H), interpolation=cv2.INTER_CUBIC) * self.warp * h
        out = cv2.remap(m, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=0.0)
        rows, cols = np.nonzero(out > 0.05)
        if len(rows) == 0:  # thinned away: the plain glyph rather than nothing
            return glyph
        return out[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]


PLAIN = Lettering()


def random_lettering(rng: np.random.Generator) -> Lettering:
    """One maker's lettering; about one plate in five keeps the font's outlines exactly."""
    if rng.random() < 0.2:
        return PLAIN
    return Lettering(stroke=float(rng.uniform(-0.02, 0.05)),
                     shear=float(rng.uniform(-0.08, 0.08) if rng.random() < 0.3 else 0.0),
                     warp=float(rng.uniform(0.0, 0.035)))
