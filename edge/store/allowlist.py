"""The allow-list in the event database: plates (validated by the plate grammar, colour
optional), a label, when each is valid, and who added it. The daemon reads it at every decision,
so a change made with ``anpr allow`` counts at once, without a restart.

``import_csv`` is all or nothing: one bad line refuses the whole file, and the error names every
bad line with the rule it breaks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from dataclasses import dataclass

from edge.events import ListedPlate
from edge.plates import Color, PlateText, PlateTextError
from edge.store.db import EventStore, StoreError

CSV_COLUMNS = ("plate", "color", "label", "valid_from", "valid_until", "added_by")


class AllowListError(ValueError):
    """A plate or a file the allow-list refuses; the message names each problem (and line)."""


def parse_day(text: str, end: bool = False) -> float:
    """``2026-12-31`` (the whole day, local time: its end when ``end``) or an ISO time."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (2026-12-31) or an ISO time (2026-12-31T18:00+09:00)") from None
    return (moment if moment.tzinfo else moment.astimezone()).timestamp()


def entry(text: str, color: str | None = None, label: str = "", valid_from: str | None = None,
          valid_until: str | None = None, added_by: str = "") -> ListedPlate:
    """A validated entry, or AllowListError naming each problem."""
    problems = []
    plate = None
    try:
        plate = PlateText.parse(text, Color.parse(color) if color else None)
    except PlateTextError as exc:
        problems += [str(p) for p in exc.problems]
    except ValueError as exc:
        problems.append(f"color: {exc}")
    times = {}
    for key, value, end in (("valid_from", valid_from, False), ("valid_until", valid_until, True)):
        if value:
            try:
                times[key] = parse_day(value, end)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
    if not problems and times.get("valid_from") and times.get("valid_until") and times["valid_until"] < times["valid_from"]:
        problems.append("valid_until: before valid_from")
    if problems:
        raise AllowListError("; ".join(problems))
    return ListedPlate(plate, label.strip(), times.get("valid_from"), times.get("valid_until"), added_by.strip())


def _row(e: ListedPlate) -> dict:
    return {"text": e.plate.format(), "color": e.plate.color.value if e.plate.color else "", "label": e.label,
            "valid_from": e.valid_from, "valid_until": e.valid_until, "added_by": e.added_by, "added": time.time()}


def _listed(row: dict) -> ListedPlate:
    plate = PlateText.parse(row["text"], row["color"] or None)
    return ListedPlate(plate, row["label"], row["valid_from"], row["valid_until"], row["added_by"])


@dataclass
class AllowList:
    store: EventStore

    def add(self, e: ListedPlate) -> bool:
        """Add or update (the same plate and colour); True when it was new."""
        row = _row(e)
        existing = self.store.conn.execute("SELECT id FROM allow_list WHERE text = ? AND color = ?",
                                           (row["text"], row["color"])).fetchone()
        with self.store.db.atomic():
            self.store.db["allow_list"].insert(row, replace=True)  # the same plate and colour: replaced
        return existing is None

    def remove(self, text: str, color: str | None = None) -> int:
        """Remove a plate (every colour of it unless ``color``); how many entries went."""
        try:
            plate = PlateText.parse(text)
        except PlateTextError as exc:
            raise AllowListError(str(exc)) from None
        args = [plate.format()] + ([Color.parse(color).value] if color else [])
        cursor = self.store.conn.execute("DELETE FROM allow_list WHERE text = ?" + (" AND color = ?" if color else ""),
                                         args)
        return cursor.rowcount

    def entries(self) -> list[ListedPlate]:
        return [_listed(r) for r in self.store.db["allow_list"].rows_where(order_by="text, color")]

    def import_csv(self, data: str, name: str = "file") -> int:
        """Every line of a CSV (columns: CSV_COLUMNS, ``plate`` required), all or nothing."""
        reader = csv.DictReader(io.StringIO(data))
        if not reader.fieldnames or "plate" not in [f.strip() for f in reader.fieldnames]:
            raise AllowListError(f"{name}: needs a header line with at least the column 'plate' "
                                 f"(columns: {', '.join(CSV_COLUMNS)})")
        unknown = [f for f in reader.fieldnames if f.strip() not in CSV_COLUMNS]
        if unknown:
            raise AllowListError(f"{name}: unknown column(s) {', '.join(unknown)}; known: {', '.join(CSV_COLUMNS)}")
        good, bad = [], []
        for number, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if not any(row.values()) or row.get("plate", "").startswith("#"):
                continue
            try:
                good.append(entry(row.get("plate", ""), row.get("color") or None, row.get("label", ""),
                                  row.get("valid_from") or None, row.get("valid_until") or None, row.get("added_by", "")))
            except AllowListError as exc:
                bad.append(f"{name}:{number}: {row.get('plate', '')!r}: {exc}")
        if bad:
            raise AllowListError(f"{name}: {len(bad)} bad line(s), nothing imported:\n" + "\n".join(bad))
        with self.store.db.atomic():
            for e in good:
                self.add(e)
        return len(good)

    def export_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        iso = lambda t: "" if t is None else dt.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")  # noqa: E731
        for e in self.entries():
            writer.writerow({"plate": e.plate.format(), "color": e.plate.color.value if e.plate.color else "",
                             "label": e.label, "valid_from": iso(e.valid_from), "valid_until": iso(e.valid_until),
                             "added_by": e.added_by})
        return out.getvalue()


__all__ = ["AllowList", "AllowListError", "StoreError", "entry", "parse_day"]
