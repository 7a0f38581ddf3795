"""From a plate mask to geometry: four corners, the checks that reject what cannot be a plate,
and the perspective rectification to a canonical plate image.

Corners are found by fitting a straight line to each side of the mask's outline and
intersecting neighbouring sides, so the rounded corners of a Japanese plate do not pull them in;
outline points well inside the blob's convex hull (a strip of plate the mask missed) are left
out of those fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# A rectified plate is drawn at 1 px per mm of a medium plate (330 x 165 mm), rounded to 8.
CANONICAL_SIZE = (336, 168)
HULL_GAP_PX = 1.5  # outline points further inside the blob's convex hull than this are not its edge


@dataclass(frozen=True)
class ShapeLimits:
    """What a plate's outline may look like in an image (yaw up to about 50 degrees)."""

    min_width_px: float = 14.0
    min_aspect: float = 1.15  # width / height of the quad; a face-on plate is 1.8-2.0
    max_aspect: float = 3.6
    min_angle_deg: float = 50.0  # interior angles of the quad
    min_mask_iou: float = 0.7  # the quad against the mask it came from


def order_corners(points: np.ndarray) -> np.ndarray:
    """Four points as TL, TR, BR, BL."""
    p = np.asarray(points, np.float64).reshape(4, 2)
    centre = p.mean(axis=0)
    angles = np.arctan2(p[:, 1] - centre[1], p[:, 0] - centre[0])
    p = p[np.argsort(angles)]  # clockwise in image coordinates, starting from the left-up quadrant
    start = int(np.argmin(p.sum(axis=1)))
    return np.roll(p, -start, axis=0)


def _intersect(l1, l2):
    (vx1, vy1, x1, y1), (vx2, vy2, x2, y2) = l1, l2
    det = vx1 * (-vy2) - vy1 * (-vx2)
    if abs(det) < 1e-9:
        return None
    t = ((x2 - x1) * (-vy2) - (y2 - y1) * (-vx2)) / det
    return np.array([x1 + t * vx1, y1 + t * vy1])


def _depth_in_hull(points: np.ndarray) -> np.ndarray:
    """How far each point lies inside the convex hull of them all: its distance to the nearest
    hull side's line (a point inside a convex polygon is nearest the side whose line is nearest)."""
    hull = cv2.convexHull(points.astype(np.float32))[:, 0, :].astype(np.float64)
    sides = np.roll(hull, -1, axis=0) - hull
    length = np.linalg.norm(sides, axis=1)
    hull, sides, length = hull[length > 0], sides[length > 0], length[length > 0]
    inward = np.stack([-sides[:, 1], sides[:, 0]], axis=1) / length[:, None]
    inward *= np.sign(((hull.mean(axis=0) - hull) * inward).sum(axis=1))[:, None]
    return ((points[:, None, :] - hull[None]) * inward[None]).sum(axis=2).min(axis=1)


def quad_from_mask(mask: np.ndarray) -> np.ndarray | None:
    """TL, TR, BR, BL corners of the largest blob in a boolean mask, or None when there is none."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    if cv2.contourArea(contour) < 8:
        return None
    pts = contour[:, 0, :].astype(np.float64) + 0.5  # pixel centres
    # rough corners: the outline's extremes along the two diagonals
    s, d = pts.sum(axis=1), pts[:, 0] - pts[:, 1]
    idx = [int(np.argmin(s)), int(np.argmax(d)), int(np.argmax(s)), int(np.argmin(d))]  # TL TR BR BL
    rough = pts[idx]
    if len(set(idx)) < 4:
        return None
    # refine: a line through the middle of each side, corners where neighbouring lines meet. A
    # plate is convex, so outline points well inside the blob's convex hull are where the mask
    # missed the plate's edge (a dark corner against a dark background, a bolt, a holder's lip):
    # they are left out of the fit, so they cannot tilt the side.
    on_hull = _depth_in_hull(pts) <= HULL_GAP_PX
    order = sorted(range(4), key=lambda k: idx[k])
    n = len(pts)
    lines = {}
    for a, b in zip(order, order[1:] + order[:1]):
        i, j = idx[a], idx[b]
        span = (j - i) % n
        run = [(i + k) % n for k in range(int(span * 0.15), int(span * 0.85) + 1)]
        edge = [k for k in run if on_hull[k]]
        side = pts[edge if len(edge) >= max(4, len(run) // 3) else run]
        if len(side) >= 4:
            lines[frozenset((a, b))] = cv2.fitLine(side.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    size = np.linalg.norm(rough[2] - rough[0])
    corners = rough.copy()
    for k in range(4):
        sides = [key for key in lines if k in key]
        if len(sides) == 2:
            p = _intersect(lines[sides[0]], lines[sides[1]])
            if p is not None and np.linalg.norm(p - rough[k]) < 0.25 * size:
                corners[k] = p
    return order_corners(corners)


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """(width, height) of a quad: the means of its top and bottom, and of its left and right sides."""
    q = np.asarray(quad, np.float64)
    width = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    height = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    return float(width), float(height)


def shape_problem(quad: np.ndarray, mask: np.ndarray, limits: ShapeLimits = ShapeLimits(),
                  scale: float = 1.0) -> str | None:
    """Why ``quad`` (in mask pixels) cannot be a plate, or None when it can.

    ``scale`` is mask pixels per image pixel, so the size limit is in image pixels.
    """
    q = np.asarray(quad, np.float32)
    if not cv2.isContourConvex(q.reshape(-1, 1, 2)):
        return "not convex"
    width, height = quad_size(q)
    if width / scale < limits.min_width_px:
        return f"too small ({width / scale:.0f} px wide)"
    aspect = width / max(height, 1e-6)
    if not limits.min_aspect <= aspect <= limits.max_aspect:
        return f"aspect {aspect:.2f} outside {limits.min_aspect}-{limits.max_aspect}"
    for k in range(4):
        a, b, c = q[k - 1], q[k], q[(k + 1) % 4]
        u, v = a - b, c - b
        angle = np.degrees(np.arccos(np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9), -1, 1)))
        if angle < limits.min_angle_deg or angle > 180 - limits.min_angle_deg:
            return f"corner angle {angle:.0f} degrees"
    filled = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(filled, np.round(q * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    inter = np.logical_and(filled, mask).sum()
    union = np.logical_or(filled, mask).sum()
    if union == 0 or inter / union < limits.min_mask_iou:
        return f"quad covers the mask poorly (IoU {inter / max(union, 1):.2f})"
    return None


def scaled(quad: np.ndarray, factor: float) -> np.ndarray:
    """The quad grown (factor > 1) or shrunk about its centre."""
    quad = np.asarray(quad, np.float64)
    centre = quad.mean(axis=0)
    return centre + (quad - centre) * factor


def rectify_transform(quad: np.ndarray, size: tuple[int, int] = CANONICAL_SIZE) -> np.ndarray:
    """The homography taking the quad (TL, TR, BR, BL) onto a size[0] x size[1] canonical plate."""
    w, h = size
    return cv2.getPerspectiveTransform(np.float32(quad), np.float32([[0, 0], [w, 0], [w, h], [0, h]]))


def rectify(image: np.ndarray, quad: np.ndarray, size: tuple[int, int] = CANONICAL_SIZE) -> np.ndarray:
    """The plate seen face-on, size[0] x size[1] pixels."""
    return cv2.warpPerspective(image, rectify_transform(quad, size), size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
