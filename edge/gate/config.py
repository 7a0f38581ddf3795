"""The ``gate`` section: how the barrier is decided and driven."""

from __future__ import annotations

from dataclasses import dataclass

from edge.common.sections import check, is_count, is_number

MODES = ("log-only", "allow-list", "open-all")
TOLERANCES = ("none", "serial-digit")
RELAY_KINDS = ("dry-run", "lcus", "modbus", "ascii")


@dataclass(frozen=True)
class GateConfig:
    # log-only: record, never pulse; allow-list: open for listed plates only (a parking gate);
    # open-all: open for every vehicle read (a toll lane that logs and opens)
    mode: str = "log-only"
    # dry-run | lcus:PORT | modbus:PORT[@ADDRESS] | ascii:PORT
    relay: str = "dry-run"
    channel: int = 1  # the LCUS board's relay, or the Modbus coil (1-based)
    pulse_ms: int = 800
    baudrate: int = 9600
    # every field of a plate must be read at least this surely to open (colour too, where seen)
    min_field_confidence: float = 0.95
    # a named, listed exception to the threshold (none | serial-digit; see edge/gate/policy.py)
    tolerance: str = "none"
    tolerance_floor: float = 0.8  # serial-digit: the serial must still be read at least this surely
    cooldown_plate_seconds: float = 20.0  # the same plate is not opened for again within this
    cooldown_gate_seconds: float = 2.0  # no second pulse within this of the last
    ascii_on: str = "RELAY {channel} ON\r\n"
    ascii_off: str = "RELAY {channel} OFF\r\n"
    modbus_timeout_ms: int = 300
    modbus_retries: int = 2

    def __post_init__(self):
        check(self.mode in MODES, "gate.mode", self.mode, " | ".join(MODES))
        check(isinstance(self.relay, str) and self.relay.split(":", 1)[0] in RELAY_KINDS
              and (self.relay == "dry-run" or self.relay.count(":") >= 1 and self.relay.split(":", 1)[1] != ""),
              "gate.relay", self.relay, "dry-run, lcus:PORT, modbus:PORT[@ADDRESS] or ascii:PORT")
        check(is_count(self.channel, 1) and self.channel <= 255, "gate.channel", self.channel, "an integer from 1 to 255")
        check(is_count(self.pulse_ms, 50) and self.pulse_ms <= 10000, "gate.pulse_ms", self.pulse_ms,
              "an integer from 50 to 10000")
        check(self.baudrate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200), "gate.baudrate", self.baudrate,
              "a standard rate, 1200 to 115200")
        check(is_number(self.min_field_confidence, 0.5, 1), "gate.min_field_confidence", self.min_field_confidence,
              "a number from 0.5 to 1")
        check(self.tolerance in TOLERANCES, "gate.tolerance", self.tolerance, " | ".join(TOLERANCES))
        check(is_number(self.tolerance_floor, 0.5, self.min_field_confidence), "gate.tolerance_floor",
              self.tolerance_floor, f"a number from 0.5 to gate.min_field_confidence ({self.min_field_confidence})")
        for key in ("cooldown_plate_seconds", "cooldown_gate_seconds"):
            check(is_number(getattr(self, key), 0, 86400), f"gate.{key}", getattr(self, key), "0 to 86400 seconds")
        for key in ("ascii_on", "ascii_off"):
            check(isinstance(getattr(self, key), str) and getattr(self, key) != "", f"gate.{key}", getattr(self, key),
                  "a non-empty line ({channel} stands for the channel)")
        check(is_count(self.modbus_timeout_ms, 10), "gate.modbus_timeout_ms", self.modbus_timeout_ms, "at least 10")
        check(is_count(self.modbus_retries, 0) and self.modbus_retries <= 10, "gate.modbus_retries",
              self.modbus_retries, "0 to 10")
