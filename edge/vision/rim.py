"""A design plate's yellow rim, looked for in the frame itself (README lever 83).

A kei car's design plate (図柄入り, kei private) has a white face with a 3-5 mm yellow rim; the
plain white kei plates of 2017-2020 have none. The colour classifier reads a 64 x 32 copy of the
plate, where a rim 1.2 % of the plate's width is not there to see (README lever 14), so between
those two faces it guesses (RIM_FACE_CONFIDENCE in edge/plates/reading.py). Here the plate's top
and bottom edges and its sides are looked at in the frame at the plate's own resolution: across
each edge, in the middle half of its length, from about 5 % of the plate's size outside it to 12-14 %
inside, the yellowness ((R + G) / 2 - B) is averaged along the edge, and a rim shows as a yellow
line, a peak with less yellow on both sides of it (the white margin outside, the face inside). A
step (a yellow car body outside a badly outlined plate) is no peak. The yellowest of the four
edges' lines counts (a holder or a light often hides the rim on some of them; lever 83b).

The line's contrast becomes odds for design-yellow against white by a logistic fit, each face
weighed as half, on 702 kei plates 120 px wide or more (403 design-yellow, 299 white; stress119,
121, 122, 123, 125 and rim126: sets already looked at);
the odds multiply the colour classifier's design-yellow probability before decoding, so the two
are weighed together and the rim faces' cap still holds. A plate narrower than
RIM_VISIBLE_WIDTH shows its rim under 1.5 pixels wide, and is given no odds (1).
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.vision.geometry import CANONICAL_SIZE, rectify_transform

# 4 mm of a 330 mm plate is 1.5 px at 124 px wide
RIM_VISIBLE_WIDTH = 120.0
# The view: the plate drawn 336 x 168 with GROW of its size round it; each profile runs from
# OUTSIDE_PX outside the plate's edge to INSIDE_PX inside it (top and bottom: pixels of the
# 168 px high plate; left and right: SIDE_OUTSIDE_PX, SIDE_INSIDE_PX of the 336 px wide one; a rim
# lies a few pixels in, and the outline may be a few pixels off).
GROW = 0.06
OUTSIDE_PX, INSIDE_PX = 8, 24
SIDE_OUTSIDE_PX, SIDE_INSIDE_PX = 18, 40
# odds(design-yellow : white) = ODDS_AT_NONE * (1 + contrast) ** ODDS_POWER (the logistic fit,
# each face weighed as half)
ODDS_AT_NONE = 0.057
ODDS_POWER = 1.205


def yellow_line_contrast(image: np.ndarray, quad: np.ndarray) -> float:
    """How much yellower than both its sides the yellowest line along the plate's four edges is
    (grey levels; the most of the four edges'), 0 where there is no such line."""
    w, h = CANONICAL_SIZE
    ox, oy = int(GROW * w), int(GROW * h)
    size = (int(w * (1 + 2 * GROW)), int(h * (1 + 2 * GROW)))
    shift = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]], np.float64)
    view = cv2.warpPerspective(image, shift @ rectify_transform(np.asarray(quad, np.float64)), size,
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    yellow = (view[..., 2] + view[..., 1]) / 2 - view[..., 0]
    rows = np.arange(oy - OUTSIDE_PX, oy + INSIDE_PX)  # from the view's top edge, inwards
    columns = np.arange(ox - SIDE_OUTSIDE_PX, ox + SIDE_INSIDE_PX)  # from its left edge, inwards
    across, down = slice(ox + w // 4, ox + 3 * w // 4), slice(oy + h // 4, oy + 3 * h // 4)
    profiles = (yellow[rows, across].mean(axis=1), yellow[size[1] - 1 - rows, across].mean(axis=1),
                yellow[down, columns].mean(axis=0), yellow[down, size[0] - 1 - columns].mean(axis=0))
    return max(_line(p) for p in profiles)


def _line(profile: np.ndarray) -> float:
    """The profile's highest point above the higher of the lowest points on either side of it."""
    i = int(np.argmax(profile))
    return float(profile[i] - max(profile[:i + 1].min(), profile[i:].min()))


def rim_odds(image: np.ndarray, quad: np.ndarray, width: float) -> float:
    """Odds for a yellow rim (design-yellow) against none (white) from the plate's edges; 1 for a
    plate too narrow to show one."""
    if width < RIM_VISIBLE_WIDTH:
        return 1.0
    return ODDS_AT_NONE * (1.0 + yellow_line_contrast(image, quad)) ** ODDS_POWER  # the contrast is >= 0
