"""``anpr db export``: the events as CSV or JSON lines, for a toll operator's billing import."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import time
from typing import TextIO

from edge.store.db import EXPORT_COLUMNS, export_row

FORMATS = ("csv", "jsonl")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_since(text: str, now: float | None = None) -> float:
    """``2026-12-01``, ``2026-12-01T08:00``, ``2026-12-01 08:00:00+09:00`` (local time when no
    offset is given), or a span back from now: ``90s``, ``15m``, ``24h``, ``7d``. ValueError otherwise."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return (time.time() if now is None else now) - seconds
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: give an ISO date or time (2026-12-01, 2026-12-01T08:00, "
                         "with an offset like +09:00 if not local) or a span back from now (15m, 24h, 7d)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()


def write_export(rows: list[dict], fmt: str, out: TextIO) -> int:
    """Write ``rows`` in ``fmt``; returns how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected {' | '.join(FORMATS)}")
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(export_row(row))
    else:
        for row in rows:
            out.write(json.dumps(export_row(row), ensure_ascii=False) + "\n")
    return len(rows)
