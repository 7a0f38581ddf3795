"""``ReadEvent``: one vehicle's pass, as the tracker emits it and the store keeps it (DESIGN.md).

A value with no behaviour: the lane loop (edge/stream) makes it, the store (edge/store) writes
it, the gate (edge/gate) decides on it. It lives below all three so none imports another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.plates import PlateText
from edge.plates.reading import READ_FIELDS, Reading

DIRECTIONS = ("approaching", "leaving", "stationary", "unknown")
# Why an event was emitted when it was: every field confident and stable; the vehicle left
# (its track was lost); it stayed longer than the lane's time limit; the source ended; the
# daemon was told to stop (SIGTERM/SIGINT) while the vehicle was in view.
EMITTED = ("settled", "left", "time limit", "source ended", "stopped")


@dataclass(frozen=True, eq=False)
class Evidence:
    """The pictures kept with an event: the full frame and the rectified plate of its best sighting."""

    frame: np.ndarray  # BGR
    plate: np.ndarray  # BGR, the canonical 336 x 168 face-on plate
    frame_index: int


@dataclass(frozen=True, eq=False)
class ReadEvent:
    """One vehicle's pass: its fields fused over the frames it was read in, and decoded once."""

    event_id: str  # unique (a UUID), kept by every copy of the event off the box, for de-duplication
    lane: str
    first_seen: float  # capture times, seconds since the epoch
    last_seen: float
    first_frame: int
    last_frame: int
    emitted_frame: int  # the frame whose processing emitted it
    emitted: str  # one of EMITTED
    frames_seen: int  # frames in which the plate was followed or found
    frames_used: int  # frames whose reading went into the fused fields
    reading: Reading  # the fused fields, decoded under the plate grammar
    single_frame: Reading  # the single most confident frame's own reading, for comparison
    vehicle: str | None  # car | bus | truck | motorbike, when the detector saw one
    direction: str  # one of DIRECTIONS
    quad: tuple[tuple[float, float], ...]  # the plate's corners in the evidence frame
    evidence: Evidence | None = field(default=None, repr=False)
    color_seen: bool = True  # False: every frame was grey (infrared, monochrome): the colour was not seen
    emitted_at: float = 0.0  # wall clock when the lane loop emitted it (to time the gate behind it)

    @property
    def text(self) -> str | None:
        """The canonical plate when every field was read, else None."""
        return self.reading.plate.format() if self.reading.plate else None

    @property
    def confidence(self) -> float:
        return self.reading.confidence

    def spelled(self, missing: str = "？") -> str:
        """The fields in plate order as a person reads them (``品川 300 さ 12-34``), ``missing``
        for one withheld."""
        return self.reading.spelled(missing)

    def to_dict(self) -> dict:
        """JSON-ready, without the pictures (the store adds their paths)."""
        r, s = self.reading, self.single_frame
        return {
            "event_id": self.event_id, "lane": self.lane, "first_seen": self.first_seen,
            "last_seen": self.last_seen, "first_frame": self.first_frame, "last_frame": self.last_frame,
            "emitted_frame": self.emitted_frame, "emitted": self.emitted, "frames_seen": self.frames_seen,
            "frames_used": self.frames_used, "text": self.text,
            **{name: r.fields[name].value for name in READ_FIELDS},
            "number": r.number, "category": r.category, "valid": r.plate is not None,
            "confidence": round(r.confidence, 4),
            "fields": {name: r.fields[name].to_dict() for name in READ_FIELDS},
            "single_frame": {"text": s.plate.format() if s.plate else None, "confidence": round(s.confidence, 4),
                             "fields": {name: s.fields[name].to_dict() for name in READ_FIELDS}},
            "vehicle": self.vehicle, "direction": self.direction, "color_seen": self.color_seen,
            "emitted_at": self.emitted_at,
            "quad": [[round(x, 1), round(y, 1)] for x, y in self.quad],
        }


@dataclass(frozen=True)
class TrackEnded:
    """A vehicle's track ended (it left, or the run stopped): its event's final last sighting
    and direction. ``event_id`` is None when the track never made an event."""

    event_id: str | None
    last_seen: float
    last_frame: int
    direction: str


@dataclass(frozen=True)
class ListedPlate:
    """One allow-list entry: a plate (colour optional), who it is, and when it is valid."""

    plate: PlateText
    label: str = ""
    valid_from: float | None = None  # seconds since the epoch; None: always
    valid_until: float | None = None
    added_by: str = ""

    def valid_at(self, when: float) -> bool:
        return (self.valid_from is None or self.valid_from <= when) and (self.valid_until is None or when <= self.valid_until)
