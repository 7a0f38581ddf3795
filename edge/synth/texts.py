"""Random plate texts that the rules allow, in roughly the mix seen on Japanese roads.

Everything is drawn from ``edge.plates`` (regions, kana sets, class-number grammar), so a
rendered plate is valid by construction; ``PlateText`` checks it once more on the way out.
"""

from __future__ import annotations

import numpy as np

from edge.plates import (Color, PlateText, PlateTextError, Use, VehicleClass, class_number_rules, kana_table,
                         region_table)
from edge.plates.color import plain_color

LETTERS = "ACFHKLMPXY"
_USE_WEIGHTS = {Use.PRIVATE: 0.78, Use.COMMERCIAL: 0.12, Use.RENTAL: 0.08, Use.US_FORCES: 0.02}


def _pick(rng: np.random.Generator, items, weights=None):
    items = list(items)
    if weights is not None:
        w = np.asarray(weights, float)
        return items[int(rng.choice(len(items), p=w / w.sum()))]
    return items[int(rng.integers(len(items)))]


def random_class_number(rng: np.random.Generator, vehicle_class: VehicleClass) -> str:
    """1-, 2- or 3-character class number of the given numbering system."""
    form = rng.random()
    if vehicle_class is VehicleClass.KEI:
        first = _pick(rng, "45678", [0.35, 0.55, 0.03, 0.03, 0.04])
        if form < 0.10:  # 2-digit kei classes (1973-2005)
            return first + str(rng.integers(0, 10))
        second = _pick(rng, "89PXY", [0.6, 0.3, 0.04, 0.03, 0.03])
        third = _pick(rng, "0123456789" + LETTERS, [1.0] * 10 + [0.05] * 10)
        return first + second + third
    first = _pick(rng, "1234567890", [0.08, 0.02, 0.38, 0.08, 0.3, 0.02, 0.02, 0.06, 0.02, 0.02])
    if form < 0.02:  # 1-digit (before 1967)
        return first
    if form < 0.12:  # 2-digit (1967-1999)
        return first + str(rng.integers(0, 10))
    second_choices = "01234567" if first in "45678" else "0123456789"
    letter_second = first not in "45678" and rng.random() < 0.03
    second = _pick(rng, "ACFHKLMPXY") if letter_second else _pick(rng, second_choices)
    third = _pick(rng, "0123456789" + LETTERS, [1.0] * 10 + [0.05] * 10)
    cls = first + second + third
    rules = class_number_rules()
    if rules.doubt(cls, VehicleClass.REGISTERED):  # x99 (reserved) and unverified forms are rare
        cls = cls[:2] + "0"
    return cls


def random_serial_number(rng: np.random.Generator) -> int:
    """1..9999, with the short (dotted) forms as common as on the road, hope numbers included."""
    digits = _pick(rng, (1, 2, 3, 4), [0.1, 0.12, 0.18, 0.6])
    return int(rng.integers(10 ** (digits - 1), 10 ** digits))


def random_plate_text(rng: np.random.Generator, design_rate: float = 0.1) -> PlateText:
    """A valid plate with its colour (design plates at ``design_rate``)."""
    vehicle_class = VehicleClass.KEI if rng.random() < 0.35 else VehicleClass.REGISTERED
    use = _pick(rng, _USE_WEIGHTS, list(_USE_WEIGHTS.values()))
    kana = _pick(rng, sorted(kana_table().sets[vehicle_class][use]))
    class_number = random_class_number(rng, vehicle_class)
    region = _pick(rng, region_table().names())
    color = plain_color(vehicle_class, use)
    if rng.random() < design_rate and len(class_number) == 3:  # design plates came in 2017
        if use is Use.COMMERCIAL:
            color = Color.DESIGN_GREEN if vehicle_class is VehicleClass.REGISTERED else color
        elif vehicle_class is VehicleClass.KEI:
            color = Color.DESIGN_YELLOW
    return PlateText(region, class_number, kana, random_serial_number(rng), color)


def check_digits(digits: str) -> str:
    """``digits`` if it is one or more of 0-9, else ValueError saying so."""
    if not (digits and digits.isascii() and digits.isdigit()):
        raise ValueError(f"one or more of the digits 0-9, not {digits!r}")
    return digits


def with_digits(plate: PlateText, digits: str, rng: np.random.Generator) -> PlateText:
    """``plate`` with each digit of its class number and serial drawn from ``digits`` instead,
    wherever the plate stays valid and no more doubtful (a set that asks about digits a reader
    confuses: ``--digits 17``). The serial keeps its length, so its dotted form stays."""
    check_digits(digits)
    drawn = plate
    for i, char in enumerate(plate.class_number):
        if not char.isdigit():
            continue
        for choice in rng.permutation(list(digits)):  # the first that keeps the plate as good
            trial = _no_worse(plate, f"{drawn.class_number[:i]}{choice}{drawn.class_number[i + 1:]}", drawn.number)
            if trial is not None:
                drawn = trial
                break
    leading = digits.replace("0", "") or str(plate.number)[0]  # a serial never starts with 0
    serial = _pick(rng, leading) + "".join(_pick(rng, digits) for _ in str(plate.number)[1:])
    return _no_worse(plate, drawn.class_number, int(serial)) or drawn


def _no_worse(plate: PlateText, class_number: str, number: int) -> PlateText | None:
    """``plate`` with this class number and serial, if that is valid, no more doubtful and of the same category."""
    try:
        trial = PlateText(plate.region, class_number, plate.kana, number, plate.color)
    except PlateTextError:
        return None
    if len(trial.warnings) > len(plate.warnings) or trial.meaning.category != plate.meaning.category:
        return None
    return trial
