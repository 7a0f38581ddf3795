"""Relay drivers through a pseudo-terminal, with a real serial reader on the other end."""

import os
import select
import threading
import time
import tty

import pytest

from edge.gate.config import GateConfig
from edge.gate.relays import crc16_modbus, lcus_frame, modbus_write_coil, open_relay


class Pty:
    """A pseudo-terminal: the relay driver opens ``path`` (through a stable symlink, as udev
    gives one); the test reads and answers on the master side."""

    def __init__(self, link):
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(slave)
        self._slave = slave
        self.link = link
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.ttyname(slave), link)

    def read(self, timeout=1.0, until=None) -> bytes:
        data, deadline = b"", time.time() + timeout
        while time.time() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                data += os.read(self.master, 1024)
                if until is not None and len(data) >= until:
                    break
        return data

    def unplug(self):
        os.unlink(self.link)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def pty(tmp_path):
    p = Pty(str(tmp_path / "ttyRELAY"))
    yield p
    for fd in (p.master, p._slave):
        try:
            os.close(fd)
        except OSError:
            pass


def test_modbus_crc_matches_published_vectors():
    # Modbus over serial line specification examples and the common coil frames
    assert crc16_modbus(bytes.fromhex("01 03 00 00 00 0A")) == bytes.fromhex("C5 CD")
    assert modbus_write_coil(1, 0, True) == bytes.fromhex("01 05 00 00 FF 00 8C 3A")
    assert modbus_write_coil(1, 0, False) == bytes.fromhex("01 05 00 00 00 00 CD CA")
    assert lcus_frame(1, True) == bytes.fromhex("A0 01 01 A2") and lcus_frame(1, False) == bytes.fromhex("A0 01 00 A1")


def test_lcus_is_released_at_start_pulsed_and_released(pty):
    said = []
    relay = open_relay(GateConfig(relay=f"lcus:{pty.link}", pulse_ms=100), said.append)
    assert pty.read(0.3) == bytes.fromhex("A0 01 00 A1")  # off at start-up
    started = time.time()
    outcome = relay.pulse()
    assert outcome.executed and time.time() - started >= 0.1
    assert pty.read(0.3) == bytes.fromhex("A0 01 01 A2 A0 01 00 A1")
    relay.close()


def test_lcus_other_channel(pty):
    relay = open_relay(GateConfig(relay=f"lcus:{pty.link}", channel=2, pulse_ms=50), lambda m: None)
    pty.read(0.2)
    relay.pulse()
    assert pty.read(0.3) == bytes.fromhex("A0 02 01 A3 A0 02 00 A2")


def _echo(pty, frames, stop):
    """A Modbus slave that echoes each write-coil request (as the function 05 reply does)."""
    while not stop.is_set():
        data = pty.read(0.1, until=8)
        if len(data) >= 8:
            frames.append(data[:8])
            os.write(pty.master, data[:8])


def test_modbus_write_coil_with_its_echo(pty):
    frames, stop = [], threading.Event()
    echo = threading.Thread(target=_echo, args=(pty, frames, stop), daemon=True)
    echo.start()
    relay = open_relay(GateConfig(relay=f"modbus:{pty.link}@3", channel=2, pulse_ms=100), lambda m: None)
    outcome = relay.pulse()
    stop.set()
    echo.join()  # before the pty's descriptors are closed and given to the next test
    assert outcome.executed, outcome
    assert frames == [modbus_write_coil(3, 1, False), modbus_write_coil(3, 1, True), modbus_write_coil(3, 1, False)]
    for f in frames:
        assert crc16_modbus(f[:6]) == f[6:]


def test_modbus_without_an_echo_is_retried_then_reported(pty):
    said = []
    relay = open_relay(GateConfig(relay=f"modbus:{pty.link}", modbus_timeout_ms=50, modbus_retries=2, pulse_ms=50),
                       said.append)
    assert any("not answering" in s for s in said)  # the release at start got no echo either
    outcome = relay.pulse()
    assert not outcome.executed
    assert "not executed" in outcome.detail and "no answer within 50 ms" in outcome.detail
    sent = pty.read(0.3)
    # each command tried 3 times: the release at start, the pulse, the release after the failed pulse
    assert sent.count(modbus_write_coil(1, 0, True)) == 3 and sent.count(modbus_write_coil(1, 0, False)) == 6


def test_ascii_lines(pty):
    relay = open_relay(GateConfig(relay=f"ascii:{pty.link}", pulse_ms=50, ascii_on="ON {channel}\n",
                                  ascii_off="OFF {channel}\n"), lambda m: None)
    relay.pulse()
    assert pty.read(0.3) == b"OFF 1\nON 1\nOFF 1\n"


def test_a_port_that_goes_is_not_executed_and_comes_back(tmp_path):
    link = str(tmp_path / "ttyRELAY")
    first = Pty(link)
    said = []
    relay = open_relay(GateConfig(relay=f"lcus:{link}", pulse_ms=50), said.append)
    first.read(0.2)
    first.unplug()
    outcome = relay.pulse()
    assert not outcome.executed and "not executed" in outcome.detail
    assert any("port gone" in s for s in said)
    again = Pty(link)  # plugged back in (udev gives it the same name)
    time.sleep(0.05)
    outcome = relay.pulse()
    assert outcome.executed, outcome
    assert again.read(0.3) == bytes.fromhex("A0 01 01 A2 A0 01 00 A1")  # nothing queued from the first decision
    assert any("back" in s for s in said)


def test_abort_cuts_a_pulse_short_and_releases(pty):
    relay = open_relay(GateConfig(relay=f"lcus:{pty.link}", pulse_ms=5000), lambda m: None)
    pty.read(0.2)
    threading.Timer(0.3, relay.abort).start()
    started = time.time()
    outcome = relay.pulse()
    assert time.time() - started < 1.5 and "cut short" in outcome.detail
    assert pty.read(0.3) == bytes.fromhex("A0 01 01 A2 A0 01 00 A1")
    assert not relay.pulse().executed  # no new pulse once shutting down
