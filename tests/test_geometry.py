"""Masks to corners, the plate-shape checks and rectification."""

import cv2
import numpy as np
import pytest

from edge.vision.geometry import (CANONICAL_SIZE, ShapeLimits, order_corners, quad_from_mask, quad_size, rectify,
                                  shape_problem)


def _mask(quad, shape=(300, 400), rounded=0):
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(np.float32(quad) * 16).astype(np.int32), 1, shift=4)
    if rounded:  # cut the corners round, as on a real plate
        for x, y in quad:
            cv2.circle(m, (int(x), int(y)), rounded, 0, -1)
        cv2.fillConvexPoly(m, np.round(_shrink(quad, rounded * 1.6) * 16).astype(np.int32), 1, shift=4)
    return m > 0


def _shrink(quad, d):
    q = np.float32(quad)
    c = q.mean(axis=0)
    return c + (q - c) * (1 - d / np.linalg.norm(q - c, axis=1, keepdims=True))


@pytest.mark.parametrize("quad", [
    [[50, 60], [250, 60], [250, 160], [50, 160]],  # face on
    [[40, 80], [300, 50], [290, 170], [50, 180]],  # yawed and pitched
    [[100, 40], [330, 100], [300, 210], [80, 150]],  # rolled
])
def test_corners_of_a_quad_mask(quad):
    got = quad_from_mask(_mask(quad))
    assert np.abs(got - np.float64(quad)).max() < 1.5


def test_rounded_corners_do_not_pull_the_corners_in():
    quad = [[60, 60], [300, 70], [296, 190], [64, 184]]
    got = quad_from_mask(_mask(quad, rounded=10))
    assert np.abs(got - np.float64(quad)).max() < 3.0


def test_an_edge_strip_the_mask_missed_does_not_tilt_the_sides():
    # a dark plate against a dark background: the mask loses a strip along the top left
    quad = [[40, 60], [300, 60], [300, 180], [40, 180]]
    for width, height in ((100, 12), (100, 20), (60, 20)):
        mask = _mask(quad)
        mask[60:60 + height, 40:40 + width] = False
        got = quad_from_mask(mask)
        assert np.abs(got - np.float64(quad)).max() < 1.5, (width, height)


def test_order_corners_from_any_order():
    quad = np.float64([[10, 10], [90, 12], [88, 50], [12, 48]])
    for perm in ([2, 0, 3, 1], [3, 2, 1, 0], [1, 3, 0, 2]):
        np.testing.assert_array_equal(order_corners(quad[perm]), quad)


def test_empty_or_speck_masks_give_none():
    assert quad_from_mask(np.zeros((50, 50), bool)) is None
    speck = np.zeros((50, 50), bool)
    speck[10:12, 10:12] = True
    assert quad_from_mask(speck) is None


def test_plate_shapes_pass_and_others_are_rejected():
    plate = [[50, 60], [250, 60], [250, 160], [50, 160]]
    assert shape_problem(np.float64(plate), _mask(plate)) is None
    square = [[50, 60], [150, 60], [150, 160], [50, 160]]
    assert "aspect" in shape_problem(np.float64(square), _mask(square))
    sliver = [[20, 100], [380, 100], [380, 120], [20, 120]]  # a European plate's 4.7:1 or a kerb line
    assert "aspect" in shape_problem(np.float64(sliver), _mask(sliver))
    tiny = [[10, 10], [20, 10], [20, 15], [10, 15]]
    assert "small" in shape_problem(np.float64(tiny), _mask(tiny))
    skew = [[20, 100], [220, 100], [330, 160], [130, 160]]
    assert "angle" in shape_problem(np.float64(skew), _mask(skew))
    # a quad that does not describe its mask: a U-shaped blob
    blob = _mask(plate)
    blob[60:130, 100:200] = False
    assert "IoU" in shape_problem(quad_from_mask(blob), blob)


def test_size_limit_is_in_image_pixels():
    plate = [[10, 10], [50, 10], [50, 30], [10, 30]]  # 40 px in a view scaled up 4x: 10 px in the image
    assert "small" in shape_problem(np.float64(plate), _mask(plate), ShapeLimits(min_width_px=14), scale=4.0)
    assert shape_problem(np.float64(plate), _mask(plate), ShapeLimits(min_width_px=14), scale=1.0) is None


def test_rectify_undoes_the_perspective():
    plate = np.full((168, 336, 3), 255, np.uint8)
    cv2.rectangle(plate, (40, 40), (120, 120), (0, 0, 0), -1)
    quad = np.float32([[60, 80], [330, 40], [320, 200], [70, 190]])
    h = cv2.getPerspectiveTransform(np.float32([[0, 0], [336, 0], [336, 168], [0, 168]]), quad)
    scene = cv2.warpPerspective(plate, h, (400, 260), borderValue=(128, 128, 128))
    back = rectify(scene, quad)
    assert back.shape[:2] == (CANONICAL_SIZE[1], CANONICAL_SIZE[0])
    assert np.abs(back.astype(int) - plate).mean() < 12
    assert quad_size(np.float32([[0, 0], [10, 0], [10, 4], [0, 4]])) == (10.0, 4.0)
