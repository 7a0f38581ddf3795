"""The Japanese number-plate domain: regions, kana, class numbers, serials, colours, ``PlateText``.

Pure data and rules; nothing here touches images.
"""

from edge.plates.class_number import ClassNumberRules, class_number_rules, has_letter
from edge.plates.color import Color, plain_color
from edge.plates.kana import KanaTable, Use, VehicleClass, kana_table
from edge.plates.regions import Region, RegionMatch, RegionTable, UnknownRegion, region_table
from edge.plates.serial import DOT, SerialError, format_serial, parse_serial
from edge.plates.text import FIELDS, PlateMeaning, PlateText, PlateTextError, Problem

__all__ = [
    "DOT", "FIELDS", "ClassNumberRules", "Color", "KanaTable", "PlateMeaning", "PlateText", "PlateTextError",
    "Problem", "Region", "RegionMatch", "RegionTable", "SerialError", "UnknownRegion", "Use",
    "VehicleClass", "class_number_rules", "format_serial", "has_letter", "kana_table", "parse_serial",
    "plain_color", "region_table",
]
