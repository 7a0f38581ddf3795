"""The daemon on a real RTSP stream (GStreamer's RTSP server on loopback) that is stopped in the
middle of the run and started again: the drop is reported and reading resumes."""

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import cv2
import pytest

from edge.clip_score import read_truth
from tests.conftest import REPO

SYSTEM_PYTHON = "/usr/bin/python3"


def _have_rtsp_server() -> str | None:
    if not shutil.which("gst-inspect-1.0") or not shutil.which(SYSTEM_PYTHON):
        return "GStreamer is not installed (make test-tools installs it)"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True)
    if probe.returncode != 0:
        return "gst-rtsp-server's Python bindings are missing (gir1.2-gst-rtsp-server-1.0, python3-gi)"
    if subprocess.run(["gst-inspect-1.0", "x264enc"], capture_output=True).returncode != 0:
        return "x264enc is missing (gstreamer1.0-plugins-ugly)"
    return None


class Lines:
    """Lines of a pipe, collected by a thread, waited for by content."""

    def __init__(self, pipe):
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe):
        for line in pipe:
            self.lines.append(line)

    def wait_for(self, test, timeout: float, after: int = 0) -> int:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, line in enumerate(self.lines[after:], start=after):
                if test(line):
                    return i
            time.sleep(0.1)
        raise AssertionError(f"not seen in {timeout} s; got:\n" + "".join(self.lines[-30:]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder, port):
    server = subprocess.Popen([SYSTEM_PYTHON, str(REPO / "tests" / "rtsp_server.py"), str(folder), str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready", server.stderr.read()
    return server


def test_an_rtsp_camera_that_drops_mid_run_is_reported_and_resumed(lane_clip, tmp_path):
    missing = _have_rtsp_server()
    if missing:
        pytest.skip(missing)
    # the frames of the first vehicle's pass, from a little before it is readable to its end
    vehicle = read_truth(lane_clip)[0][0]
    frames = tmp_path / "frames"
    frames.mkdir()
    cap = cv2.VideoCapture(str(lane_clip / "clip.mp4"))
    start = max(0, vehicle["first_readable_frame"] - 10)
    for i in range(vehicle["last_frame"] + 1):
        ok, image = cap.read()
        if i >= start:
            cv2.imwrite(str(frames / f"{i - start:03d}.jpg"), image)
    cap.release()
    port = _free_port()
    server = _serve(frames, port)
    db = tmp_path / "events.db"
    daemon = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", f"rtsp://127.0.0.1:{port}/lane", "--db",
                               str(db), "--stats"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, encoding="utf-8")
    out, err = Lines(daemon.stdout), Lines(daemon.stderr)
    try:
        plate = " ".join([vehicle["region"], vehicle["class_number"], vehicle["kana"], vehicle["serial"]])
        out.wait_for(lambda line: plate in line, 90)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        dropped = err.wait_for(lambda line: "frames stopped; reconnecting" in line or "cannot open" in line, 30)
        time.sleep(2)
        server = _serve(frames, port)
        err.wait_for(lambda line: "connected" in line and "camera" in line, 60, after=dropped)
        # the vehicle comes round again in the looped stream: read again after the drop
        first = out.wait_for(lambda line: plate in line, 1)
        out.wait_for(lambda line: plate in line, 90, after=first + 1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    assert daemon.returncode == 0, "".join(err.lines)
    stats = json.loads(err.lines[-1])
    assert stats["source"]["reconnects"] >= 1 or any("cannot open" in line for line in err.lines[dropped:])
