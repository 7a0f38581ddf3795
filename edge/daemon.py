"""The lane daemon: frames from the lane's source, events from the lane loop, rows in the store.

Wiring only. Every vehicle is recorded; the gate decides on each event before its row is
written, and the relay pulses only after the row is committed (``gate.mode``: log-only,
allow-list, open-all). SIGTERM and SIGINT finish the frame in hand, give every open track its
event, write what is queued, release the relay and exit 0. A file source ends the run at its
end, also with exit 0.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import TextIO

from edge.config import Config
from edge.events import ReadEvent
from edge.gate.controller import Gate
from edge.gate.relays import open_relay
from edge.notify import Notifier
from edge.plates.japanese import MISSING, describe
from edge.publish.deliver import Publisher, open_sinks
from edge.store.allowlist import AllowList
from edge.store.db import EventStore, Stored
from edge.store.writer import EventWriter
from edge.stream.lane import LaneLoop
from edge.stream.live import LiveView
from edge.stream.sources import FrameSource, open_source
from edge.vision.pipeline import Pipeline


def event_line(event: ReadEvent, stored: Stored | None = None, decision: str | None = None,
               relay: str | None = None) -> str:
    """One event as a person reads it: ``08:15:02  lane-1  品川 300 さ 12-34  白ナンバー ... 確度 97%``."""
    r = event.reading
    when = dt.datetime.fromtimestamp(event.first_seen).strftime("%Y-%m-%d %H:%M:%S")
    parts = [when, event.lane, event.spelled(MISSING), describe(r.fields["color"].value, r.category, r.confidence)]
    facts = [f"{event.frames_used} frame(s) fused", f"best single frame {round(100 * event.single_frame.confidence)}%",
             event.direction if event.direction != "unknown" else "direction ?", event.vehicle or "vehicle class ?",
             event.emitted]
    line = "  ".join(parts) + "  (" + ", ".join(facts) + ")"
    if decision is not None:
        line += f"  -> {decision}" + (f" [{relay}]" if relay else "")
    if stored is not None and stored.evidence_note:
        line += f"  [{stored.evidence_note}]"
    return line


class _Rate:
    """Frames seen and analysed per second since the last time asked (the live view's figure;
    asked by the frame loop and by the live view's heartbeat)."""

    def __init__(self):
        self.last = (time.monotonic(), 0, 0)
        self._lock = threading.Lock()

    def __call__(self, seen: int, analysed: int) -> tuple[float, float]:
        now = time.monotonic()
        with self._lock:
            t0, seen0, analysed0 = self.last
            self.last = (now, seen, analysed)
        span = max(now - t0, 1e-6)
        return round((seen - seen0) / span, 1), round((analysed - analysed0) / span, 1)


@dataclass
class RunSummary:
    events: int
    written: int
    unsaved: int
    stats: dict
    source: dict


class Daemon:
    """One lane: ``run()`` until the source ends or a signal asks to stop."""

    def __init__(self, config: Config, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                 json_events: bool = False, pipeline: Pipeline | None = None):
        self.config, self.out, self.err, self.json_events = config, out, err, json_events
        self.notifier = Notifier()
        self._print_lock = threading.Lock()
        self.stop_requested = threading.Event()
        self._source: FrameSource | None = None
        # the lane's search never takes the second route (stills only), so its model is not loaded
        self.pipeline = pipeline or Pipeline(replace(config.vision, text_route=False))
        self.models = self.pipeline.models_in_use()  # fixed once loaded: the live view's state shows it
        self.store = EventStore(config.store, report=self.report, sinks=config.sinks)
        self.gate = None
        self.publisher: Publisher | None = None
        self.started = time.time()
        try:
            if config.gate.mode != "log-only":
                relay = open_relay(config.gate, self.report)
                self.gate = Gate(config.gate, relay, AllowList(self.store).entries)
            if config.sinks:
                self.publisher = Publisher(config.store.path, open_sinks(config.mqtt, config.webhook, config.lane.name,
                                                                         self.report), self.report,
                                           config.store.busy_timeout_ms)
        except Exception:
            if self.gate is not None:
                self.gate.close()
            self.store.close()
            raise

    def report(self, message: str) -> None:
        with self._print_lock:
            print(f"anpr run: {message}", file=self.err, flush=True)

    def _stored(self, event: ReadEvent, stored: Stored, relay: str | None) -> None:
        if self.publisher is not None:
            self.publisher.wake()
        decision = None if self.gate is None else f"{stored.decision}: {stored.decision_reason}"
        with self._print_lock:
            if self.json_events:
                record = {**event.to_dict(), "row_id": stored.row_id, "frame_image": stored.frame_image,
                          "plate_image": stored.plate_image, "evidence_note": stored.evidence_note,
                          "decision": stored.decision, "decision_reason": stored.decision_reason, "relay": relay}
                print(json.dumps(record, ensure_ascii=False), file=self.out, flush=True)
            else:
                print(event_line(event, stored, decision, relay), file=self.out, flush=True)

    def state(self, source: FrameSource, lane: LaneLoop, rate: _Rate, emitted: int, running: bool) -> dict:
        """What the operator's page shows of the running lane (edge/common/live.py)."""
        seen, analysed = rate(lane.stats.frames_seen, lane.stats.frames_analysed)
        relay = None
        if self.gate is not None:
            relay = {"driver": self.config.gate.relay, "connected": bool(self.gate.relay.connected)}
        return {"running": running, "pid": os.getpid(), "lane": self.config.lane.name, "source": source.name,
                "camera_connected": bool(source.stats.connected), "frames_seen": lane.stats.frames_seen,
                "frames_analysed": lane.stats.frames_analysed, "frames_per_second": seen,
                "frames_analysed_per_second": analysed, "events": emitted, "started": self.started,
                "mode": self.config.gate.mode, "relay": relay, "precision": self.config.vision.precision,
                "models": self.models}

    def _on_signal(self, signum, _frame) -> None:
        self.stop_requested.set()
        if self._source is not None:
            self._source.stop()  # a camera that gives no frame must not keep the daemon waiting
        if self.gate is not None:
            self.gate.relay.abort()  # a pulse in progress ends now: the relay is released
        self.report(f"{signal.Signals(signum).name}: finishing the current frame, then stopping")

    def run(self, source: FrameSource | None = None) -> RunSummary:
        """Run the lane until its source ends or ``stop_requested`` is set (by SIGTERM/SIGINT)."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
        source = self._source = source or open_source(self.config.lane.source, report=self.report)
        lane = LaneLoop(self.pipeline, self.config.lane, self.config.stream, parallel=True)
        writer = EventWriter(self.store, self.report, self._stored,
                             decide=self.gate.decide if self.gate else None, act=self.gate.act if self.gate else None)
        rate = _Rate()
        live = LiveView(self.config.store.path, self.config.web.live_interval_s, self.report,
                        heartbeat=lambda: self.state(source, lane, rate, emitted, running=True))
        emitted = 0
        self.notifier.ready(f"lane {self.config.lane.name}: watching {source.name}")
        try:
            for frame in source:
                step = lane.step(frame)
                for item in (*step.events, *step.closed):
                    writer.put(item)
                emitted += len(step.events)
                self.notifier.frame_done(f"{lane.stats.frames_seen} frames, {emitted} events")
                if live.due():
                    live.offer(frame.image, lane.in_view(), self.state(source, lane, rate, emitted, running=True),
                               lane.roi)
                if self.stop_requested.is_set():
                    break
            end = lane.finish()
            if self.stop_requested.is_set():
                end = replace(end, events=[replace(e, emitted="stopped") for e in end.events])
            for item in (*end.events, *end.closed):
                writer.put(item)
            emitted += len(end.events)
        finally:
            self.notifier.stopping()
            source.close()
            lane.close()
            unsaved = writer.close()
            if self.gate is not None:
                self.gate.close()  # the relay released, whatever happened
            live.close(self.state(source, lane, rate, emitted, running=False))
            if self.publisher is not None:
                self.publisher.drain(self.config.store.busy_timeout_ms / 1000)  # what can go now; the rest waits
                self.publisher.close()
            self.store.close()
        return RunSummary(emitted, writer.written, len(unsaved), lane.stats.to_dict(), vars(source.stats))
