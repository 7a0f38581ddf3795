"""``PlateText``: one plate's four fields (and colour), parsed, validated and formatted.

A ``PlateText`` that exists is a plate the rules allow: construction checks every field and
how the fields agree with each other and with the colour, and raises ``PlateTextError`` listing
every problem, each naming its field. Soft doubts (a historical region label, an unverified
rule) do not block; they are kept in ``warnings``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from edge.plates.class_number import class_number_rules
from edge.plates.color import DESIGN_RIMS, MEANINGS, Color, plain_color
from edge.plates.kana import Use, VehicleClass, kana_table
from edge.plates.regions import Region, UnknownRegion, region_table
from edge.plates.serial import DOT_LOOKALIKES, HYPHEN_LOOKALIKES, SerialError, format_serial, parse_serial

FIELDS = ("region", "class_number", "kana", "serial")  # the printed fields, in reading order
MAX_TEXT_LENGTH = 64  # the longest real form, romaji and spaces included, is under 40


@dataclass(frozen=True)
class Problem:
    """One rule a plate text breaks. ``rule`` is a stable id for scripts, ``message`` for people."""

    field: str  # "plate", "region", "class_number", "kana", "serial" or "color"
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class PlateTextError(ValueError):
    """The text is not a valid plate; ``problems`` lists every rule broken."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class PlateMeaning:
    """What a valid plate says about its vehicle."""

    region: Region
    historical_label: bool  # the plate shows an old label (e.g. 品) for this region
    vehicle_class: VehicleClass | None  # None when neither colour nor class number tells
    use: Use | None
    kind: str | None  # what the class number's first digit says, e.g. "ordinary-size passenger car"
    color: Color | None  # as given, else the standard colour when the class and use imply one

    @property
    def kei(self) -> bool | None:
        return None if self.vehicle_class is None else self.vehicle_class is VehicleClass.KEI

    @property
    def category(self) -> str | None:
        """``registered/private``, ``kei/commercial``...; None when the class is unknown."""
        if self.vehicle_class is None or self.use is None:
            return None
        return f"{self.vehicle_class.value}/{self.use.value}"


@dataclass(frozen=True)
class PlateText:
    """A plate's text: region (地名), class number (分類番号), kana (用途 character), serial number
    (一連指定番号) and, when known, colour.

    ``region`` may be given as kanji, reading or romaji; it is kept as printed on the plate.
    """

    region: str
    class_number: str
    kana: str
    number: int
    color: Color | None = None
    meaning: PlateMeaning = field(init=False, repr=False, compare=False)
    warnings: tuple[Problem, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assessed = _assess(self.region, self.class_number, self.kana, self.number, self.color)
        if assessed.errors:
            raise PlateTextError(assessed.errors)
        object.__setattr__(self, "region", assessed.region_printed)
        object.__setattr__(self, "color", assessed.color)
        object.__setattr__(self, "meaning", assessed.meaning)
        object.__setattr__(self, "warnings", tuple(assessed.warnings))

    @property
    def serial(self) -> str:
        """The serial as printed: ``12-34``, ``・123``, ``・・12``, ``・・・1``."""
        return format_serial(self.number)

    def format(self) -> str:
        """Canonical text, e.g. ``品川 300 さ 12-34``."""
        return f"{self.region} {self.class_number} {self.kana} {self.serial}"

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def parse(cls, text: str, color: Color | str | None = None) -> PlateText:
        """Read the ways people write plates: ``品川 300 あ 12-34``, ``品川300あ1234``,
        ``品川 300 あ ・・12``, full-width characters, the region as reading or romaji
        (``shinagawa 300 さ 1234``). Raises PlateTextError listing every problem."""
        problems: list[Problem] = []
        parts = split_plate_text(text, problems)
        if parts is None:
            raise PlateTextError(problems)
        region, class_number, kana, serial_text = parts
        number: int | None = None
        try:
            number = parse_serial(serial_text)
        except SerialError as exc:
            problems.append(Problem("serial", "serial.form", str(exc)))
        if problems:
            problems += _assess(region, class_number, kana, number, color).errors
            raise PlateTextError(problems)
        return cls(region, class_number, kana, number, color)

    def to_dict(self) -> dict:
        """JSON-ready fields and meaning, as ``anpr plate check --json`` and ``anpr read`` print them."""
        m = self.meaning
        return {
            "text": self.format(),
            "region": self.region,
            "class_number": self.class_number,
            "kana": self.kana,
            "serial": self.serial,
            "number": self.number,
            "color": self.color.value if self.color else None,
            "vehicle_class": m.vehicle_class.value if m.vehicle_class else None,
            "use": m.use.value if m.use else None,
            "category": m.category,
            "kei": m.kei,
            "kind": m.kind,
            "region_info": {
                "name": m.region.name,
                "reading": m.region.reading,
                "romaji": m.region.romaji,
                "prefectures": list(m.region.prefectures),
                "historical_label": m.historical_label,
            },
            "warnings": [{"field": w.field, "rule": w.rule, "message": w.message} for w in self.warnings],
        }


def split_plate_text(text: object, problems: list[Problem]) -> tuple[str, str, str, str] | None:
    """Split a written plate into region, class number, kana and serial text.

    Appends to ``problems`` and returns None when the text cannot be split.
    """
    if not isinstance(text, str):
        problems.append(Problem("plate", "plate.type", f"expected text, got {type(text).__name__}"))
        return None
    if len(text) > MAX_TEXT_LENGTH:
        problems.append(Problem("plate", "plate.length",
                                f"{len(text)} characters; a plate text has at most {MAX_TEXT_LENGTH}"))
        return None
    for i, ch in enumerate(text):
        if ch != "\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            problems.append(Problem("plate", "plate.control_character",
                                    f"control or invisible character U+{ord(ch):04X} at position {i}"))
            return None
    normal = " ".join(unicodedata.normalize("NFKC", text).split())
    if not normal:
        problems.append(Problem("plate", "plate.empty", "the plate text is empty"))
        return None
    first_digit = next((i for i, ch in enumerate(normal) if "0" <= ch <= "9"), None)
    if first_digit is None:
        problems.append(Problem("plate", "plate.shape",
                                f"{normal!r} has no class number or serial digits (expected e.g. 品川 300 さ 12-34)"))
        return None
    region = normal[:first_digit].strip()
    rest = normal[first_digit:].upper()
    m = _REST.match(rest)
    if m is None:
        if _NO_KANA.match(rest):
            problems.append(Problem("kana", "kana.missing", "the kana is missing between class number and serial"))
        else:
            problems.append(Problem("plate", "plate.shape",
                                    f"cannot split {normal!r} into region, class number, kana and serial"
                                    " (expected e.g. 品川 300 さ 12-34)"))
        if not region:
            problems.append(Problem("region", "region.missing", "the region name is missing"))
        return None
    return region, m["class_number"], m["kana"], m["serial"]


_SERIAL_CHARS = re.escape("0123456789" + DOT_LOOKALIKES + HYPHEN_LOOKALIKES)
_REST = re.compile(rf"^(?P<class_number>[0-9][0-9A-Z]*)\s*(?P<kana>[^\s{_SERIAL_CHARS}])\s*(?P<serial>.+)$")
_NO_KANA = re.compile(rf"^[0-9][0-9A-Z]*\s+[{_SERIAL_CHARS}]+$")


@dataclass
class _Assessment:
    region_printed: str = ""
    color: Color | None = None
    meaning: PlateMeaning | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _assess(region: object, class_number: object, kana: object, number: object, color: object) -> _Assessment:
    """Check each field, then how they agree; collect every problem instead of stopping at one."""
    out = _Assessment()
    for name, value in (("region", region), ("class_number", class_number), ("kana", kana)):
        if not isinstance(value, str):
            out.errors.append(Problem(name, f"{name}.type", f"expected text, got {type(value).__name__}"))
    if out.errors:
        return out

    match = None
    try:
        match = region_table().lookup(region)
        out.region_printed = match.written if match.historical else match.region.name
        if match.historical:
            out.warnings.append(Problem("region", "region.historical",
                                        f"{match.written} is an old label, today {match.region.name}"))
    except UnknownRegion as exc:
        hint = f" (did you mean {' or '.join(exc.suggestions)}?)" if exc.suggestions else ""
        rule = "region.missing" if not region.strip() else "region.unknown"
        out.errors.append(Problem("region", rule, exc.reason + hint))

    rules = class_number_rules()
    grammar = rules.grammar_error(class_number)
    if grammar:
        out.errors.append(Problem("class_number", "class_number.form", grammar))

    kanas = kana_table()
    why_not = kanas.why_not_kana(kana)
    if why_not:
        out.errors.append(Problem("kana", "kana.unknown", why_not))

    if number is not None:
        try:
            format_serial(number)
        except SerialError as exc:
            out.errors.append(Problem("serial", "serial.range", str(exc)))

    if color is not None and not isinstance(color, Color):
        try:
            color = Color.parse(str(color))
        except ValueError as exc:
            out.errors.append(Problem("color", "color.unknown", str(exc)))
            color = None
    out.color = color

    if out.errors or number is None or match is None:
        return out
    vehicle_class, use = _agree(class_number, kana, color, out)
    if out.errors:
        return out
    if vehicle_class is not None:
        doubt = rules.doubt(class_number, vehicle_class)
        if doubt:
            out.warnings.append(Problem("class_number", "class_number.unverified", doubt))
        kana_doubt = kanas.uncertain.get((vehicle_class, kana))
        if kana_doubt:
            out.warnings.append(Problem("kana", "kana.unverified", f"{kana} on a kei plate: {kana_doubt}"))
    implied_color = color
    if implied_color is None and vehicle_class is not None and use is not None:
        implied_color = plain_color(vehicle_class, use)
    out.meaning = PlateMeaning(
        region=match.region,
        historical_label=match.historical,
        vehicle_class=vehicle_class,
        use=use,
        kind=rules.kind(class_number, vehicle_class),
        color=implied_color,
    )
    return out


def _agree(class_number: str, kana: str, color: Color | None,
           out: _Assessment) -> tuple[VehicleClass | None, Use | None]:
    """Decide numbering system and use from colour, class number and kana; record disagreements."""
    rules, kanas = class_number_rules(), kana_table()
    implied = rules.implied_class(class_number)

    if color is None:
        candidates = [vc for vc in VehicleClass
                      if (implied is None or implied is vc) and kanas.use_of(kana, vc) is not None]
        if not candidates:
            used_on = " and ".join(vc.value for vc in kanas.classes_using(kana))
            out.errors.append(Problem("kana", "kana.vehicle_class",
                                      f"{kana} is used only on {used_on} plates, but class number"
                                      f" {class_number} is a {implied.value} class"))
            return None, None
        if len(candidates) == 1:
            return candidates[0], kanas.use_of(kana, candidates[0])
        uses = {kanas.use_of(kana, vc) for vc in candidates}
        return None, uses.pop() if len(uses) == 1 else None

    meaning = MEANINGS[color]
    vehicle_class, allowed_uses = meaning.vehicle_class, meaning.uses
    if color is Color.WHITE and implied is VehicleClass.KEI:
        vehicle_class = VehicleClass.KEI
        out.warnings.append(Problem("color", "color.white_kei",
                                    f"white plate with kei class {class_number}: only the 2019 Rugby World Cup"
                                    " (and possibly Tokyo 2020) design plates are white on kei cars"))
    if color in DESIGN_RIMS and len(class_number) < 3:
        out.errors.append(Problem("class_number", "class_number.design",
                                  f"a {color.value} plate is a design plate (issued since 2017), whose class number"
                                  f" has 3 characters, not {len(class_number)} like {class_number}"))
    conflict = rules.conflict(class_number, vehicle_class)
    if conflict:
        out.errors.append(Problem("class_number", "class_number.color",
                                  f"{conflict}, but the plate is {color.value} ({vehicle_class.value})"))
    use = kanas.use_of(kana, vehicle_class)
    if use is None:
        elsewhere = kanas.classes_using(kana)
        where = " and ".join(vc.value for vc in elsewhere)
        out.errors.append(Problem("kana", "kana.color",
                                  f"{kana} is not used on {vehicle_class.value} plates ({color.value});"
                                  f" it is a {where} kana"))
        return vehicle_class, None
    if use not in allowed_uses:
        expected = plain_color(vehicle_class, use).value
        out.errors.append(Problem("kana", "kana.color",
                                  f"{kana} marks a {use.value} {vehicle_class.value} vehicle, whose plate is"
                                  f" {expected}, but the plate is {color.value}"))
    return vehicle_class, use
