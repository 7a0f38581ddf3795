"""Plate colour: which numbering system and which uses a colour scheme allows.

| colour          | background, characters        | vehicle class | uses                          |
|-----------------|-------------------------------|---------------|-------------------------------|
| white           | white, green                  | registered    | private, rental, US forces    |
| green           | green, white                  | registered    | commercial                    |
| yellow          | yellow, black                 | kei           | private, rental, US forces    |
| black           | black, yellow                 | kei           | commercial                    |
| design-green    | white design plate, green rim | registered    | commercial                    |
| design-yellow   | white design plate, yellow rim| kei           | private, rental, US forces    |

A plain white design plate (図柄入り, no rim) reads as ``white``. Kei cars could take one for the
2019 Rugby World Cup and (disputed) Tokyo 2020 designs, so a white plate with a kei class number
is accepted with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edge.plates.kana import Use, VehicleClass

_NOT_COMMERCIAL = frozenset({Use.PRIVATE, Use.RENTAL, Use.US_FORCES})
_COMMERCIAL = frozenset({Use.COMMERCIAL})


class Color(str, Enum):
    """Plate colour scheme, named by its background (and rim for design plates)."""

    WHITE = "white"
    GREEN = "green"
    YELLOW = "yellow"
    BLACK = "black"
    DESIGN_GREEN = "design-green"
    DESIGN_YELLOW = "design-yellow"

    @classmethod
    def parse(cls, text: str) -> Color:
        """The colour named by ``text`` (case-insensitive); ValueError listing the allowed names."""
        key = text.strip().lower().replace("_", "-").replace(" ", "-")
        for color in cls:
            if color.value == key:
                return color
        allowed = ", ".join(c.value for c in cls)
        raise ValueError(f"colour {text!r} is not one of: {allowed}")


# Faces only a design plate (図柄入り, issued since 2017) has. Every plate issued since 2005 has a
# 3-character class number (registered since 1999, kei since 2005: edge.plates.class_number), so a
# plate with one of these faces never carries a 1- or 2-character class number.
DESIGN_RIMS = frozenset({Color.DESIGN_GREEN, Color.DESIGN_YELLOW})


@dataclass(frozen=True)
class ColorMeaning:
    vehicle_class: VehicleClass
    uses: frozenset[Use]
    description: str


MEANINGS: dict[Color, ColorMeaning] = {
    Color.WHITE: ColorMeaning(VehicleClass.REGISTERED, _NOT_COMMERCIAL, "white plate, green characters"),
    Color.GREEN: ColorMeaning(VehicleClass.REGISTERED, _COMMERCIAL, "green plate, white characters"),
    Color.YELLOW: ColorMeaning(VehicleClass.KEI, _NOT_COMMERCIAL, "yellow plate, black characters"),
    Color.BLACK: ColorMeaning(VehicleClass.KEI, _COMMERCIAL, "black plate, yellow characters"),
    Color.DESIGN_GREEN: ColorMeaning(VehicleClass.REGISTERED, _COMMERCIAL, "design plate with a green rim"),
    Color.DESIGN_YELLOW: ColorMeaning(VehicleClass.KEI, _NOT_COMMERCIAL, "design plate with a yellow rim"),
}


def plain_color(vehicle_class: VehicleClass, use: Use) -> Color:
    """The standard (non-design) colour of a plate for this class and use."""
    commercial = use is Use.COMMERCIAL
    if vehicle_class is VehicleClass.REGISTERED:
        return Color.GREEN if commercial else Color.WHITE
    return Color.BLACK if commercial else Color.YELLOW
