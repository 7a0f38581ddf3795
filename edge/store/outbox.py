"""The outbox: messages still to deliver off the box, one row per message and sink.

Rows are written by ``EventStore`` in the same transaction as the event (or the relay outcome)
they carry, so a committed event always has its messages waiting, whatever happens to the
network. A sink (edge/publish) takes the rows that are due, oldest first, and deletes each only
after the far end has acknowledged it: delivery is at least once, and each message carries the
event's ``event_id`` for de-duplication. A failed try pushes the row's next try back (doubling,
up to ``MAX_BACKOFF_SECONDS``), and the sink's later rows wait behind it, so they keep their
order. Rows go with their event when retention deletes it (a trigger), so the outbox is bounded
by the same rules as the events.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

SINKS = ("mqtt", "webhook")
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class Message:
    """One outbox row: what to deliver to one sink."""

    id: int
    event_id: str
    sink: str
    kind: str  # event | relay
    payload: dict
    created: float
    attempts: int


def queue(conn: sqlite3.Connection, sinks: tuple[str, ...], event_id: str, kind: str, payload: dict,
          now: float | None = None) -> None:
    """Add ``payload`` for each of ``sinks``; the caller holds the transaction it belongs to."""
    if not sinks:
        return
    now = time.time() if now is None else now
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    conn.executemany("INSERT INTO outbox (event_id, sink, kind, payload, created, next_try) VALUES (?, ?, ?, ?, ?, ?)",
                     [(event_id, sink, kind, text, now, now) for sink in sinks])


def due(conn: sqlite3.Connection, sink: str, limit: int = 50, now: float | None = None) -> list[Message]:
    """The oldest rows of ``sink``, up to the first whose next try has not come (a row put off
    after a failed try holds back the ones behind it, so a sink gets its messages in order)."""
    now = time.time() if now is None else now
    rows = conn.execute("SELECT id, event_id, sink, kind, payload, created, attempts, next_try FROM outbox "
                        "WHERE sink = ? ORDER BY id LIMIT ?", (sink, limit)).fetchall()
    out = []
    for r in rows:
        if r[7] > now:
            break
        out.append(Message(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]))
    return out


def delivered(conn: sqlite3.Connection, message_id: int) -> None:
    """The far end has acknowledged the message: its row goes."""
    conn.execute("DELETE FROM outbox WHERE id = ?", (message_id,))


def backoff(attempts: int) -> float:
    """Seconds to wait before try ``attempts + 1``: 1, 2, 4, ... up to ``MAX_BACKOFF_SECONDS``."""
    return min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def failed(conn: sqlite3.Connection, message: Message, error: str, now: float | None = None) -> float:
    """A try failed: count it, note why, and put the next try off (and so the sink's later
    messages); returns when that is."""
    now = time.time() if now is None else now
    attempts = message.attempts + 1
    next_try = now + backoff(attempts)
    conn.execute("UPDATE outbox SET attempts = ?, next_try = ?, last_error = ? WHERE id = ?",
                 (attempts, next_try, error[:500], message.id))
    return next_try


def pending(conn: sqlite3.Connection) -> dict[str, dict]:
    """Per sink: messages waiting, the oldest one's age in seconds, and the last error."""
    now = time.time()
    out = {}
    for sink, count, oldest in conn.execute("SELECT sink, COUNT(*), MIN(created) FROM outbox GROUP BY sink"):
        error = conn.execute("SELECT last_error FROM outbox WHERE sink = ? AND last_error IS NOT NULL "
                             "ORDER BY id LIMIT 1", (sink,)).fetchone()
        out[sink] = {"waiting": count, "oldest_s": round(now - oldest, 1), "last_error": error[0] if error else None}
    return out
