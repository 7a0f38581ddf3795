"""The event store on real SQLite files: durability settings, migrations, pictures, a full disk,
a locked database, retention, export."""

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from edge.events import Evidence, ReadEvent
from edge.plates.reading import READ_FIELDS, decode, plate_labels, vocabularies
from edge.plates import PlateText
from edge.store.config import StoreConfig
from edge.store.db import EventStore, StoreError, connect
from edge.store.export import parse_since
from edge.store.schema import MIGRATIONS, VERSION
from edge.store.writer import EventWriter
from tests.conftest import anpr


def _probs(plate: PlateText, sure: float = 0.98) -> dict:
    """Classifier-like probabilities that back ``plate`` with ``sure`` in every place."""
    v, labels = vocabularies(), plate_labels(plate)
    out = {}
    for name in READ_FIELDS:
        rows = np.full((len(labels[name]), len(v[name])), (1 - sure) / (len(v[name]) - 1))
        rows[np.arange(len(labels[name])), labels[name]] = sure
        out[name] = rows[0] if name in ("region", "kana", "color") else rows
    return out


def make_event(text="品川 300 さ 12-34", color="white", when=None, pictures=True) -> ReadEvent:
    plate = PlateText.parse(text, color)
    reading = decode(_probs(plate))
    when = time.time() if when is None else when
    rng = np.random.default_rng(0)
    evidence = Evidence(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8),
                        rng.integers(0, 255, (168, 336, 3), dtype=np.uint8), 10) if pictures else None
    return ReadEvent(event_id=str(uuid.uuid4()), lane="lane-1", first_seen=when, last_seen=when + 2, first_frame=3,
                     last_frame=60, emitted_frame=20, emitted="settled", frames_seen=40, frames_used=12,
                     reading=reading, single_frame=reading, vehicle="car", direction="approaching",
                     quad=((1.0, 2.0), (3.0, 2.0), (3.0, 4.0), (1.0, 4.0)), evidence=evidence)


@pytest.fixture
def store(tmp_path):
    s = EventStore(StoreConfig(path=str(tmp_path / "events.db")))
    yield s
    s.close()


def test_a_connection_is_wal_with_full_sync_and_a_busy_timeout(tmp_path):
    conn = connect(tmp_path / "x.db", busy_timeout_ms=1234)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234


def test_an_event_row_holds_every_field_and_names_whole_pictures(store):
    event = make_event()
    stored = store.add(event)
    row = store.rows()[0]
    assert row["text"] == "品川 300 さ 12-34" and row["color"] == "white" and row["valid"] == 1
    for name in READ_FIELDS:
        assert row[name] is not None and row[f"{name}_confidence"] > 0.9
    assert row["category"] == "registered/private" and row["vehicle"] == "car"
    assert row["single_text"] == row["text"] and json.loads(row["single_fields"])["serial"]["value"] == "12-34"
    assert row["decision"] == "log-only" and row["evidence_note"] is None
    for name in (stored.frame_image, stored.plate_image):
        path = store.evidence_root / name
        assert path.stat().st_size > 0 and not path.with_name(path.name + ".part").exists()
    assert row["evidence_bytes"] == sum((store.evidence_root / n).stat().st_size
                                        for n in (stored.frame_image, stored.plate_image))
    # the same event twice is one row (a retry after an unclear failure must not duplicate it)
    assert store.add(event).row_id == stored.row_id and len(store.rows()) == 1


def test_migrations_bring_an_old_database_forward_and_keep_its_rows(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO events (event_id, lane, first_seen, last_seen, emitted, frames_seen, frames_used, "
                 "valid, confidence, created) VALUES ('e1', 'lane-1', 1, 2, 'left', 3, 2, 0, 0.5, 3)")
    conn.commit()
    conn.close()
    store = EventStore(StoreConfig(path=str(path)))
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
    rows = store.rows()
    assert [r["event_id"] for r in rows] == ["e1"] and rows[0]["decision"] == "log-only"
    store.close()


def test_a_newer_or_foreign_database_is_refused_untouched(tmp_path):
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this anpr knows"):
        EventStore(StoreConfig(path=str(newer)))
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE invoices (x)")
    conn.close()
    with pytest.raises(StoreError, match="not an anpr database"):
        EventStore(StoreConfig(path=str(foreign)))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="garbage.db"):
        EventStore(StoreConfig(path=str(garbage)))


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB tmpfs, filled to the last byte (root and mount(8) needed)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_keeps_the_row_drops_the_pictures_and_says_so(tmp_path, full_disk):
    said = []
    store = EventStore(StoreConfig(path=str(tmp_path / "events.db"), evidence_dir=str(full_disk / "evidence")),
                       report=said.append)
    stored = store.add(make_event())
    row = store.rows()[0]
    assert row["text"] == "品川 300 さ 12-34"
    assert row["frame_image"] is None and row["plate_image"] is None and row["evidence_bytes"] == 0
    assert "disk full" in row["evidence_note"] and stored.evidence_note == row["evidence_note"]
    assert any("disk full" in s and "row is kept" in s for s in said)
    leftovers = [p for p in (full_disk / "evidence").rglob("*") if p.is_file()]
    assert leftovers == []  # no half-written picture left behind
    store.close()


def test_a_locked_database_delays_events_but_loses_none(tmp_path):
    path = tmp_path / "events.db"
    said, written = [], []
    store = EventStore(StoreConfig(path=str(path), busy_timeout_ms=100), report=said.append)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process (a backup, an operator's query) holds the lock
    writer = EventWriter(store, said.append, lambda e, s, relay: written.append(e.event_id))
    events = [make_event(when=time.time() + i) for i in range(3)]
    for e in events:
        writer.put(e)
    time.sleep(1.5)
    assert written == [] and any("database locked" in s for s in said)
    holder.execute("ROLLBACK")
    holder.close()
    assert writer.close(drain_seconds=10) == []
    assert written == [e.event_id for e in events]
    assert any("writable again" in s for s in said)
    assert len(EventStore(StoreConfig(path=str(path))).rows()) == 3


def test_events_still_locked_out_at_shutdown_are_kept_beside_the_database(tmp_path):
    path = tmp_path / "events.db"
    said = []
    store = EventStore(StoreConfig(path=str(path), busy_timeout_ms=50), report=said.append)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    writer = EventWriter(store, said.append)
    event = make_event()
    writer.put(event)
    left = writer.close(drain_seconds=0.5)
    holder.execute("ROLLBACK")
    assert [e.event_id for e in left] == [event.event_id]
    spill = Path(str(path) + ".unsaved.jsonl")
    assert json.loads(spill.read_text(encoding="utf-8").splitlines()[0])["event_id"] == event.event_id
    assert any("kept in" in s for s in said)


def test_retention_by_age_and_by_disk_budget_pictures_first(tmp_path):
    now = time.time()
    store = EventStore(StoreConfig(path=str(tmp_path / "e.db"), keep_days=30))
    old = store.add(make_event(when=now - 40 * 86400))
    kept = [store.add(make_event(when=now - 86400 * d)) for d in (3, 2, 1)]
    assert store.retain(now)["rows_by_age"] == 1
    assert not (store.evidence_root / old.frame_image).exists() and len(store.rows()) == 3
    store.close()
    # a budget that holds the rows but not every picture: the oldest pictures go, rows stay
    budget_mb = (EventStore(StoreConfig(path=str(tmp_path / "e.db"))).used_bytes() - 1000) / 2 ** 20
    store = EventStore(StoreConfig(path=str(tmp_path / "e.db"), keep_days=30, disk_budget_mb=budget_mb))
    removed = store.retain(now)
    rows = store.rows()
    assert removed["pictures_by_budget"] >= 1 and removed["rows_by_budget"] == 0 and len(rows) == 3
    assert rows[0]["frame_image"] is None and rows[0]["evidence_note"] == "evidence removed: disk budget"
    assert rows[-1]["frame_image"] == kept[-1].frame_image  # the newest keeps its pictures
    assert not (store.evidence_root / kept[0].frame_image).exists()
    store.close()


def test_retention_deletes_rows_oldest_first_only_when_no_picture_is_left(tmp_path):
    now = time.time()
    path = str(tmp_path / "e.db")
    store = EventStore(StoreConfig(path=path))
    ids = [store.add(make_event(when=now - 1000 + i, pictures=False)).row_id for i in range(40)]
    page = store.conn.execute("PRAGMA page_size").fetchone()[0]
    budget_mb = (store.used_bytes() - page) / 2 ** 20
    store.close()
    store = EventStore(StoreConfig(path=path, disk_budget_mb=budget_mb))
    removed = store.retain(now)
    left = [r["id"] for r in store.rows()]
    assert removed["rows_by_budget"] >= 1 and left and left == ids[len(ids) - len(left):]
    assert store.used_bytes() <= budget_mb * 2 ** 20
    store.close()


def test_export_csv_and_jsonl_since_a_time(tmp_path):
    store = EventStore(StoreConfig(path=str(tmp_path / "e.db")))
    now = time.time()
    store.add(make_event("品川 300 さ 12-34", when=now - 7200))
    store.add(make_event("横浜 580 む 13-76", "yellow", when=now - 60))
    store.close()
    run = anpr("db", "export", "--db", str(tmp_path / "e.db"), "--format", "csv")
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [r["text"] for r in rows] == ["品川 300 さ 12-34", "横浜 580 む 13-76"]
    assert rows[1]["color"] == "yellow" and rows[1]["category"] == "kei/private" and rows[1]["valid"] == "True"
    assert rows[0]["first_seen"].count(":") >= 2 and ("+" in rows[0]["first_seen"][19:] or "Z" in rows[0]["first_seen"]
                                                     or "-" in rows[0]["first_seen"][19:])
    run = anpr("db", "export", "--db", str(tmp_path / "e.db"), "--format", "jsonl", "--since", "1h")
    assert [json.loads(line)["text"] for line in run.stdout.splitlines()] == ["横浜 580 む 13-76"]
    out = tmp_path / "billing.csv"
    run = anpr("db", "export", "--db", str(tmp_path / "e.db"), "--out", str(out), "--since", "2000-01-01")
    assert run.returncode == 0 and "wrote 2 event(s)" in run.stderr and len(out.read_text().splitlines()) == 3
    for args, fragment in [(["--since", "yesterday"], "not a time"), (["--format", "xml"], "invalid choice")]:
        run = anpr("db", "export", "--db", str(tmp_path / "e.db"), *args)
        assert run.returncode == 2 and fragment in run.stderr
    run = anpr("db", "export", "--db", str(tmp_path / "none.db"))
    assert run.returncode == 2 and "no such database" in run.stderr


def test_parse_since_forms():
    now = 1_000_000.0
    assert parse_since("15m", now) == now - 900 and parse_since("7d", now) == now - 7 * 86400
    assert parse_since("2026-12-01T08:00:00+09:00") == 1796079600.0  # 2026-11-30T23:00Z
    with pytest.raises(ValueError, match="not a time"):
        parse_since("soon")
