"""What a place events are delivered to looks like to the publisher (edge/publish/deliver.py)."""

from __future__ import annotations

from typing import Protocol

from edge.store.outbox import Message


class DeliveryError(RuntimeError):
    """The far end did not take the message; it stays in the outbox."""


class Sink(Protocol):
    name: str  # one of edge/store/outbox.SINKS

    def ready(self) -> bool:
        """Whether a try can be made now (an MQTT connection is up); not a try in itself."""

    def deliver(self, message: Message) -> None:
        """Hand the message over and wait for the far end to acknowledge it; DeliveryError if not."""

    def close(self) -> None: ...
