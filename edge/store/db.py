"""The event store: one SQLite file in WAL mode, ``synchronous=FULL``, a busy timeout, written
through sqlite-utils over the connection opened here.

``EventStore.add(event)`` writes the event's pictures first (durably, edge/store/evidence.py),
then commits its row: a committed row survives a power cut or ``kill -9``, and every picture it
names is whole. A full disk keeps the row and drops the pictures, and says so on the row.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from edge.events import ReadEvent
from edge.plates.reading import READ_FIELDS
from edge.store import evidence as pictures
from edge.store import outbox
from edge.store.config import StoreConfig
from edge.store.schema import SchemaError, migrate


class StoreError(RuntimeError):
    """The database cannot be opened or written; the message names the file and why."""


class StoreBusy(StoreError):
    """Another process holds the database's write lock past the busy timeout: try again later."""


@dataclass(frozen=True)
class Stored:
    """What the store did with an event: its row id, and the pictures kept or why not."""

    row_id: int
    frame_image: str | None
    plate_image: str | None
    evidence_note: str | None
    decision: str = "log-only"
    decision_reason: str | None = None


def _failed(path, exc: sqlite3.OperationalError, doing: str) -> StoreError:
    """The store's error for a failed statement: StoreBusy when another process holds the lock
    (the caller tries again), else StoreError saying what could not be done."""
    if "locked" in str(exc) or "busy" in str(exc):
        return StoreBusy(f"{path}: the database is locked by another process ({exc})")
    return StoreError(f"{path}: cannot {doing} ({exc})")


def connect(path: str | Path, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """A connection to ``path`` set up for durable events (WAL, synchronous=FULL, busy timeout)."""
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"{path}: cannot use WAL journaling here (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.OperationalError as exc:
        raise _failed(path, exc, "open the database") from exc
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not an SQLite database, or damaged ({exc})") from exc
    return conn


def _iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")


class EventStore:
    """The lane's events: ``add``, ``close_track``, ``retain``, ``rows``, ``search``.

    ``sinks`` (edge/store/outbox.SINKS) are where each event and relay outcome is also to be
    delivered: their outbox rows are written in the same transaction as the event."""

    def __init__(self, config: StoreConfig, report=None, sinks: tuple[str, ...] = ()):
        unknown = set(sinks) - set(outbox.SINKS)
        if unknown:
            raise ValueError(f"unknown sink(s) {sorted(unknown)}; known: {', '.join(outbox.SINKS)}")
        self.config, self.sinks = config, tuple(sinks)
        self.path = Path(config.path)
        self.report = report or (lambda message: None)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path.parent}: cannot make the database's folder ({exc.strerror or exc})") from exc
        self.conn = connect(self.path, config.busy_timeout_ms)
        try:
            migrate(self.conn, str(self.path))
        except SchemaError as exc:
            self.conn.close()
            raise StoreError(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            self.conn.close()
            raise _failed(self.path, exc, "set up the schema") from exc
        self.db = sqlite_utils.Database(self.conn)
        self.evidence_root = Path(config.evidence_dir) if config.evidence_dir else \
            self.path.with_name(self.path.stem + "-evidence")

    def close(self) -> None:
        self.conn.close()

    # -- writing -------------------------------------------------------------------------------

    def _write_pictures(self, event: ReadEvent) -> tuple[str | None, str | None, int, str | None]:
        if not self.config.evidence:
            return None, None, 0, "evidence off (store.evidence = false)"
        if event.evidence is None:
            return None, None, 0, "no picture with this event"
        day = dt.datetime.fromtimestamp(event.first_seen).strftime("%Y-%m-%d")
        names = (f"{day}/{event.event_id}-frame.jpg", f"{day}/{event.event_id}-plate.jpg")
        paths = [self.evidence_root / name for name in names]
        if all(path.is_file() for path in paths):  # written by an attempt the locked database refused
            return names[0], names[1], sum(path.stat().st_size for path in paths), None
        written, size = [], 0
        try:
            for name, image in zip(names, (event.evidence.frame, event.evidence.plate)):
                size += pictures.write_jpeg(self.evidence_root / name, image, self.config.jpeg_quality)
                written.append(name)
        except pictures.EvidenceError as exc:
            pictures.remove(self.evidence_root, written)
            full = "No space left" in str(exc) or getattr(exc, "errno", None) == 28
            note = ("evidence dropped: disk full" if full else "evidence dropped: cannot write it") + f" ({exc})"
            self.report(f"event {event.event_id}: {note}; the event row is kept")
            return None, None, 0, note
        return names[0], names[1], size, None

    def add(self, event: ReadEvent, decision: str = "log-only", reason: str | None = None,
            listed_label: str | None = None) -> Stored:
        """Write the event's pictures, then commit its row. StoreBusy when the database stays
        locked (the caller keeps the event and tries again); StoreError for anything else."""
        frame_image, plate_image, size, note = self._write_pictures(event)
        d = event.to_dict()
        row = {
            "event_id": event.event_id, "lane": event.lane, "first_seen": event.first_seen,
            "last_seen": event.last_seen, "first_frame": event.first_frame, "last_frame": event.last_frame,
            "emitted_frame": event.emitted_frame, "emitted": event.emitted, "frames_seen": event.frames_seen,
            "frames_used": event.frames_used, "text": event.text,
            **{name: d[name] for name in READ_FIELDS},
            **{f"{name}_confidence": d["fields"][name]["confidence"] for name in READ_FIELDS},
            "number": d["number"], "category": d["category"], "valid": int(d["valid"]),
            "confidence": d["confidence"], "single_text": d["single_frame"]["text"],
            "single_confidence": d["single_frame"]["confidence"],
            "single_fields": json.dumps(d["single_frame"]["fields"], ensure_ascii=False), "vehicle": event.vehicle,
            "direction": event.direction, "quad": json.dumps(d["quad"]),
            "frame_image": frame_image, "plate_image": plate_image, "evidence_bytes": size,
            "evidence_note": note, "decision": decision, "decision_reason": reason, "listed_label": listed_label,
            "emitted_at": event.emitted_at or None,
            "created": time.time(),
        }
        try:
            # IMMEDIATE: take the write lock first, so a lock held elsewhere shows here, before any work
            self.conn.execute("BEGIN IMMEDIATE")
            self.db["events"].insert(row)  # sqlite-utils >= 4 nests its own savepoint in our transaction
            row_id = self.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            outbox.queue(self.conn, self.sinks, event.event_id, "event", event_message(row))
            self.conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            self._rollback()
            row_id = self.conn.execute("SELECT id FROM events WHERE event_id = ?", (event.event_id,)).fetchone()[0]
        except sqlite3.OperationalError as exc:
            self._rollback()
            error = _failed(self.path, exc, "write the event")
            if not isinstance(error, StoreBusy):  # busy: the retry names the same pictures
                pictures.remove(self.evidence_root, [frame_image, plate_image])
            raise error from exc
        return Stored(int(row_id), frame_image, plate_image, note, decision, reason)

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def set_relay(self, event_id: str, outcome: str, at: float | None = None) -> None:
        """What the relay did after the event's row was committed, and when it switched on; with
        its outbox rows, in one transaction."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            cursor = self.conn.execute("UPDATE events SET relay = ?, relay_at = ? WHERE event_id = ?",
                                       (outcome, at, event_id))
            if cursor.rowcount:
                lane = self.conn.execute("SELECT lane FROM events WHERE event_id = ?", (event_id,)).fetchone()[0]
                outbox.queue(self.conn, self.sinks, event_id, "relay",
                             {"event_id": event_id, "lane": lane, "relay": outcome, "relay_at": _iso(at)})
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise _failed(self.path, exc, "store the relay's outcome") from exc

    def close_track(self, event_id: str, last_seen: float, last_frame: int, direction: str) -> None:
        """A track that emitted early has ended: its last sighting and direction on its row."""
        try:
            self.conn.execute("UPDATE events SET last_seen = ?, last_frame = ?, direction = ? WHERE event_id = ?",
                              (last_seen, last_frame, direction, event_id))
        except sqlite3.OperationalError as exc:
            raise _failed(self.path, exc, "update the event") from exc

    # -- retention -----------------------------------------------------------------------------

    def used_bytes(self) -> int:
        """The database's pages in use plus the pictures its rows name."""
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0] - self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        pictures_bytes = self.conn.execute("SELECT COALESCE(SUM(evidence_bytes), 0) FROM events").fetchone()[0]
        return int(page_size * pages + pictures_bytes)

    def retain(self, now: float | None = None) -> dict:
        """Apply retention: rows and pictures older than ``keep_days`` go; then, while over the
        disk budget, the oldest events' pictures, and only when none is left the oldest rows."""
        now = time.time() if now is None else now
        cutoff = now - self.config.keep_days * 86400
        removed = {"rows_by_age": 0, "pictures_by_budget": 0, "rows_by_budget": 0}
        old = self.conn.execute("SELECT id, frame_image, plate_image FROM events WHERE last_seen < ?", (cutoff,)).fetchall()
        for row_id, frame_image, plate_image in old:
            pictures.remove(self.evidence_root, [frame_image, plate_image])
        if old:
            self.conn.execute("DELETE FROM events WHERE last_seen < ?", (cutoff,))
        removed["rows_by_age"] = len(old)
        budget = int(self.config.disk_budget_mb * 1024 * 1024)
        excess = self.used_bytes() - budget
        if excess > 0:  # the oldest events' pictures, just enough of them
            batch, freed = [], 0
            for row_id, frame_image, plate_image, size in self.conn.execute(
                    "SELECT id, frame_image, plate_image, evidence_bytes FROM events WHERE evidence_bytes > 0 "
                    "ORDER BY first_seen, id"):
                batch.append((row_id, frame_image, plate_image))
                freed += size
                if freed >= excess:
                    break
            for row_id, frame_image, plate_image in batch:
                pictures.remove(self.evidence_root, [frame_image, plate_image])
            with self.db.atomic():
                self.conn.executemany("UPDATE events SET frame_image = NULL, plate_image = NULL, evidence_bytes = 0, "
                                      "evidence_note = 'evidence removed: disk budget' WHERE id = ?",
                                      [(r[0],) for r in batch])
            removed["pictures_by_budget"] = len(batch)
        while self.used_bytes() > budget:
            count = self.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            if count == 0:
                break
            self.conn.execute("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY first_seen, id "
                              "LIMIT ?)", (max(1, count // 20),))
            removed["rows_by_budget"] += max(1, count // 20)
        return removed

    # -- reading -------------------------------------------------------------------------------

    def rows(self, since: float | None = None) -> list[dict]:
        """Every event (from ``since``, a time in seconds since the epoch), oldest first."""
        where, args = ("first_seen >= ?", [since]) if since is not None else (None, None)
        return list(self.db["events"].rows_where(where, args, order_by="first_seen, id"))

    def search(self, query: "EventQuery") -> list[dict]:
        """The events ``query`` picks, newest first."""
        where, args = query.where()
        return list(self.db["events"].rows_where(where or None, args, order_by="first_seen DESC, id DESC",
                                                  limit=query.limit, offset=query.offset))

    def event(self, event_id: str) -> dict | None:
        """One event's row, or None."""
        return next(self.db["events"].rows_where("event_id = ?", [event_id]), None)

    def last_event(self) -> dict | None:
        return next(self.db["events"].rows_where(order_by="first_seen DESC, id DESC", limit=1), None)

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


@dataclass(frozen=True)
class EventQuery:
    """Which events to show: by plate (the canonical ``text``, or one field's printed value), by
    time (``since`` inclusive, ``until`` exclusive, seconds since the epoch) and by decision."""

    text: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # (column, value): a plate given only in part
    since: float | None = None
    until: float | None = None
    decision: str | None = None
    limit: int = 200
    offset: int = 0

    def where(self) -> tuple[str, list]:
        clauses, args = [], []
        if self.text is not None:
            clauses.append("text = ?")
            args.append(self.text)
        for column, value in self.fields:
            if column not in READ_FIELDS:
                raise ValueError(f"{column}: not a field ({', '.join(READ_FIELDS)})")
            clauses.append(f"{column} = ?")
            args.append(value)
        for clause, value in (("first_seen >= ?", self.since), ("first_seen < ?", self.until),
                              ("decision = ?", self.decision)):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        return " AND ".join(clauses), args


EXPORT_COLUMNS = ("event_id", "lane", "first_seen", "last_seen", "text", *READ_FIELDS, "number", "category",
                  "valid", "confidence", *(f"{name}_confidence" for name in READ_FIELDS), "vehicle", "direction",
                  "frames_used", "decision", "decision_reason", "frame_image", "plate_image")


def event_message(row: dict) -> dict:
    """An event as it is delivered off the box (MQTT, webhook): the export's columns, with
    ``event_id`` for de-duplication."""
    return {**export_row(row), "emitted": row["emitted"]}


def export_row(row: dict) -> dict:
    """A row as the billing export gives it: times in ISO 8601 with the box's UTC offset."""
    out = {k: row.get(k) for k in EXPORT_COLUMNS}
    out["first_seen"], out["last_seen"] = _iso(row["first_seen"]), _iso(row["last_seen"])
    out["valid"] = bool(row["valid"])
    return out
