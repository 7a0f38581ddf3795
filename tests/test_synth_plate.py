"""The plate renderer: layout, digit drawing, and labels that match the pixels."""

import dataclasses

import cv2
import numpy as np
import pytest

from edge.plates import PlateText
from edge.synth.layout import PlateSize, plate_cells
from edge.synth.plate import LABEL_IDS, random_style, render_plate
from edge.synth.strokes import DIGITS, STANDARD, DigitShape, digit_mask, random_digit_shape
from edge.synth.texts import random_plate_text


@pytest.mark.parametrize("size", list(PlateSize))
@pytest.mark.parametrize("text", ["柏 5 さ ・・・1", "品川 33 あ ・・12", "八王子 300 ら ・123", "尾張小牧 30A わ 12-34"])
def test_cells_lie_on_the_plate_and_never_overlap(size, text):
    plate = PlateText.parse(text)
    cells = plate_cells(plate.region, plate.class_number, plate.kana, plate.serial, size)
    w, h = size.mm
    assert len(cells) == len(plate.region) + len(plate.class_number) + 1 + 4 + ("-" in plate.serial)
    for cell in cells:
        x0, y0, x1, y1 = cell.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, cell
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            overlap_x = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
            overlap_y = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
            assert overlap_x <= 0 or overlap_y <= 0, (a, b)


def test_serial_keeps_fixed_places_dots_centred_and_hyphen_only_with_four_digits():
    def serial_cells(number):
        plate = PlateText("品川", "300", "さ", number)
        return [c for c in plate_cells(plate.region, plate.class_number, plate.kana, plate.serial, PlateSize.MEDIUM)
                if c.field == "serial"]
    four = serial_cells(1234)
    assert [c.char for c in four] == ["1", "2", "3", "4", "-"]
    one = serial_cells(7)
    assert [c.char for c in one] == ["・", "・", "・", "7"]
    assert one[3].box == four[3].box  # digits are right-aligned in the same places
    for dot, digit in zip(one[:3], four[:3]):
        assert (dot.box[0] + dot.box[2]) / 2 == pytest.approx((digit.box[0] + digit.box[2]) / 2)
        assert dot.box[2] - dot.box[0] == pytest.approx(12.0)


@pytest.mark.parametrize("digit", sorted(DIGITS))
def test_monoline_digits_have_the_standard_stroke(digit):
    mask = digit_mask(digit, 200, 400)
    ink = np.pad((mask > 0.5).astype(np.uint8), 4)  # the transform treats the border as ink
    distance = cv2.distanceTransform(ink, cv2.DIST_L2, 5)
    ridge = (distance > 2) & (distance >= cv2.dilate(distance, np.ones((3, 3))))  # the pen's centre-line
    thickness = 2 * np.median(distance[ridge]) / 400
    assert 0.13 <= thickness <= 0.17  # 12 mm pen on an 80 mm digit
    ys, xs = np.nonzero(ink)
    assert ys.min() < 14 and ys.max() > 394  # fills the cell's height


def test_makers_digit_shapes_vary_the_drawing_but_keep_it_a_digit_in_its_cell():
    rng = np.random.default_rng(3)
    shapes = [random_digit_shape(rng) for _ in range(40)]
    assert sum(s == STANDARD for s in shapes) < 20 and len(set(shapes)) > 20
    assert DigitShape(bend=(0.0,) * 18) == STANDARD  # no moves is the standard drawing itself
    for digit in sorted(DIGITS):
        standard = digit_mask(digit, 80, 160) > 0.5
        for shape in shapes[:10]:
            varied = digit_mask(digit, 80, 160, shape=shape) > 0.5
            ys, xs = np.nonzero(varied)
            assert ys.min() < 20 and ys.max() > 140 and xs.max() - xs.min() > 30  # still fills the cell
            overlap = (standard & varied).sum() / (standard | varied).sum()
            assert overlap > 0.6  # a departure, not another character
        loop_sizes = {digit_mask(digit, 80, 160, shape=DigitShape(loop=r)).tobytes() for r in (16.5, 20.0, 22.5)}
        assert len(loop_sizes) == (3 if digit in "69" else 1)


def _clean_style(plate, rng):
    style = random_style(plate, rng, PlateSize.MEDIUM)
    return dataclasses.replace(style, dirt=0.0, fade=0.0, frame=None, emboss=0.0, pattern=False, rim=None,
                               bolt_radius_mm=0.0)


@pytest.mark.parametrize("text,color", [("品川 300 さ 12-34", "white"), ("横浜 580 む ・・80", "yellow"),
                                        ("横浜 101 あ 32-31", "green"), ("横浜 480 り ・324", "black")])
def test_labels_match_the_pixels(text, color):
    rng = np.random.default_rng(0)
    plate = PlateText.parse(text, color)
    style = _clean_style(plate, rng)
    r = render_plate(plate, rng, px_per_mm=2.0, style=style)
    image = r.image.astype(np.float32)
    ink, background = np.float32(style.ink), np.float32(style.background)
    fields = r.labels >= LABEL_IDS["region"]
    bare = (r.labels == LABEL_IDS["plate"]) & (cv2.erode(fields.astype(np.uint8), np.ones((5, 5))) == 0)
    bare &= cv2.dilate(fields.astype(np.uint8), np.ones((9, 9))) == 0  # away from anti-aliased edges
    dist = lambda pixels, colour: np.linalg.norm(pixels - colour, axis=-1)  # noqa: E731
    interior = cv2.erode(fields.astype(np.uint8), np.ones((3, 3))) > 0
    assert (dist(image[interior], ink) < 40).mean() > 0.98
    # a pixel is labelled ink when ink covers at least half of it: nearer the ink than the plate
    assert (dist(image[fields], ink) <= dist(image[fields], background) + 8).mean() > 0.99
    assert (dist(image[bare], background) < 40).mean() > 0.97
    for name in ("region", "class_number", "kana", "serial"):
        assert (r.labels == LABEL_IDS[name]).any(), name
    # corners: just inside each (past the rounding) is plate, just outside is not
    for (x, y), (dx, dy) in zip(r.corners, [(1, 1), (-1, 1), (-1, -1), (1, -1)]):
        inside = (int(x + dx * 8 * 2), int(y + dy * 8 * 2))
        outside = (int(x - dx * 3), int(y - dy * 3))
        assert r.alpha[inside[1], inside[0]] == 1.0 and r.alpha[outside[1], outside[0]] == 0.0
    boxes = r.field_boxes()
    assert boxes["region"][3] < boxes["serial"][1]  # top row above the serial
    assert boxes["kana"][2] < boxes["serial"][0] + 30  # kana at the left


def test_every_random_plate_is_valid_and_renders():
    rng = np.random.default_rng(5)
    for _ in range(30_000):  # rare combinations (kei US-forces letters with 2-digit classes) included
        plate = random_plate_text(rng)
    for _ in range(300):
        plate = random_plate_text(rng)
        assert PlateText.parse(plate.format(), plate.color) == plate
    for _ in range(20):
        r = render_plate(random_plate_text(rng), rng, px_per_mm=0.6)
        assert r.image.dtype == np.uint8 and r.image.shape[:2] == r.labels.shape == r.alpha.shape


def test_plates_lettered_with_a_fonts_digits_keep_the_drawn_1():
    # a font's 1 widened towards its cell has a long flat flag a person reads as a 7: the drawing's 1 is kept
    def render(text, font_digits):
        plate = PlateText.parse(text, "white")
        style = dataclasses.replace(_clean_style(plate, np.random.default_rng(4)), font_digits=font_digits)
        return render_plate(plate, np.random.default_rng(9), px_per_mm=2.0, style=style)

    for text, same in (("品川 111 さ 11-11", True), ("品川 222 さ 22-22", False)):
        font, drawn = render(text, True), render(text, False)
        assert np.array_equal(font.labels, drawn.labels) is same, text
        assert np.array_equal(font.image, drawn.image) is same, text
