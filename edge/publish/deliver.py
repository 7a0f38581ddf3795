"""The publisher: a thread that takes due messages from the outbox, oldest first, hands each to
its sink and deletes its row only once the sink has it.

Its own connection to the database (WAL: it never blocks the writer for long). A sink that is
not connected is waited for without counting tries; a failed try puts the message off
(doubling from 1 s to 5 minutes, kept on its row), and the sink's later messages wait behind
it, so their order is kept, across restarts too. Nothing is ever dropped here: a
message leaves the outbox when delivered, or with its event by retention.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Callable

from edge.publish.config import MqttConfig, WebhookConfig
from edge.publish.mqtt import MqttSink
from edge.publish.sink import DeliveryError, Sink
from edge.publish.webhook import WebhookSink
from edge.store import outbox
from edge.store.db import connect

POLL_SECONDS = 0.25

def open_sinks(mqtt: MqttConfig, webhook: WebhookConfig, lane: str, report: Callable[[str], None]) -> list[Sink]:
    """The sinks the config turns on (none when neither a broker nor a URL is given)."""
    sinks: list[Sink] = []
    if mqtt.enabled:
        sinks.append(MqttSink(mqtt, lane, report))
    if webhook.enabled:
        sinks.append(WebhookSink(webhook))
    return sinks


class Publisher:
    """``wake()`` after an event is committed (or wait up to ``POLL_SECONDS``); ``drain(timeout)``
    to wait until the outbox of every ready sink is empty; ``close()``."""

    def __init__(self, db_path: str, sinks: list[Sink], report: Callable[[str], None],
                 busy_timeout_ms: int = 5000):
        self.db_path, self.sinks, self.report = db_path, sinks, report
        self.conn = connect(db_path, busy_timeout_ms)
        self.delivered = {s.name: 0 for s in sinks}
        self._failing: dict[str, str] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            for sink in self.sinks:
                try:
                    busy |= self._serve(sink)
                except sqlite3.Error as exc:  # locked for longer than the busy timeout: next round
                    self.report(f"publisher: outbox not readable now ({exc}); trying again")
            if not busy:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    def _serve(self, sink: Sink) -> bool:
        """Deliver what is due for ``sink``; True when it did something."""
        if not sink.ready():
            return False
        messages = outbox.due(self.conn, sink.name)
        if not messages:
            return False
        for message in messages:
            if self._stop.is_set():
                return True
            try:
                sink.deliver(message)
            except DeliveryError as exc:
                outbox.failed(self.conn, message, str(exc))
                if sink.name not in self._failing:
                    self.report(f"{sink.name}: {exc}; {len(messages)} or more message(s) wait in the outbox")
                self._failing[sink.name] = str(exc)
                return True
            outbox.delivered(self.conn, message.id)
            self.delivered[sink.name] += 1
            if self._failing.pop(sink.name, None) is not None:
                self.report(f"{sink.name}: delivering again")
        return True

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is waiting for any sink (True), or ``timeout`` seconds (False)."""
        deadline = time.time() + timeout
        check = connect(self.db_path)  # this thread's own: the publisher's belongs to its thread
        try:
            while time.time() < deadline:
                if sum(outbox.pending(check).get(s.name, {}).get("waiting", 0) for s in self.sinks) == 0:
                    return True
                self.wake()
                time.sleep(0.1)
            return False
        finally:
            check.close()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=15)
        for sink in self.sinks:
            sink.close()
        self.conn.close()
