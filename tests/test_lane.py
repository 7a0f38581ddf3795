"""The lane daemon end to end on synthetic clips: `anpr run` as an operator runs it, a real SQLite
file, the committed models."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import cv2
import pytest

from edge.clip_score import read_truth, score_clip
from edge.plates import PlateText
from tests.conftest import REPO, anpr


def _rows(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY first_seen")]
    finally:
        conn.close()


def test_clip_is_a_1280x720_30fps_video_with_its_truth(lane_clip):
    cap = cv2.VideoCapture(str(lane_clip / "clip.mp4"))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (1280, 720)
    assert cap.get(cv2.CAP_PROP_FPS) == 30
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    meta = json.loads((lane_clip / "clip.json").read_text())
    assert frames == meta["frames"]
    truth, fps = read_truth(lane_clip)
    assert len(truth) == 4 and fps == 30
    for v in truth:
        assert PlateText.parse(v["text"], v["color"]).format() == v["text"]
        assert 0 <= v["first_frame"] <= v["first_readable_frame"] <= v["last_frame"] < frames
        assert v["direction"] in ("approaching", "leaving")
    assert [v["first_frame"] for v in truth] == sorted(v["first_frame"] for v in truth)
    listed = (lane_clip / "allowlist.csv").read_text(encoding="utf-8").splitlines()
    assert listed[0] == "plate,color,label" and [line.split(",")[0] for line in listed[1:]] == \
        [truth[0]["text"], truth[2]["text"]]


def test_a_4_megapixel_camera_at_20_fps_sees_the_plate_larger_and_logs_it_once(tmp_path):
    clip = tmp_path / "4mp"
    run = anpr("synth", str(clip), "--kind", "clip", "--count", "1", "--seed", "3", "--size", "2688x1520",
               "--fps", "20", "--backgrounds", "none", "--quiet")
    assert run.returncode == 0, run.stderr
    cap = cv2.VideoCapture(str(clip / "clip.mp4"))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT), cap.get(cv2.CAP_PROP_FPS)) == \
        (2688, 1520, 20)
    cap.release()
    truth, fps = read_truth(clip)
    assert fps == 20 and len(truth) == 1
    assert truth[0]["max_plate_width_px"] > 260 * 1.5  # the same lane through the same lens: 2.1 times larger
    db = tmp_path / "events.db"
    run = anpr("run", str(clip / "clip.mp4"), "--db", str(db))
    assert run.returncode == 0, run.stderr
    score = score_clip(truth, _rows(db), fps).to_dict()
    assert score["vehicles_with_exactly_one_event"] == 1 and score["fused_exact"] == 1, score


@pytest.mark.slow
def test_a_4_megapixel_lane_logs_the_car_shown_where_the_last_one_went_out_of_sight(tmp_path):
    """The clip lever 39 was found on (README, "A 4-megapixel camera at 20 fps"): vehicle 7 leaves
    where vehicle 6's plate, its event made, had just gone out of sight; it was never logged."""
    clip = tmp_path / "4mp"
    run = anpr("synth", str(clip), "--kind", "clip", "--count", "10", "--seed", "7", "--size", "2688x1520",
               "--fps", "20", "--quiet", timeout=1200)
    assert run.returncode == 0, run.stderr
    db = tmp_path / "events.db"
    run = anpr("run", str(clip / "clip.mp4"), "--db", str(db))
    assert run.returncode == 0, run.stderr
    truth, fps = read_truth(clip)
    score = score_clip(truth, _rows(db), fps).to_dict()
    assert score["vehicles_with_exactly_one_event"] == 10 and score["fused_exact"] == 10, score


def test_each_vehicle_gives_exactly_one_event_with_its_plate(lane_clip, tmp_path):
    db = tmp_path / "events.db"
    run = anpr("run", str(lane_clip / "clip.mp4"), "--db", str(db), "--stats")
    assert run.returncode == 0, run.stderr
    rows = _rows(db)
    truth, fps = read_truth(lane_clip)
    score = score_clip(truth, rows, fps).to_dict()
    assert score["events"] == len(truth) and score["vehicles_with_exactly_one_event"] == len(truth), score
    assert score["fused_exact"] == len(truth), score
    # each event was printed as it was written, in Japanese, with its confidence
    printed = run.stdout.splitlines()
    assert len(printed) == len(truth)
    for row, line in zip(rows, printed):
        assert " ".join([row["region"], row["class_number"], row["kana"], row["serial"]]) in line
        assert "確度" in line
    # the pictures named by each row are whole JPEGs on disk
    evidence = tmp_path / "events-evidence"
    for row in rows:
        for name in (row["frame_image"], row["plate_image"]):
            image = cv2.imread(str(evidence / name))
            assert image is not None and image.size > 0
        assert cv2.imread(str(evidence / row["plate_image"])).shape[:2] == (168, 336)
        assert row["frames_used"] >= 1 and row["first_seen"] <= row["last_seen"]
        assert row["direction"] in ("approaching", "leaving", "stationary")
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    stats = json.loads(run.stderr.strip().splitlines()[-1])
    assert stats["lane"]["frames_seen"] == json.loads((lane_clip / "clip.json").read_text())["frames"]
    assert 0 < stats["lane"]["frames_analysed"] < stats["lane"]["frames_seen"]


def test_a_vehicle_idling_at_the_barrier_is_one_event(idle_clip, tmp_path):
    db = tmp_path / "events.db"
    config = tmp_path / "lane.toml"
    # a time limit well inside the wait: the long stay must not make a second event
    config.write_text("[stream]\nmax_track_seconds = 4\n")
    run = anpr("run", str(idle_clip / "clip.mp4"), "--db", str(db), "--config", str(config))
    assert run.returncode == 0, run.stderr
    rows = _rows(db)
    truth, _ = read_truth(idle_clip)
    assert len(rows) == 1, [r["text"] for r in rows]
    assert rows[0]["text"] == truth[0]["text"]
    # the row was brought up to date when the vehicle finally left
    assert rows[0]["last_frame"] >= truth[0]["last_frame"] - 60
    assert rows[0]["last_seen"] - rows[0]["first_seen"] > 12


def test_the_same_clip_twice_is_the_same_vehicle_twice(lane_clip, tmp_path):
    """A vehicle that leaves and comes back later is two events: the clip played into one
    database twice gives every plate twice."""
    db = tmp_path / "events.db"
    for _ in range(2):
        assert anpr("run", str(lane_clip / "clip.mp4"), "--db", str(db), "--quiet").returncode == 0
    texts = [r["text"] for r in _rows(db)]
    assert len(texts) == 8 and all(texts.count(t) == 2 for t in texts)


def _start_run(source, db, *extra):
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "run", str(source), "--db", str(db), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def test_kill_9_mid_run_loses_no_committed_event(lane_clip, tmp_path):
    db = tmp_path / "events.db"
    proc = _start_run(lane_clip / "clip.mp4", db)
    printed = [proc.stdout.readline()]  # an event line is printed after its row is committed
    assert printed[0].strip(), proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    printed += [line for line in rest.splitlines() if line.strip()]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = _rows(db)
    assert len(rows) >= len(printed)
    for line in printed:
        assert any(" ".join([r["region"], r["class_number"], r["kana"], r["serial"]]) in line for r in rows), line
    conn.close()


def test_sigterm_finishes_the_frame_writes_open_vehicles_and_exits_0(lane_clip, tmp_path):
    db = tmp_path / "events.db"
    proc = _start_run(lane_clip / "clip.mp4", db)
    first = proc.stdout.readline()
    assert first.strip()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "SIGTERM" in err
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert len(_rows(db)) == 1 + len([line for line in out.splitlines() if line.strip()])


def test_corrupt_frames_are_reported_and_skipped(lane_clip, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cap = cv2.VideoCapture(str(lane_clip / "clip.mp4"))
    for i in range(6):
        ok, image = cap.read()
        cv2.imwrite(str(folder / f"{i:03d}.jpg"), image)
    cap.release()
    (folder / "002.jpg").write_bytes(b"\xff\xd8 not a jpeg at all")
    (folder / "004.jpg").write_bytes(b"")
    run = anpr("run", str(folder), "--db", str(tmp_path / "e.db"), "--stats")
    assert run.returncode == 0, run.stderr
    assert "002.jpg: not a readable image, skipped" in run.stderr
    assert "004.jpg: not a readable image, skipped" in run.stderr
    source = json.loads(run.stderr.strip().splitlines()[-1])["source"]
    assert source["frames"] == 4 and source["unreadable"] == 2


def test_a_missing_camera_is_reported_and_retried_with_growing_pauses(tmp_path):
    proc = _start_run("v4l2:///dev/video97", tmp_path / "e.db")
    time.sleep(4.5)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    tries = [line for line in err.splitlines() if "cannot open" in line]
    # 0.5 s, 1 s, 2 s...: a handful of tries in 4.5 s (models loading included), never a busy loop
    assert 1 <= len(tries) <= 4, err
    assert "/dev/video97 is not there" in err
    assert "retrying in 0.5 s" in tries[0]
    if len(tries) > 1:
        assert "retrying in 1.0 s" in tries[1]


@pytest.mark.parametrize("text, fragment", [
    ("[stream]\nsettle_reads = 0\n", "stream.settle_reads = 0: expected an integer of at least 1"),
    ("[stream]\nsettle_readz = 3\n", "stream: unknown key(s) settle_readz"),
    ("[stream]\nsettle_width = 5\n", "stream.settle_width = 5: expected a number from 8 to 2000"),
    ("[vision]\nfind_size = 500\n", "vision.find_size = 500"),
    ("[lane]\nroi = [0.5, 0, 0.2, 1]\n", "lane.roi"),
    ("[store]\ndisk_budget_mb = -1\n", "store.disk_budget_mb = -1"),
    ("[gates]\n", "unknown section(s) [gates]"),
    ("[stream\nx = 1\n", "not valid TOML"),
])
def test_a_malformed_config_stops_start_up_naming_the_key(tmp_path, text, fragment):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    run = anpr("run", "v4l2:///dev/video97", "--config", str(config), "--db", str(tmp_path / "e.db"))
    assert run.returncode == 2
    assert fragment in run.stderr and str(config) in run.stderr
    assert not (tmp_path / "e.db").exists()


def test_sources_that_cannot_be_opened_exit_2_with_the_reason(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    for source, fragment in [(tmp_path / "nothing.mp4", "no such file"), (tmp_path / "broken.mp4", "not a video"),
                             ("csi://0", "jetson-utils"), ("gopher://cam", "unknown kind of source")]:
        run = anpr("run", str(source), "--db", str(tmp_path / "e.db"))
        assert run.returncode == 2 and fragment in run.stderr, run.stderr
