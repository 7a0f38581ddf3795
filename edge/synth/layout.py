"""Where every character sits on a plate, in millimetres from the plate's top-left corner.

Medium plate (330x165) cells follow JP_PLATES.md section 7: top row y 15-55 (region name and
class number, 40 mm high), kana x 20-60 y 90-130, serial digits 40x80 at x 75, 125, 210, 265 with
the hyphen at x 177.5-197.5, dots 12 mm across centred in the empty digit cells. The large
plate is the same drawing at 4/3; the small plate is it squeezed to 230x125.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in mm


class PlateSize(str, Enum):
    MEDIUM = "medium"  # 中板 330x165: almost every car
    LARGE = "large"  # 大板 440x220: heavy goods vehicles and big buses (classes 1, 2, 8)
    SMALL = "small"  # 小板 230x125: motorcycles over 125 cc

    @property
    def mm(self) -> tuple[float, float]:
        return {"medium": (330.0, 165.0), "large": (440.0, 220.0), "small": (230.0, 125.0)}[self.value]


MEDIUM_W, MEDIUM_H = PlateSize.MEDIUM.mm
DIGIT_CELLS_X = (75.0, 125.0, 210.0, 265.0)
DIGIT_W, SERIAL_Y0, SERIAL_Y1 = 40.0, 70.0, 150.0
HYPHEN: Box = (177.5, 104.0, 197.5, 116.0)
DOT_DIAMETER = 12.0
KANA: Box = (20.0, 90.0, 60.0, 130.0)
TOP_Y0, TOP_Y1 = 15.0, 55.0
BOLTS = ((65.0, 28.0), (265.0, 28.0))  # approximate; the reference marks them unverified

_REGION_CELLS: dict[int, tuple[Box, ...]] = {
    1: ((105.0, TOP_Y0, 145.0, TOP_Y1),),
    2: ((80.0, TOP_Y0, 120.0, TOP_Y1), (125.0, TOP_Y0, 165.0, TOP_Y1)),
    3: tuple((x, TOP_Y0, x + 30.0, TOP_Y1) for x in (75.0, 110.0, 145.0)),
    4: tuple((x, TOP_Y0, x + 20.0, TOP_Y1) for x in (75.0, 100.0, 125.0, 150.0)),
}
_CLASS_CELLS: dict[int, tuple[Box, ...]] = {
    1: ((195.0, TOP_Y0, 225.0, TOP_Y1),),
    2: ((178.0, TOP_Y0, 208.0, TOP_Y1), (213.0, TOP_Y0, 243.0, TOP_Y1)),
    3: tuple((x, TOP_Y0, x + 20.0, TOP_Y1) for x in (178.0, 203.0, 228.0)),
}


@dataclass(frozen=True)
class Cell:
    """One mark on the plate: a character, a dot or the hyphen."""

    field: str  # "region", "class_number", "kana" or "serial"
    char: str  # the character; "・" for a dot, "-" for the hyphen
    box: Box  # mm on the plate


def plate_cells(region: str, class_number: str, kana: str, serial: str, size: PlateSize) -> list[Cell]:
    """Every mark of a plate with its cell, scaled to ``size``."""
    cells: list[Cell] = []
    region_boxes = _REGION_CELLS[min(len(region), 4)]
    cells += [Cell("region", ch, box) for ch, box in zip(region, region_boxes)]
    cells += [Cell("class_number", ch, box) for ch, box in zip(class_number, _CLASS_CELLS[len(class_number)])]
    cells.append(Cell("kana", kana, KANA))
    marks = [c for c in serial if c != "-"]  # four places: dots and digits, the hyphen apart
    for ch, x in zip(marks, DIGIT_CELLS_X):
        if ch == "・":
            cx, cy, r = x + DIGIT_W / 2, (SERIAL_Y0 + SERIAL_Y1) / 2, DOT_DIAMETER / 2
            cells.append(Cell("serial", ch, (cx - r, cy - r, cx + r, cy + r)))
        else:
            cells.append(Cell("serial", ch, (x, SERIAL_Y0, x + DIGIT_W, SERIAL_Y1)))
    if "-" in serial:
        cells.append(Cell("serial", "-", HYPHEN))
    sx, sy = size.mm[0] / MEDIUM_W, size.mm[1] / MEDIUM_H
    return [Cell(c.field, c.char, (c.box[0] * sx, c.box[1] * sy, c.box[2] * sx, c.box[3] * sy)) for c in cells]


def bolt_centres(size: PlateSize) -> tuple[tuple[float, float], ...]:
    sx, sy = size.mm[0] / MEDIUM_W, size.mm[1] / MEDIUM_H
    return tuple((x * sx, y * sy) for x, y in BOLTS)
