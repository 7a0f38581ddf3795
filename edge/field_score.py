"""Scoring plate readings against labels: per-field accuracy, exact match, the commonest
mistakes, calibration (reliability) and grammar checks of what was output.

Labels use real-dev's conventions: ``?`` marks a field (or, in a serial, a digit) not readable
with certainty and ``n/a`` one the plate type does not have; such fields are not scored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from edge.plates import FIELDS, Color, PlateText, PlateTextError, class_number_rules, kana_table, region_table
from edge.plates.reading import READ_FIELDS, Reading, category_of
from edge.plates.serial import SerialError, parse_serial

SURE = 0.99  # issue 13: no field given at this confidence or more may be wrong (the reliability top bin)
GATE_THRESHOLD = 0.95  # gate.min_field_confidence's default: a category read wrong at this or more could act
# confidence bins of the reliability table: [low, high)
RELIABILITY_BINS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, SURE), (SURE, 1.01))


def known(label: str) -> bool:
    """Whether a labelled field can be scored."""
    return bool(label) and label != "n/a" and "?" not in label


def same(name: str, label: str, value: str | None) -> bool:
    """Whether ``value`` (None: not read) is the labelled field; serials compare as numbers."""
    if value is None:
        return False
    if name == "serial":
        try:
            return parse_serial(label) == parse_serial(value)
        except SerialError:
            return False
    return value == label


def grammar_problems(plate: dict) -> list[str]:
    """What is impossible in a plate as output by ``anpr read`` (fields may be null): each field
    must be one the rules allow, and class number, kana and colour must agree when all given."""
    problems = []
    region, class_number, kana, serial, color = (plate.get(k) for k in READ_FIELDS)
    if region is not None:
        try:
            region_table().lookup(region)
        except ValueError as exc:
            problems.append(f"region: {exc}")
    if class_number is not None and (why := class_number_rules().grammar_error(class_number)):
        problems.append(f"class_number: {why}")
    if kana is not None and (why := kana_table().why_not_kana(kana)):
        problems.append(f"kana: {why}")
    if serial is not None:
        try:
            parse_serial(serial)
        except SerialError as exc:
            problems.append(f"serial: {exc}")
    if color is not None and color not in {c.value for c in Color}:
        problems.append(f"color: {color!r} is not a plate colour")
    if not problems and None not in (class_number, kana, color):
        try:
            PlateText(region or "品川", class_number, kana, parse_serial(serial) if serial else 1, Color(color))
        except PlateTextError as exc:
            problems.append(str(exc))
    # a plate seen without colour (infrared, monochrome) is complete without it
    needed = READ_FIELDS if plate.get("color_seen", True) else READ_FIELDS[:4]
    if plate.get("valid") and any(plate.get(k) is None for k in needed):
        problems.append("marked valid with a field missing")
    return problems


def labelled_category(fields: dict[str, str]) -> str | None:
    """The category (``kei/private``...) a labelled plate's class number, kana and colour give;
    None where one of them is not scored or they do not make a valid plate (a pasted dummy)."""
    if not all(known(fields[k]) for k in ("class_number", "kana", "color")):
        return None
    return category_of(fields["class_number"], fields["kana"], fields["color"])


@dataclass
class CategoryTally:
    """The plate's category as read (``Reading.category_reading``: what the gate checks of the
    colour) against the labelled one: right, withheld, and wrong at the gate's default threshold
    (0.95) or at ``SURE``."""

    scored: int = 0
    right: int = 0
    withheld: int = 0
    wrong_at_gate: int = 0
    wrong_sure: int = 0

    def add(self, label: str, value: str | None, confidence: float) -> None:
        self.scored += 1
        if value is None:
            self.withheld += 1
        elif value == label:
            self.right += 1
        else:
            self.wrong_at_gate += confidence >= GATE_THRESHOLD
            self.wrong_sure += confidence >= SURE

    def to_dict(self) -> dict:
        return {"scored": self.scored, "right": self.right, "withheld": self.withheld,
                f"wrong_at_{GATE_THRESHOLD}": self.wrong_at_gate, f"wrong_at_{SURE}": self.wrong_sure}


@dataclass
class GateTally:
    """What the gate would make of each readable plate found, its reading on its own
    (edge/gate/policy.py before it looks at the allow-list): the reading is *taken* where every
    printed field was read at GATE_THRESHOLD or more and, where the colour was seen, the category
    too; a taken reading that differs from the label in a printed field or the category is *taken
    wrong*: were the plate read on the allow-list, the gate would open for a car that does not
    carry it. Plates with a printed field not labelled (``?``, ``n/a``) are not counted."""

    plates: int = 0
    taken: int = 0
    taken_wrong: int = 0

    def add(self, labels: dict[str, str], reading: Reading, color_seen: bool) -> list[str]:
        """One labelled plate and its reading; the fields (``category`` among them) a taken
        reading got wrong, [] where it was right or not taken."""
        if not all(known(labels[name]) for name in FIELDS):
            return []
        self.plates += 1
        if reading.unsure(GATE_THRESHOLD, color_seen):
            return []
        self.taken += 1
        wrong = [name for name in FIELDS if not same(name, labels[name], reading.fields[name].value)]
        truth = labelled_category(labels)
        if color_seen and truth is not None and reading.category != truth:
            wrong.append("category")
        self.taken_wrong += bool(wrong)
        return wrong

    def to_dict(self) -> dict:
        return {"plates": self.plates, "taken": self.taken, "taken_wrong": self.taken_wrong}


@dataclass
class FieldTally:
    """Accumulates one reader's results on labelled plates."""

    fields: tuple[str, ...] = READ_FIELDS
    plates: int = 0
    exact: int = 0
    right: Counter = field(default_factory=Counter)
    scored: Counter = field(default_factory=Counter)
    withheld: Counter = field(default_factory=Counter)  # given as null
    mistakes: Counter = field(default_factory=Counter)  # (field, label, read) -> count
    seconds: float = 0.0
    timed_plates: int = 0

    def add(self, labels: dict[str, str], values: dict[str, str | None] | None) -> bool:
        """One labelled plate and what was read (None: the plate was not found); whether every
        scored field was read right."""
        self.plates += 1
        all_right = True
        for name in self.fields:
            if not known(labels[name]):
                continue
            value = None if values is None else values.get(name)
            self.scored[name] += 1
            if same(name, labels[name], value):
                self.right[name] += 1
                continue
            all_right = False
            if values is not None and value is None:
                self.withheld[name] += 1
            self.mistakes[(name, labels[name], "not found" if values is None else value or "null")] += 1
        self.exact += all_right
        return all_right

    def timed(self, seconds: float) -> None:
        """Time spent reading one plate."""
        self.seconds += seconds
        self.timed_plates += 1

    def accuracy(self, name: str) -> float | None:
        return self.right[name] / self.scored[name] if self.scored[name] else None

    def given_wrong(self, name: str) -> int:
        """The field given (not withheld) on a found plate, and wrong: what can open a gate wrongly."""
        return sum(c for (f, _, read), c in self.mistakes.items() if f == name and read not in ("not found", "null"))

    @property
    def exact_match(self) -> float | None:
        return self.exact / self.plates if self.plates else None

    @property
    def ms_per_plate(self) -> float | None:
        return 1e3 * self.seconds / self.timed_plates if self.timed_plates else None

    def commonest(self, n: int = 10) -> list[tuple[str, str, str, int]]:
        return [(f, label, value, count) for (f, label, value), count in self.mistakes.most_common(n)]

    def to_dict(self) -> dict:
        return {"plates": self.plates, "exact_match": rounded(self.exact_match), "exact": self.exact,
                "field_accuracy": {name: rounded(self.accuracy(name)) for name in self.fields},
                "right": dict(self.right), "scored": dict(self.scored), "withheld": dict(self.withheld),
                "given_wrong": {name: self.given_wrong(name) for name in self.fields},
                "ms_per_plate": rounded(self.ms_per_plate, 1),
                "mistakes": [{"field": f, "label": label, "read": value, "count": c}
                             for f, label, value, c in self.commonest(20)]}


@dataclass
class Reliability:
    """Confidence against accuracy: is a field read at 0.9 right 9 times in 10?"""

    samples: list[tuple[float, bool]] = field(default_factory=list)

    def add(self, confidence: float, right: bool) -> None:
        self.samples.append((float(confidence), bool(right)))

    def rows(self) -> list[dict]:
        out = []
        for low, high in RELIABILITY_BINS:
            inside = [(c, r) for c, r in self.samples if low <= c < high]
            if inside:
                out.append({"confidence": f"{low:.2f}-{min(high, 1.0):.2f}", "fields": len(inside),
                            "mean_confidence": round(sum(c for c, _ in inside) / len(inside), 3),
                            "accuracy": round(sum(r for _, r in inside) / len(inside), 3),
                            "wrong": sum(not r for _, r in inside)})
        return out

    def calibration_error(self) -> float | None:
        """Expected calibration error: the fields-weighted gap between confidence and accuracy."""
        if not self.samples:
            return None
        n = len(self.samples)
        return round(sum(row["fields"] / n * abs(row["mean_confidence"] - row["accuracy"]) for row in self.rows()), 4)


def rounded(v, digits=4):
    """A figure for a report: rounded, or None when there is none."""
    return None if v is None else round(float(v), digits)
