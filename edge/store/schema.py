"""The schema, as numbered migrations; ``PRAGMA user_version`` holds the version a database is at.

Each migration runs in one transaction with the version bump, so a database is always at one
version or the next, never half-way. A database newer than this code is refused, not touched.
"""

from __future__ import annotations

import sqlite3

from edge.plates.reading import READ_FIELDS

# Version 1: the read event (DESIGN.md) with every field and its confidence, the fused and the
# single-frame reading, evidence paths.
_V1 = f"""
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    lane TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    first_frame INTEGER, last_frame INTEGER, emitted_frame INTEGER,
    emitted TEXT NOT NULL,
    frames_seen INTEGER NOT NULL, frames_used INTEGER NOT NULL,
    text TEXT,
    {", ".join(f"{name} TEXT, {name}_confidence REAL" for name in READ_FIELDS)},
    number INTEGER, category TEXT, valid INTEGER NOT NULL, confidence REAL NOT NULL,
    single_text TEXT, single_confidence REAL, single_fields TEXT,
    vehicle TEXT, direction TEXT, quad TEXT,
    frame_image TEXT, plate_image TEXT, evidence_bytes INTEGER NOT NULL DEFAULT 0, evidence_note TEXT,
    created REAL NOT NULL
);
CREATE INDEX events_first_seen ON events (first_seen);
CREATE INDEX events_text ON events (text);
"""

# Version 2: the gate's decision and its reason on the event (log-only until a gate is set).
_V2 = """
ALTER TABLE events ADD COLUMN decision TEXT NOT NULL DEFAULT 'log-only';
ALTER TABLE events ADD COLUMN decision_reason TEXT;
"""

# Version 3: the allow-list, and what the relay did after a decision to open.
_V3 = """
CREATE TABLE allow_list (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,           -- canonical, as PlateText.format() writes it
    color TEXT NOT NULL DEFAULT '', -- '' for any colour
    label TEXT NOT NULL DEFAULT '',
    valid_from REAL, valid_until REAL,
    added_by TEXT NOT NULL DEFAULT '',
    added REAL NOT NULL,
    UNIQUE (text, color)
);
ALTER TABLE events ADD COLUMN relay TEXT;
ALTER TABLE events ADD COLUMN relay_at REAL;   -- wall clock when the relay was switched on
ALTER TABLE events ADD COLUMN listed_label TEXT;
ALTER TABLE events ADD COLUMN emitted_at REAL; -- wall clock when the lane loop emitted the event
"""

# Version 4: the outbox of messages still to deliver off the box (edge/publish), one row per
# message and sink, written in the event's own transaction; a row goes when its sink has
# acknowledged it, or with its event (retention), so the outbox is bounded as the events are.
_V4 = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    sink TEXT NOT NULL,           -- mqtt | webhook
    kind TEXT NOT NULL,           -- event | relay
    payload TEXT NOT NULL,        -- JSON, exactly as delivered
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (sink, id);
CREATE INDEX outbox_event ON outbox (event_id);
CREATE TRIGGER outbox_follows_events AFTER DELETE ON events
BEGIN
    DELETE FROM outbox WHERE event_id = OLD.event_id;
END;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4)
VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database is of a newer schema than this code, or not one of ours."""


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the database to ``VERSION``; returns the version it was at."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > VERSION:
        raise SchemaError(f"{path}: schema version {found} is newer than this anpr knows ({VERSION}); "
                          "upgrade anpr, or point store.path at another file")
    if found == 0:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables:
            raise SchemaError(f"{path}: holds tables ({', '.join(sorted(tables))}) but no anpr schema version; "
                              "not an anpr database")
    for version in range(found + 1, VERSION + 1):
        # executescript commits first; the BEGIN..COMMIT makes the step and its version one transaction
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[version - 1]}\nPRAGMA user_version = {version};\nCOMMIT;")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return found
