"""The gate for one lane: a policy's decision before an event is written, the relay's pulse
after it is committed (edge/store/writer.py calls both, in that order).

Decisions are made at the event's capture time (its last sighting), so validity windows and
cooldowns follow the camera's clock, and a video file gives the same decisions at any speed.
"""

from __future__ import annotations

import time
from typing import Callable

from edge.events import ListedPlate, ReadEvent
from edge.gate.config import GateConfig
from edge.gate.policy import Decision, GatePolicy
from edge.gate.relays import Relay

# A decision to open that could only be carried out this long after it was made (the database
# was locked, say) is not carried out: the vehicle may be gone, and another one at the barrier.
MAX_DECISION_AGE = 10.0


class Gate:
    def __init__(self, config: GateConfig, relay: Relay, listed: Callable[[], list[ListedPlate]]):
        self.config, self.relay, self.listed = config, relay, listed
        self.policy = GatePolicy(config)
        self._decisions: dict[str, tuple[Decision, float]] = {}

    def decide(self, event: ReadEvent) -> tuple[str, str, str | None]:
        """(decision, reason, the listed entry's label) for the event's row."""
        decision = self.policy.decide(event, self.listed(), event.last_seen)
        self._decisions[event.event_id] = (decision, time.monotonic())
        return decision.action, decision.reason, decision.listed.label if decision.listed else None

    def act(self, event: ReadEvent, _stored) -> str | None:
        """Pulse for an event whose row is committed and whose decision was to open; the outcome."""
        decision, decided = self._decisions.pop(event.event_id, (None, 0.0))
        if decision is None or not decision.opens:
            return None
        age = time.monotonic() - decided
        if age > MAX_DECISION_AGE:
            return f"not executed: the row was committed {age:.0f} s after the decision (at most {MAX_DECISION_AGE:.0f})"
        return str(self.relay.pulse())

    def close(self) -> None:
        self.relay.close()
