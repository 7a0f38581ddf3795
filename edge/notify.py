"""A small systemd notifier of our own: ``READY=1``, ``WATCHDOG=1``, ``STATUS=...`` and
``STOPPING=1`` as datagrams to ``$NOTIFY_SOCKET`` (sd_notify's protocol; an abstract socket
when the name starts with ``@``). Without ``NOTIFY_SOCKET`` (not under systemd) it does nothing.

The lane loop pings the watchdog after each frame it has been through, at most twice per
``$WATCHDOG_USEC``: when frames stop going through the loop, the pings stop and systemd
restarts the daemon (``WatchdogSec=`` in boot/anpr.service).
"""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    def __init__(self, environ: dict | None = None):
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        self.interval = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if self.address else None
        self._last_ping = 0.0

    @property
    def active(self) -> bool:
        return self._socket is not None

    def send(self, *lines: str) -> bool:
        if self._socket is None:
            return False
        try:
            self._socket.sendto("\n".join(lines).encode(), self.address)
        except OSError:
            return False  # systemd gone or socket full: the watchdog will say so
        return True

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def frame_done(self, status: str = "") -> None:
        """A frame went through the loop: ping the watchdog (rate-limited)."""
        if self.interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.interval:
            self._last_ping = now
            self.send("WATCHDOG=1", *([f"STATUS={status}"] if status else []))

    def stopping(self) -> None:
        self.send("STOPPING=1")
