"""A real Mosquitto broker on loopback for the tests (Debian's mosquitto), stopped and started
again on the same port, with persistence, as a site's broker would be."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    def __init__(self, folder: Path):
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not installed (Debian: apt-get install mosquitto; `make test` does it)")
        self.folder, self.port = folder, free_port()
        self.conf = folder / "mosquitto.conf"
        # run as the user the tests run as (as root, mosquitto would switch to its own user, which
        # cannot write the persistence file into this folder)
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"user {getpass.getuser()}\n"
                             f"persistence_location {folder}/\nlog_dest file {folder}/mosquitto.log\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> "Mosquitto":
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start: {(self.folder / 'mosquitto.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
