"""Tracks: the sightings of one vehicle's plate across frames, its fused reading, and its event.

A track starts from a plate the full search found and is followed frame by frame. Each frame
the plate is read in adds its field probabilities to the track; the fused reading is decoded
again after each. A track emits exactly one ``ReadEvent``: early, when it has settled (every
field confident and the fused text stable); otherwise when the vehicle has left (the track is
lost) or stayed past the time limit. A lost track is remembered a little while, so a plate
missed for a few frames and found again continues its track rather than making a second event.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from edge.common.boxes import iou
from edge.common.frame import Frame
from edge.events import Evidence, ReadEvent, TrackEnded
from edge.plates import FIELDS
from edge.plates.reading import Reading
from edge.stream.config import StreamConfig
from edge.stream.vote import FULL_WEIGHT_WIDTH, Pool, weight
from edge.vision.pipeline import PlateRead

# A track whose plate was found in fewer frames than this (frames where nothing moved not counted)
# and never read in full makes no event (Track.worth_an_event).
GLIMPSE_SIGHTINGS = 3


@dataclass(frozen=True)
class Sighting:
    frame_index: int
    time: float
    box: tuple[float, float, float, float]
    width: float
    quad: tuple[tuple[float, float], ...] | None = None  # the plate's corners, where it was found


@dataclass
class Track:
    """One vehicle's plate over the frames it was seen in (mutable: it grows frame by frame)."""

    track_id: str
    sightings: list[Sighting] = field(default_factory=list)
    pool: Pool = field(default_factory=Pool)  # the frames read, pooled (edge/stream/vote.py)
    fused_texts: list[str] = field(default_factory=list)
    fused: Reading | None = None
    best: tuple[float, Reading, Evidence, tuple] | None = None  # (score, reading, evidence, quad)
    vehicle: str | None = None
    following: bool = True  # the last follow found the plate
    color_seen: bool = False  # any frame read showed the plate in colour
    emitted: bool = False
    event_id: str | None = None
    frames_seen: int = 0
    widest_read: float = 0.0  # px: the widest the plate was in a frame it was read in

    @property
    def first(self) -> Sighting:
        return self.sightings[0]

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    def predicted_box(self, frame_index: int) -> tuple[float, float, float, float]:
        """Where the plate is in frame ``frame_index``: for a frame already passed (a search's
        plates join some frames after their frame), the sighting nearest it; for a new frame,
        the last box moved and grown at the rate of the last two sightings: its centre moved on
        in a line, its width and height scaled by the same ratio each frame, so that however far
        ahead it stays a box (moving each corner in a line turns a shrinking box inside out)."""
        last = self.last
        if frame_index < last.frame_index:
            return min(self.sightings, key=lambda s: abs(s.frame_index - frame_index)).box
        if len(self.sightings) < 2 or frame_index == last.frame_index:
            return last.box
        prev = self.sightings[-2]
        steps = max(1, last.frame_index - prev.frame_index)
        ahead = min(frame_index - last.frame_index, 15) / steps
        (cx0, cy0, w0, h0), (cx, cy, w, h) = (_centre_size(s.box) for s in (prev, last))
        cx, cy = cx + (cx - cx0) * ahead, cy + (cy - cy0) * ahead
        w, h = w * (w / w0) ** ahead, h * (h / h0) ** ahead
        return (float(cx - w / 2), float(cy - h / 2), float(cx + w / 2), float(cy + h / 2))

    def _add(self, sighting: Sighting) -> None:
        self.sightings.append(sighting)
        if len(self.sightings) > 64:  # the first few and the recent ones are all a track needs
            del self.sightings[3:-32]

    def see(self, frame: Frame, plate: PlateRead) -> None:
        self._add(Sighting(frame.index, frame.time, tuple(plate.bbox), plate.width,
                           tuple((float(x), float(y)) for x, y in plate.quad)))
        self.frames_seen += 1
        self.following = True
        if plate.vehicle is not None and self.vehicle is None:
            self.vehicle = plate.vehicle.label

    def still(self, frame: Frame) -> None:
        """Nothing moved where the plate is: it is still there, as in its last sighting."""
        last = self.last
        self._add(Sighting(frame.index, frame.time, last.box, last.width, last.quad))

    def add_read(self, frame: Frame, plate: PlateRead, min_confidence: float) -> None:
        """One frame's field probabilities into the track; the fused reading decoded again."""
        w = weight(plate.width, plate.score)
        self.widest_read = max(self.widest_read, plate.width)
        self.color_seen |= plate.color_seen  # a grey frame's colour probabilities are flat: they pool as "any colour"
        self.pool.add(plate.probs, w)
        self.fused = self.pool.reading(min_confidence, self.color_seen)
        self.fused_texts.append(self.fused.spelled("?"))  # the printed fields, ? for one withheld
        score = plate.reading.confidence * w
        if self.best is None or score > self.best[0]:
            quad = tuple((float(x), float(y)) for x, y in plate.quad)
            self.best = (score, plate.reading, Evidence(frame.image, plate.rectified, frame.index), quad)

    def settled(self, config: StreamConfig) -> bool:
        """The printed fields confident and the same over the last ``settle_reads`` reads, the
        plate read at ``settle_width`` px or wider, and what the colour says of the vehicle (its
        category, what the gate checks) confident too (if it could be seen) until the plate has
        been read at ``FULL_WEIGHT_WIDTH``: a plate that wide shows all it will, so a category
        still unsure then stays unsure, and the event comes with it as read rather than when the
        car has gone. The face itself is not waited for: a design plate's thin rim, which tells
        design-yellow from white, does not get surer as the car comes closer."""
        n = config.settle_reads
        if self.fused is None or len(self.fused_texts) < n or self.widest_read < config.settle_width:
            return False
        recent = self.fused_texts[-n:]
        printed = [self.fused.fields[name] for name in FIELDS]
        if any(t != recent[0] for t in recent) or any(f.value is None or f.confidence < config.settle_confidence
                                                      for f in printed):
            return False
        if self.color_seen and self.fused.category_reading.confidence < config.settle_confidence:
            return self.widest_read >= FULL_WEIGHT_WIDTH  # the category as read: it will not get surer
        return self.fused.plate is not None

    def worth_an_event(self) -> bool:
        """Read at least once, and the reading shows a plate (its region or serial given): a
        shape that was never read as a plate is not a vehicle. A plate read only in part must
        also have been seen in ``GLIMPSE_SIGHTINGS`` frames or more: fewer is a glimpse (a far
        plate at night found for a moment, whose car is tracked again when it comes closer),
        and logging it would count the car twice."""
        if self.fused is None:
            return False
        shows_a_plate = self.fused.fields["region"].value is not None or self.fused.fields["serial"].value is not None
        return shows_a_plate and (self.fused.plate is not None or self.frames_seen >= GLIMPSE_SIGHTINGS)

    def may_continue(self, plate: PlateRead) -> bool:
        """Whether ``plate``, found where this track was lost, may be its plate: not when the two
        readings contradict each other (``Reading.contradicts``), and, once the track has made
        its event, only a plate read as its own: an unread plate joining it would never be read,
        so a new car taken for it would never be logged."""
        if plate.reading is None:
            return not self.emitted
        return self.fused is None or not self.fused.contradicts(plate.reading)

    def direction(self, ratio: float, ended: bool = True) -> str:
        """approaching, leaving, stationary; or unknown with too few sightings, and, for a
        track still going, rather than stationary (its row is brought up to date when it ends)."""
        if len(self.sightings) < 3:
            return "unknown"
        widths = [s.width for s in self.sightings]
        first, last = float(np.median(widths[:3])), float(np.median(widths[-3:]))
        if last > first * ratio:
            return "approaching"
        if last < first / ratio:
            return "leaving"
        return "stationary" if ended else "unknown"

    def emit(self, lane: str, frame_index: int, emitted: str, config: StreamConfig) -> ReadEvent:
        """The track's one event (it is marked emitted)."""
        _, single, evidence, quad = self.best
        self.emitted = True
        self.event_id = str(uuid.uuid4())
        direction = self.direction(config.approach_ratio, ended=emitted != "settled")
        return ReadEvent(
            event_id=self.event_id, lane=lane, first_seen=self.first.time, last_seen=self.last.time,
            first_frame=self.first.frame_index, last_frame=self.last.frame_index, emitted_frame=frame_index,
            emitted=emitted, frames_seen=self.frames_seen, frames_used=self.pool.count, reading=self.fused,
            single_frame=single, vehicle=self.vehicle, direction=direction,
            quad=quad, evidence=evidence, color_seen=self.color_seen, emitted_at=time.time())


def _centre_size(box) -> tuple[float, float, float, float]:
    """A box's centre, width and height (sides at least a pixel)."""
    x1, y1, x2, y2 = box
    return (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 1.0), max(y2 - y1, 1.0)


class Tracker:
    """The lane's live tracks and the ones lost a moment ago."""

    def __init__(self, lane: str, config: StreamConfig, min_confidence: float):
        self.lane, self.config, self.min_confidence = lane, config, min_confidence
        self.live: list[Track] = []
        self.lost: list[Track] = []

    def match(self, box, frame_index: int, tracks: list[Track]) -> Track | None:
        """The track whose expected plate overlaps ``box`` most (at least ``match_iou``)."""
        best, best_iou = None, self.config.match_iou
        for t in tracks:
            for candidate in {t.predicted_box(frame_index), t.last.box}:
                overlap = iou(candidate, box)
                if overlap >= best_iou:
                    best, best_iou = t, overlap
        return best

    def followed(self, plate: PlateRead, frame_index: int) -> bool:
        """A live track already follows this plate."""
        return self.match(plate.bbox, frame_index, self.live) is not None

    def found(self, frame: Frame, plate: PlateRead) -> Track:
        """A plate the full search found that no live track follows (``followed``): a new track,
        or the lost track it continues. A lost track is continued only by a plate in its place
        that may be its own: the car that comes next often shows its plate where the last one
        was lost (a leaving car where the car before it stood at the barrier; an approaching one,
        still too small to read, where a leaving car went out of sight)."""
        recent = [t for t in self.lost if frame.time - t.last.time <= self.config.rejoin_seconds
                  and t.may_continue(plate)]
        track = self.match(plate.bbox, frame.index, recent)
        if track is not None:
            self.lost.remove(track)
        else:
            track = Track(track_id=str(uuid.uuid4()))
        track.see(frame, plate)
        self.live.append(track)
        return track

    def end(self, track: Track) -> TrackEnded:
        """``track`` ends now, at its last sighting, and is kept as lost: following it after it was
        lost found a plate read as another (``Track.may_continue`` refuses it), the next car shown
        where this one went out of sight."""
        self.live.remove(track)
        self.lost.append(track)
        return self._ended(track)

    def _ended(self, track: Track) -> TrackEnded:
        """The end of ``track``'s pass, for its event's row: last sighting and direction."""
        return TrackEnded(track.event_id, track.last.time, track.last.frame_index,
                          track.direction(self.config.approach_ratio))

    def drop_duplicates(self) -> None:
        """Two tracks that came to follow the same plate are one: the one that already made its
        event stays (so the plate makes no second one), else the older."""
        kept: list[Track] = []
        for t in sorted(self.live, key=lambda t: (not t.emitted, t.first.frame_index)):
            if all(iou(t.last.box, k.last.box) < 0.5 for k in kept):
                kept.append(t)
        self.live = kept

    def expire(self, frame: Frame) -> tuple[list[ReadEvent], list[TrackEnded]]:
        """Events of tracks that left or stayed too long, and the tracks that ended."""
        events, closed = [], []
        for t in list(self.live):
            if frame.time - t.last.time > self.config.lost_after:
                self.live.remove(t)
                if not t.emitted and t.worth_an_event():
                    events.append(t.emit(self.lane, frame.index, "left", self.config))
                closed.append(self._ended(t))
                self.lost.append(t)
            elif (not t.emitted and frame.time - t.first.time > self.config.max_track_seconds
                  and t.worth_an_event()):
                events.append(t.emit(self.lane, frame.index, "time limit", self.config))
        self.lost = [t for t in self.lost if frame.time - t.last.time <= self.config.rejoin_seconds]
        return events, closed

    def finish(self, frame_index: int) -> tuple[list[ReadEvent], list[TrackEnded]]:
        """The source ended: every live track's event (if it has none yet) and its end."""
        events, closed = [], []
        for t in self.live:
            if not t.emitted and t.worth_an_event():
                events.append(t.emit(self.lane, frame_index, "source ended", self.config))
            closed.append(self._ended(t))
        self.live, self.lost = [], []
        return events, closed
