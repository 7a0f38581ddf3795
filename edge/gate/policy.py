"""Whether the barrier opens for a read event: fail closed.

``allow-list`` mode opens only for a plate that is on the list and valid now, and whose every
field cleared ``gate.min_field_confidence``. The colour is checked for what it says of the
vehicle, its category (``kei/private``, ``registered/commercial``...), where the camera could
see it: the category read must clear the threshold and match a listed colour's. A plate's faces
of one category are the same registration (a kei car's yellow plate swapped for a design plate
keeps its number), and two of them differ only by a 3-5 mm rim (a design-yellow plate and a
white kei one), often hidden by the plate's holder or too thin to see: the gate neither opens
nor refuses on a colour nobody could see. ``open-all`` opens for every vehicle (a toll lane that
logs and opens); ``log-only`` never opens.

One named tolerance may be set: ``serial-digit`` opens when the serial alone is under the
threshold (but at least ``gate.tolerance_floor``), every other field is sure, the plate read is
on the list, and no other listed plate is one character away from it in any field. Which
characters the reader confuses (3/8, 6/9, 1/7, ま/よ, ね/れ/わ, region names that share a kanji)
is a subset of "one character away", so the tolerance can never open for a different listed
plate than the one read.

Cooldowns: the same plate is not opened for again within ``cooldown_plate_seconds`` (a car
read twice at the barrier), and no pulse follows another within ``cooldown_gate_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.events import ListedPlate, ReadEvent
from edge.gate.config import GateConfig
from edge.plates import FIELDS, PlateText

ACTIONS = ("open", "deny", "log", "skip")  # skip: would open, but a cooldown says it just did


@dataclass(frozen=True)
class Decision:
    action: str  # one of ACTIONS
    reason: str
    listed: ListedPlate | None = None

    @property
    def opens(self) -> bool:
        return self.action == "open"


def _key(plate: PlateText) -> tuple:
    return (plate.region, plate.class_number, plate.kana, plate.number)


def one_character_apart(a: PlateText, b: PlateText) -> bool:
    """Two plates alike but for one character of one field (a region name counts when the two
    names are as long and share a kanji)."""
    differing = [name for name in FIELDS if getattr(a, name) != getattr(b, name)]
    if len(differing) != 1:
        return False
    x, y = getattr(a, differing[0]), getattr(b, differing[0])
    if differing[0] == "region":
        return len(x) == len(y) and bool(set(x) & set(y))
    return len(x) == len(y) and sum(c != d for c, d in zip(x, y)) == 1


class GatePolicy:
    """Decisions for one gate; remembers its last openings for the cooldowns."""

    def __init__(self, config: GateConfig):
        self.config = config
        self._opened: dict[tuple, float] = {}  # plate key -> when it was last opened for
        self._last_pulse: float | None = None

    def decide(self, event: ReadEvent, listed: list[ListedPlate], now: float) -> Decision:
        c = self.config
        if c.mode == "log-only":
            return Decision("log", "log-only mode")
        if c.mode == "open-all":
            return self._cooled(Decision("open", "open-all mode"), None, now)
        r = event.reading
        missing = [name for name in FIELDS if r.fields[name].value is None]
        if missing:
            return Decision("deny", f"not read: {', '.join(missing)}")
        plate = PlateText(*(r.fields[n].value for n in ("region", "class_number", "kana")), r.number)
        unsure = [f"{'category (colour)' if name == 'category' else name} {confidence:.2f}"
                  for name, confidence in r.unsure(c.min_field_confidence, event.color_seen).items()]
        category, color = r.category_reading, r.fields["color"].value
        candidates = [e for e in listed if _key(e.plate) == _key(plate)]
        if not candidates:
            return Decision("deny", "not on the allow-list" + (f" (and unsure: {', '.join(unsure)})" if unsure else ""))
        valid = [e for e in candidates if e.valid_at(now)]
        if not valid:
            return Decision("deny", "on the allow-list but not valid now", candidates[0])
        if event.color_seen and category.value is not None:
            valid = [e for e in valid if e.plate.color is None or e.plate.meaning.category == category.value]
            if not valid:
                return Decision("deny", f"listed with a colour of another category than the {category.value} read "
                                        f"({color or 'face unsure'})", candidates[0])
        entry = valid[0]
        if unsure:
            tolerated = self._tolerated(event, plate, listed, unsure)
            if tolerated is None:
                return Decision("deny", f"under the threshold {c.min_field_confidence}: {', '.join(unsure)}", entry)
            return self._cooled(Decision("open", tolerated, entry), _key(plate), now)
        if not event.color_seen:
            seen = " (colour not seen: not checked)"
        elif entry.plate.color is not None and entry.plate.color.value != color:
            seen = f" (listed {entry.plate.color.value}, face read {color or 'unsure'}: both {category.value})"
        else:
            seen = ""
        return self._cooled(Decision("open", f"listed{': ' + entry.label if entry.label else ''}{seen}", entry),
                            _key(plate), now)

    def _tolerated(self, event: ReadEvent, plate: PlateText, listed: list[ListedPlate], unsure: list[str]) -> str | None:
        """The reason the tolerance opens, or None when it does not apply."""
        c = self.config
        serial = event.reading.fields["serial"].confidence
        if c.tolerance != "serial-digit" or len(unsure) != 1 or not unsure[0].startswith("serial") \
                or serial < c.tolerance_floor:
            return None
        if any(one_character_apart(plate, e.plate) for e in listed):
            return None  # a listed plate one character away: the unsure serial might be that one
        return f"tolerance serial-digit: serial read at {serial:.2f}, no listed plate one character away"

    def _cooled(self, decision: Decision, key: tuple | None, now: float) -> Decision:
        c = self.config
        if key is not None and key in self._opened and now - self._opened[key] < c.cooldown_plate_seconds:
            return Decision("skip", f"{decision.reason}; opened for {now - self._opened[key]:.1f} s ago", decision.listed)
        if self._last_pulse is not None and now - self._last_pulse < c.cooldown_gate_seconds:
            return Decision("skip", f"{decision.reason}; gate pulsed {now - self._last_pulse:.1f} s ago",
                            decision.listed)
        if key is not None:
            self._opened[key] = now
        self._last_pulse = now
        return decision
