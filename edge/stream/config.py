"""The ``lane`` and ``stream`` sections: what the camera is and how frames become events."""

from __future__ import annotations

from dataclasses import dataclass

from edge.common.sections import check, is_count, is_number
from edge.vision.config import check_roi


@dataclass(frozen=True)
class LaneConfig:
    """The lane one camera watches (``lane``)."""

    name: str = "lane-1"
    source: str | None = None  # csi://0, v4l2:///dev/video0, rtsp://..., http://... (MJPEG), a video file or a folder
    roi: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2 as fractions of the frame

    def __post_init__(self):
        check(isinstance(self.name, str) and 0 < len(self.name) <= 64 and self.name.isprintable(),
              "lane.name", self.name, "a printable name of 1 to 64 characters")
        check(self.source is None or (isinstance(self.source, str) and self.source.strip() != ""),
              "lane.source", self.source, "a camera URI, a video file or an image folder")
        if self.roi is not None:
            check_roi(self.roi, "lane.roi")


@dataclass(frozen=True)
class StreamConfig:
    """How the lane loop spends its time and when a track becomes an event (``stream``)."""

    # A frame is compared with the one before at 1/8 scale; a cell whose grey level moved by more
    # than motion_level counts as changed, and motion_cells changed cells mean something moved.
    motion_level: float = 10.0
    motion_cells: int = 4
    # While something moves that no track explains, a full search starts every search_every
    # frames on the second core, and its plates join the tracks that many frames later.
    search_every: int = 6
    # Plates narrower than this are followed but not read: their fields are not legible.
    min_read_width: float = 50.0
    # Early event: at least settle_reads fused readings, the fused text unchanged over the last
    # settle_reads of them, every field at settle_confidence or more (the colour only until the
    # plate has been read 160 px wide: vote.FULL_WEIGHT_WIDTH), and the plate read at least
    # settle_width px wide once (a plate just past min_read_width is read, but not decided on).
    settle_reads: int = 3
    settle_confidence: float = 0.95
    settle_width: float = 70.0
    # A track not seen for lost_after seconds has left; one open longer than max_track_seconds
    # is emitted with what it has (and then only followed, never emitted again).
    lost_after: float = 0.6
    max_track_seconds: float = 30.0
    # A plate found again within rejoin_seconds where a track was lost continues that track.
    rejoin_seconds: float = 1.5
    # Sightings of one plate: predicted box and new box overlap by at least this (IoU).
    match_iou: float = 0.2
    # Widths over the track: last / first above approach_ratio is approaching, under
    # 1 / approach_ratio leaving, otherwise stationary.
    approach_ratio: float = 1.15

    def __post_init__(self):
        for key, low, high in (("motion_level", 1, 255), ("min_read_width", 8, 2000), ("settle_width", 8, 2000),
                               ("settle_confidence", 0.5, 1), ("lost_after", 0.05, 60),
                               ("max_track_seconds", 1, 86400), ("rejoin_seconds", 0, 60),
                               ("match_iou", 0.01, 0.99), ("approach_ratio", 1.01, 10)):
            check(is_number(getattr(self, key), low, high), f"stream.{key}", getattr(self, key),
                  f"a number from {low} to {high}")
        for key, low in (("motion_cells", 1), ("search_every", 1), ("settle_reads", 1)):
            check(is_count(getattr(self, key), low), f"stream.{key}", getattr(self, key), f"an integer of at least {low}")
