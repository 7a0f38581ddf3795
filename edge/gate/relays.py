"""Relay drivers over a serial port (pyserial): LCUS-type USB relay boards, Modbus RTU (write
single coil), a configurable ASCII line protocol, and a dry run.

Every driver is released (relay off) after each pulse, on any error during one, at start-up
(a box that lost power mid-pulse must not hold the barrier open) and when closed. A port that
disappears is reported; the next pulse, or ``reconnect()``, opens it again once it is back. A
pulse asked for while the port is gone is *not executed* and says so: it is never queued to
fire later, when the vehicle may be gone and another one at the barrier.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import serial

from edge.gate.config import GateConfig


class RelayError(RuntimeError):
    """The relay could not be driven; the message says why (port gone, no echo, bad answer)."""


@dataclass(frozen=True)
class PulseOutcome:
    executed: bool
    detail: str  # "pulsed 800 ms", "not executed: /dev/ttyUSB0 is gone (...)"

    def __str__(self) -> str:
        return self.detail


def crc16_modbus(data: bytes) -> bytes:
    """Modbus RTU CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF), low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


def lcus_frame(channel: int, on: bool) -> bytes:
    """``A0 CH STATE SUM``: the LCUS boards' command (channel 1 on: A0 01 01 A2)."""
    state = 1 if on else 0
    return bytes((0xA0, channel, state, (0xA0 + channel + state) & 0xFF))


def modbus_write_coil(address: int, coil: int, on: bool) -> bytes:
    """Function 05, write single coil (0-based ``coil``): FF00 on, 0000 off, CRC appended."""
    body = bytes((address, 0x05, coil >> 8, coil & 0xFF, 0xFF if on else 0x00, 0x00))
    return body + crc16_modbus(body)


class Relay:
    """A relay on a serial port. ``pulse(ms)`` closes it for ``ms`` and always opens it again."""

    name = "relay"

    def __init__(self, port: str, config: GateConfig, report: Callable[[str], None]):
        self.port_name, self.config, self.report = port, config, report
        self._port: serial.Serial | None = None
        self._gone_reported = False
        self._abort = threading.Event()

    def abort(self) -> None:
        """End a pulse in progress now (SIGTERM): the relay is released at once."""
        self._abort.set()

    # the bytes each driver sends; subclasses say
    def _switch(self, port: serial.Serial, on: bool) -> None:
        raise NotImplementedError

    def _open(self) -> serial.Serial:
        if self._port is None or not self._port.is_open:
            self._port = serial.Serial(self.port_name, self.config.baudrate, timeout=self.config.modbus_timeout_ms / 1000,
                                       write_timeout=1.0)
            if self._gone_reported:
                self.report(f"relay {self.port_name}: back")
                self._gone_reported = False
        return self._port

    def _lost(self, exc: Exception) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except (OSError, serial.SerialException):
                pass
        self._port = None
        if not self._gone_reported:
            self.report(f"relay {self.port_name}: port gone or not answering ({exc}); a decision to open is not "
                        "executed until it is back")
            self._gone_reported = True

    @property
    def connected(self) -> bool:
        return self._port is not None and self._port.is_open

    def reconnect(self) -> bool:
        """Open the port if it is back, releasing the relay; whether it is there now."""
        try:
            self.release()
        except RelayError:
            return False
        return True

    def release(self) -> None:
        """Relay off now (RelayError if the port cannot be reached)."""
        try:
            self._switch(self._open(), False)
        except (OSError, serial.SerialException, RelayError) as exc:
            self._lost(exc)
            raise RelayError(f"{self.port_name}: {exc}") from exc

    def pulse(self, ms: int | None = None) -> PulseOutcome:
        ms = self.config.pulse_ms if ms is None else ms
        if self._abort.is_set():
            return PulseOutcome(False, "not executed: shutting down")
        try:
            port = self._open()
        except (OSError, serial.SerialException) as exc:
            self._lost(exc)
            return PulseOutcome(False, f"not executed: {self.port_name} is gone ({exc})")
        try:
            self._switch(port, True)
        except (OSError, serial.SerialException, RelayError) as exc:
            try:  # a board that switched but did not answer must not stay on
                self._switch(port, False)
            except (OSError, serial.SerialException, RelayError):
                pass
            self._lost(exc)
            return PulseOutcome(False, f"not executed: {self.port_name}: {exc}")
        cut = self._abort.wait(ms / 1000)
        outcome = PulseOutcome(True, "pulse cut short by shutdown" if cut else f"pulsed {ms} ms")
        try:
            self._switch(port, False)
        except (OSError, serial.SerialException, RelayError) as exc:
            self._lost(exc)
            return PulseOutcome(True, f"{outcome.detail}; RELEASE FAILED: {exc}")
        return outcome

    def close(self) -> None:
        try:
            self.release()
        except RelayError:
            pass
        if self._port is not None:
            self._port.close()
            self._port = None


class LcusRelay(Relay):
    name = "lcus"

    def _switch(self, port, on):
        port.write(lcus_frame(self.config.channel, on))
        port.flush()


class ModbusRelay(Relay):
    """Write single coil, checking the echo; a missing or wrong echo is retried, then an error."""

    name = "modbus"

    def __init__(self, port: str, config: GateConfig, report, address: int = 1):
        super().__init__(port, config, report)
        if not 1 <= address <= 247:
            raise RelayError(f"modbus address {address}: expected 1 to 247")
        self.address = address

    def _switch(self, port, on):
        frame = modbus_write_coil(self.address, self.config.channel - 1, on)
        last = "no answer"
        for _ in range(1 + self.config.modbus_retries):
            port.reset_input_buffer()
            port.write(frame)
            port.flush()
            echo = port.read(len(frame))
            if echo == frame:
                return
            last = f"no answer within {self.config.modbus_timeout_ms} ms" if not echo else f"answer {echo.hex(' ')}"
        raise RelayError(f"modbus coil {self.config.channel} {'on' if on else 'off'}: {last} "
                         f"(sent {frame.hex(' ')}, expected its echo)")


class AsciiRelay(Relay):
    name = "ascii"

    def _switch(self, port, on):
        line = (self.config.ascii_on if on else self.config.ascii_off).format(channel=self.config.channel)
        port.write(line.encode("ascii", "strict"))
        port.flush()


class DryRunRelay(Relay):
    """No hardware: says what it would do."""

    name = "dry-run"

    def __init__(self, config: GateConfig, report):
        super().__init__("dry-run", config, report)

    def release(self) -> None:
        pass

    def pulse(self, ms: int | None = None) -> PulseOutcome:
        ms = self.config.pulse_ms if ms is None else ms
        if self._abort.is_set():
            return PulseOutcome(False, "not executed: shutting down")
        self.report(f"relay (dry run): would pulse channel {self.config.channel} for {ms} ms")
        return PulseOutcome(True, f"dry run: {ms} ms")

    @property
    def connected(self) -> bool:
        return True

    def close(self) -> None:
        pass


def open_relay(config: GateConfig, report: Callable[[str], None]) -> Relay:
    """The relay ``gate.relay`` names, released at once if its port is there (reported if not)."""
    kind, _, rest = config.relay.partition(":")
    if kind == "dry-run":
        return DryRunRelay(config, report)
    if kind == "modbus":
        port, _, address = rest.partition("@")
        try:
            relay: Relay = ModbusRelay(port, config, report, int(address) if address else 1)
        except ValueError:
            raise RelayError(f"gate.relay = {config.relay!r}: the Modbus address after @ must be a number") from None
    else:
        relay = {"lcus": LcusRelay, "ascii": AsciiRelay}[kind](rest, config, report)
    relay.reconnect()  # released at start-up: power lost mid-pulse must not leave the barrier open
    return relay
