"""Writing events off the frame loop: a queue and one thread that owns the database connection.

The frame loop hands an event over and goes on with the next frame; a database locked by
another process (a backup, an operator's query) or a disk that is full for a while never stalls
it. The writer tries again every ``RETRY_SECONDS`` until the write goes through, saying so once
per episode. Nothing is dropped: at shutdown, events that still could not be written after
``drain_seconds`` are appended to ``DB.unsaved.jsonl`` beside the database, and the message
says how many and where.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Callable

from edge.events import ReadEvent, TrackEnded
from edge.store.db import EventStore, Stored, StoreBusy, StoreError

RETRY_SECONDS = 1.0
RETAIN_EVERY_SECONDS = 600.0


class EventWriter:
    """``put(event)`` / ``put(track_ended)`` from the loop.

    For each event: ``decide(event) -> (decision, reason, listed label)`` (the gate's, before the row is
    written, so the row carries it), the row committed, then ``act(event, stored) -> outcome``
    (the relay, only after the commit; its outcome is stored on the row), then
    ``on_stored(event, stored, outcome)``."""

    def __init__(self, store: EventStore, report: Callable[[str], None],
                 on_stored: Callable[[ReadEvent, Stored, str | None], None] | None = None,
                 decide: Callable[[ReadEvent], tuple[str, str | None, str | None]] | None = None,
                 act: Callable[[ReadEvent, Stored], str | None] | None = None):
        self.store, self.report, self.on_stored = store, report, on_stored
        self.decide, self.act = decide, act
        self._decided: dict[str, tuple] = {}  # a decision is made once, even if the write is retried
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._last_retain = 0.0
        self.written = 0
        self.failing_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="event writer", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def put(self, item: ReadEvent | TrackEnded) -> None:
        self._queue.put(item)

    def _write(self, item) -> None:
        """Write one item, retrying until it goes through or the writer is told to stop."""
        while True:
            try:
                if isinstance(item, ReadEvent):
                    if item.event_id not in self._decided:
                        self._decided[item.event_id] = self.decide(item) if self.decide else ("log-only", None)
                    stored = self.store.add(item, *self._decided[item.event_id])
                    del self._decided[item.event_id]
                    self.written += 1
                    acted = time.time()
                    outcome = self.act(item, stored) if self.act else None
                    if outcome is not None:
                        self.store.set_relay(item.event_id, outcome, acted)
                    if self.on_stored:
                        self.on_stored(item, stored, outcome)
                elif item.event_id is not None:
                    self.store.close_track(item.event_id, item.last_seen, item.last_frame, item.direction)
                if self.failing_since is not None:
                    self.report(f"database writable again; {self._queue.qsize()} event(s) still waiting")
                    self.failing_since = None
                return
            except (StoreBusy, StoreError) as exc:
                if self.failing_since is None:
                    self.failing_since = time.time()
                    kind = "locked" if isinstance(exc, StoreBusy) else "not writable"
                    self.report(f"database {kind}: {exc}; the event is kept and written when it can be "
                                f"({self._queue.qsize() + 1} waiting)")
                if self._stop.wait(RETRY_SECONDS):
                    raise

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._stop.is_set():
                    return
                self._maybe_retain()
                continue
            try:
                self._write(item)
            except (StoreBusy, StoreError):
                self._queue.put(item)  # still not written at shutdown: back in line for the spill file
                return
            finally:
                self._queue.task_done()

    def _maybe_retain(self) -> None:
        if time.time() - self._last_retain < RETAIN_EVERY_SECONDS:
            return
        self._last_retain = time.time()
        try:
            removed = self.store.retain()
        except Exception as exc:  # noqa: BLE001 - retention must never stop the writer
            self.report(f"retention skipped: {exc}")
            return
        if any(removed.values()):
            self.report("retention: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in removed.items() if v))

    def close(self, drain_seconds: float = 10.0) -> list[ReadEvent]:
        """Write what is queued (for up to ``drain_seconds``), stop, and spill what is left.
        Returns the events that could not be written."""
        deadline = time.time() + drain_seconds
        while self._queue.unfinished_tasks and time.time() < deadline and self._thread.is_alive():
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(timeout=RETRY_SECONDS * 3)
        left: list[ReadEvent] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, ReadEvent):
                left.append(item)
        if left:
            spill = Path(str(self.store.path) + ".unsaved.jsonl")
            with spill.open("a", encoding="utf-8") as f:
                for event in left:
                    f.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
                f.flush()
            self.report(f"{len(left)} event(s) could not be written to {self.store.path}; kept in {spill}")
        return left
