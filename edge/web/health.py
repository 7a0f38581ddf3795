"""The appliance's health as the operator's page shows it: camera, relay port, disk against its
budget, database size, last event, uptime, models and precision, messages waiting to be sent.
Read from the database, the daemon's shared state file and the file system; nothing here runs a
model or touches the frame loop."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from edge.common.live import read_state
from edge.gate.config import GateConfig
from edge.store import outbox
from edge.store.db import EventStore

# The daemon writes its state every web.live_interval_s while it runs; older than this, it is not running.
STALE_SECONDS = 10.0


def relay_port(gate: GateConfig) -> str | None:
    """The serial port ``gate.relay`` names (None for dry-run)."""
    kind, _, rest = gate.relay.partition(":")
    return None if kind == "dry-run" else rest.partition("@")[0]


def daemon_state(state_path: Path, now: float | None = None) -> dict:
    """The daemon's last shared state, with ``alive``: written recently by a daemon still running."""
    now = time.time() if now is None else now
    state = read_state(state_path) or {}
    age = now - state["updated"] if "updated" in state else None
    return {**state, "age_s": None if age is None else round(age, 1),
            "alive": bool(state.get("running")) and age is not None and age < STALE_SECONDS}


def health(store: EventStore, gate: GateConfig, state_path: Path, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    state = daemon_state(state_path, now)
    port = relay_port(gate)
    db_files = [store.path, Path(str(store.path) + "-wal"), Path(str(store.path) + "-shm")]
    last = store.last_event()
    disk = shutil.disk_usage(store.path.parent)
    return {
        "daemon_alive": state["alive"], "state_age_s": state["age_s"],
        "camera_connected": bool(state.get("camera_connected")) and state["alive"],
        "source": state.get("source"),
        "relay_driver": gate.relay, "relay_port": port,
        "relay_port_present": None if port is None else os.path.exists(port),
        "mode": gate.mode,
        "used_bytes": store.used_bytes(), "budget_bytes": int(store.config.disk_budget_mb * 1024 * 1024),
        "filesystem_free_bytes": disk.free,
        "db_bytes": sum(f.stat().st_size for f in db_files if f.exists()),
        "events": store.count(),
        "last_event": None if last is None else {"event_id": last["event_id"], "first_seen": last["first_seen"],
                                                 "text": last["text"], "decision": last["decision"]},
        "uptime_s": round(now - state["started"]) if state["alive"] and state.get("started") else None,
        "precision": state.get("precision"), "models": state.get("models") or {},
        "outbox": outbox.pending(store.conn),
    }
