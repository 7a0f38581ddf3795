"""The lane loop: what each frame needs, and no more, so one lane keeps up with its camera.

A full search of a frame costs about 120 ms on a 2-core CPU; a 30 fps camera gives 33 ms. So
each frame gets the cheapest look that misses nothing:

* **nothing moved** in the lane (a 1/8-scale grey difference, about 1 ms): tracked plates are
  still where they were, nothing runs;
* **a tracked plate moved**: it is *followed* (one refine pass of the segmenter round where it
  should be, about 10 ms) and, until its track has settled, *read* (about 14 ms);
* **something moved that no track explains**: a *full search* (vehicles, plates) starts on the
  second core and its plates join the tracks ``stream.search_every`` frames later, while this
  core goes on following. At most one search is in flight.

Which frame a search's plates join at is fixed by frame numbers, not by how fast the search
ran, so a video file gives the same events on any machine.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from edge.common.frame import Frame
from edge.events import ReadEvent, TrackEnded
from edge.plates.japanese import MISSING
from edge.stream.config import LaneConfig, StreamConfig
from edge.stream.motion import MotionGate
from edge.stream.tracker import Track, Tracker
from edge.vision.pipeline import Pipeline, PlateRead, ReadResult

STAGES = ("motion", "search", "follow", "read", "track")


@dataclass
class LaneStats:
    """What the loop did: frames seen and analysed, and the time each stage took."""

    frames_seen: int = 0
    frames_analysed: int = 0  # frames in which any model ran (a follow, a read or a search began)
    searches: int = 0
    follows: int = 0
    reads: int = 0
    stage_ms: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STAGES})
    started: float = field(default_factory=time.perf_counter)
    # Would a camera giving these frames at their capture times have been kept up with? Each
    # frame is taken when it arrives or when the one before is done, whichever is later; its
    # lag is how long after its arrival it was done.
    lag_max_ms: float = 0.0
    frames_late: int = 0  # done more than one frame interval after arriving
    _first_time: float | None = None
    _busy_until: float = 0.0
    _last_time: float | None = None

    def timed_frame(self, capture_time: float, seconds: float) -> None:
        if self._first_time is None:
            self._first_time = capture_time
        arrival = capture_time - self._first_time
        interval = capture_time - self._last_time if self._last_time is not None else 0.0
        self._last_time = capture_time
        done = max(arrival, self._busy_until) + seconds
        self._busy_until = done
        lag = done - arrival
        self.lag_max_ms = max(self.lag_max_ms, lag * 1e3)
        self.frames_late += interval > 0 and lag > interval

    def to_dict(self) -> dict:
        wall = time.perf_counter() - self.started
        return {"frames_seen": self.frames_seen, "frames_analysed": self.frames_analysed,
                "searches": self.searches, "follows": self.follows, "reads": self.reads,
                "wall_s": round(wall, 2), "frames_per_second": round(self.frames_seen / wall, 1) if wall else None,
                "frames_analysed_per_second": round(self.frames_analysed / wall, 1) if wall else None,
                "camera_lag_max_ms": round(self.lag_max_ms, 1), "frames_late": self.frames_late,
                "stage_ms_per_frame": {k: round(v / max(1, self.frames_seen), 2) for k, v in self.stage_ms.items()},
                "stage_ms_total": {k: round(v, 1) for k, v in self.stage_ms.items()}}


@dataclass(frozen=True)
class PlateInView:
    """A plate the lane is following now, as the operator's live view draws it."""

    quad: tuple[tuple[float, float], ...]
    text: str | None  # the fused reading so far, fields in plate order (？ for one withheld)
    valid: bool  # every field read
    emitted: bool  # its event is written


@dataclass(frozen=True)
class Step:
    """What one frame produced: events emitted, tracks that ended (to update their last sighting)."""

    events: list[ReadEvent]
    closed: list[TrackEnded]


class LaneLoop:
    """One lane's frames in, read events out. ``step(frame)`` per frame, ``finish()`` at the end."""

    def __init__(self, pipeline: Pipeline, lane: LaneConfig, config: StreamConfig, parallel: bool = True):
        self.pipeline, self.lane, self.config = pipeline, lane, config
        self.tracker = Tracker(lane.name, config, pipeline.config.min_field_confidence)
        self.motion = MotionGate(config.motion_level, config.motion_cells)
        self.stats = LaneStats()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search") if parallel else None
        self._pending: tuple[int, Future, Frame] | None = None  # (frame index its plates join at, the search, its frame)
        self._last_search = -10 ** 9
        self._last_index = -1
        self._roi: tuple[tuple[int, int], tuple] | None = None  # (frame size, the lane's ROI in its pixels)

    def _timed(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.stats.stage_ms[stage] += (now - t0) * 1e3
        return now

    def step(self, frame: Frame) -> Step:
        started = time.perf_counter()
        result = self._step(frame)
        self.stats.timed_frame(frame.time, time.perf_counter() - started)
        return result

    def _step(self, frame: Frame) -> Step:
        c, stats = self.config, self.stats
        stats.frames_seen += 1
        self._last_index = frame.index
        h, w = frame.image.shape[:2]
        if self._roi is None or self._roi[0] != (w, h):
            self._roi = ((w, h), self.pipeline.config.roi_box(w, h, self.lane.roi))
        roi = self._roi[1]
        analysed = False
        events: list[ReadEvent] = []

        t = time.perf_counter()
        moved = self.motion.changed(frame.image, roi)
        t = self._timed("motion", t)

        if self._pending is not None and frame.index >= self._pending[0]:
            _, search, searched = self._pending
            self._pending = None
            found = search.result()
            t = self._timed("search", t)  # only the time spent waiting for it here
            events += self._join(found, searched)
            t = time.perf_counter()

        explained, ended = 0, []
        for track in list(self.tracker.live):
            box = track.predicted_box(frame.index)
            region = _grown(box, 0.5)
            cells = 0 if moved is None else self.motion.cells_in(moved, region, roi)
            explained += cells
            if cells == 0 and track.following:
                track.still(frame)
                continue
            analysed = True
            plate = self.pipeline.follow(frame, box)
            stats.follows += 1
            t = self._timed("follow", t)
            if plate is None:
                track.following = False
                continue
            if not track.following and track.emitted and plate.width >= c.min_read_width:
                # found again after it was lost: this car's plate, or the next car's where this one went
                plate = self._read(plate)
                t = time.perf_counter()
                if not track.may_continue(plate):  # another car's: this track ends, the plate is taken as found
                    ended.append(self.tracker.end(track))
                    events += self._found(plate, frame, readable=True)
                    continue
            track.see(frame, plate)
            if not track.emitted and plate.width >= c.min_read_width:
                events += self._add_read(track, frame, self._read(plate))
                t = time.perf_counter()
        self.tracker.drop_duplicates()

        unexplained = 0 if moved is None else int(moved.sum()) - explained
        if (unexplained >= c.motion_cells and self._pending is None
                and frame.index - self._last_search >= c.search_every):
            analysed = True
            stats.searches += 1
            self._last_search = frame.index
            if self._pool is None:
                found = self.pipeline.find(frame, self.lane.roi)
                t = self._timed("search", t)
                events += self._join(found, frame)
                t = time.perf_counter()
            else:
                self._pending = (frame.index + c.search_every,
                                 self._pool.submit(self.pipeline.find, frame, self.lane.roi), frame)

        expired, closed = self.tracker.expire(frame)
        events += expired
        self._timed("track", t)
        stats.frames_analysed += analysed
        return Step(events, ended + closed)

    def _read(self, plate: PlateRead) -> PlateRead:
        """``plate`` with its fields read (timed as the read stage)."""
        t = time.perf_counter()
        plate = self.pipeline.read([plate])[0]
        self.stats.reads += 1
        self._timed("read", t)
        return plate

    def _add_read(self, track: Track, frame: Frame, plate: PlateRead) -> list[ReadEvent]:
        """A read plate into its track; the track's event if it has settled."""
        track.add_read(frame, plate, self.pipeline.config.min_field_confidence)
        if track.settled(self.config):
            return [track.emit(self.lane.name, frame.index, "settled", self.config)]
        return []

    def _join(self, found: ReadResult, searched: Frame) -> list[ReadEvent]:
        """The plates a search found in frame ``searched`` start or continue tracks, read as of
        that frame: read before they are matched, since what a plate says decides whether it
        continues a lost track."""
        events = []
        for plate in found.plates:
            if self.tracker.followed(plate, searched.index):
                continue
            readable = plate.width >= self.config.min_read_width
            events += self._found(self._read(plate) if readable else plate, searched, readable)
        return events

    def _found(self, plate: PlateRead, frame: Frame, readable: bool) -> list[ReadEvent]:
        """A plate no live track follows starts a track or continues a lost one (``Tracker.found``),
        its reading added where it was read."""
        track = self.tracker.found(frame, plate)
        return self._add_read(track, frame, plate) if readable and not track.emitted else []

    @property
    def roi(self) -> tuple[float, float, float, float] | None:
        """The lane's region of interest in the last frame's pixels (None before the first frame)."""
        return None if self._roi is None else self._roi[1]

    def in_view(self) -> list[PlateInView]:
        """The plates followed in the last frame, with their fused readings."""
        out = []
        for track in self.tracker.live:
            last = track.last
            quad = last.quad or ((last.box[0], last.box[1]), (last.box[2], last.box[1]),
                                 (last.box[2], last.box[3]), (last.box[0], last.box[3]))
            fused = track.fused
            text = fused.spelled(MISSING) if fused else None
            out.append(PlateInView(quad, text, bool(fused and fused.plate), track.emitted))
        return out

    def finish(self) -> Step:
        """The source ended: the search in flight is dropped, every open track gives its event."""
        if self._pending is not None:
            self._pending[1].cancel()
            self._pending = None
        events, closed = self.tracker.finish(self._last_index)
        return Step(events, closed)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _grown(box, by: float) -> tuple[float, float, float, float]:
    """``box`` grown by ``by`` of its width and height on every side."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * by, (y2 - y1) * by
    return (x1 - dx, y1 - dy, x2 + dx, y2 + dy)
