"""The appliance's files (boot/) and its systemd notifier: a real datagram socket receives the
pings, and they stop when frames stop going through the loop."""

import shutil
import socket
import subprocess
import threading
import time

import cv2
import pytest

from edge.common.frame import Frame
from edge.config import Config
from edge.common.live import live_paths, read_state
from edge.daemon import Daemon
from edge.notify import Notifier
from edge.stream.sources import FrameSource
from tests.conftest import REPO


@pytest.mark.parametrize("name", ["anpr.service", "anpr-web.service"])
def test_the_units_pass_systemd_analyze_verify(tmp_path, name):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    unit = (REPO / "boot" / name).read_text()
    if name == "anpr.service":
        assert "Type=notify" in unit and "WatchdogSec=" in unit and "KillSignal=SIGTERM" in unit
    else:
        assert "anpr web --config" in unit and "Nice=" in unit
    anpr = shutil.which("anpr") or str(REPO / ".venv" / "bin" / "anpr")
    local = tmp_path / name
    local.write_text(unit.replace("/opt/anpr/.venv/bin/anpr", anpr))  # as installed, where this checkout is
    run = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_udev_rules_and_install_script_are_well_formed():
    rules = [line for line in (REPO / "boot" / "99-anpr.rules").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules and all("SUBSYSTEM==" in r and "SYMLINK+=" in r for r in rules)
    assert {r.split('SYMLINK+="')[1].split('"')[0] for r in rules} == {"anpr-relay", "anpr-rs485", "anpr-camera"}
    assert subprocess.run(["sh", "-n", str(REPO / "boot" / "install.sh")]).returncode == 0


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.05)
    got, stop = [], threading.Event()

    def listen():  # each message with the time it arrived
        while not stop.is_set():
            try:
                got.append((time.monotonic(), sock.recv(4096).decode()))
            except socket.timeout:
                continue

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()

    def drain():
        time.sleep(0.1)
    yield path, got, drain
    stop.set()
    listener.join()
    sock.close()


def test_notifier_speaks_sd_notify(notify_socket):
    path, got, drain = notify_socket
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    n.ready("watching")
    n.frame_done("1 frame")
    n.frame_done("2 frames")  # within half the watchdog interval: not sent
    time.sleep(0.12)
    n.frame_done("3 frames")
    n.stopping()
    drain()
    assert [m for _, m in got] == ["READY=1\nSTATUS=watching", "WATCHDOG=1\nSTATUS=1 frame",
                                   "WATCHDOG=1\nSTATUS=3 frames", "STOPPING=1"]
    assert not Notifier({}).active and Notifier({}).send("READY=1") is False


class StallingSource(FrameSource):
    """Frames of a clip for ``seconds``, then none until released: a loop that stalls."""

    name = "stalling"

    def __init__(self, clip, seconds):
        super().__init__()
        self.clip, self.seconds, self.release = clip, seconds, threading.Event()
        self.stalled_at = None

    def __iter__(self):
        cap = cv2.VideoCapture(str(self.clip))
        start, index = time.monotonic(), 0
        while time.monotonic() - start < self.seconds:
            ok, image = cap.read()
            if not ok:
                break
            yield Frame(image, index, time.time())
            index += 1
            time.sleep(0.02)
        cap.release()
        self.stalled_at = time.monotonic()
        self.release.wait(10)


def test_watchdog_pings_stop_when_the_frame_loop_stalls(notify_socket, lane_clip, tmp_path, monkeypatch):
    path, got, drain = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # a ping at most every 0.2 s
    config = Config().with_overrides(db=str(tmp_path / "e.db"))
    daemon = Daemon(config)
    source = StallingSource(lane_clip / "clip.mp4", 2.0)
    runner = threading.Thread(target=daemon.run, args=(source,))
    runner.start()
    time.sleep(4.0)
    drain()
    # the operator's page still sees a running daemon, whose loop gets no frames
    shared = read_state(live_paths(tmp_path / "e.db")[1])
    assert shared["running"] and time.time() - shared["updated"] < 2.0 and shared["frames_per_second"] == 0.0
    source.release.set()
    runner.join(30)
    pings = [t for t, m in got if m.startswith("WATCHDOG=1")]
    assert got[0][1].startswith("READY=1")
    assert len(pings) >= 4  # while frames flowed
    assert source.stalled_at is not None and all(t <= source.stalled_at + 0.05 for t in pings)  # none after
