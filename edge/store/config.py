"""The ``store`` section: where events and their pictures are kept, and for how long."""

from __future__ import annotations

from dataclasses import dataclass

from edge.common.sections import check, is_count, is_number


@dataclass(frozen=True)
class StoreConfig:
    path: str = "anpr-events.db"
    evidence_dir: str | None = None  # None: beside the database, DB_STEM-evidence/
    evidence: bool = True  # keep the full frame and the rectified plate of each event
    jpeg_quality: int = 90
    keep_days: float = 90.0  # rows and pictures older than this are deleted
    # Database and pictures together stay under this; pictures of the oldest events go first,
    # then, only when no picture is left, the oldest rows.
    disk_budget_mb: float = 4096.0
    busy_timeout_ms: int = 5000  # how long a write waits for another process's lock

    def __post_init__(self):
        check(isinstance(self.path, str) and self.path.strip() != "", "store.path", self.path, "a file path")
        check(self.evidence_dir is None or (isinstance(self.evidence_dir, str) and self.evidence_dir.strip() != ""),
              "store.evidence_dir", self.evidence_dir, "a folder path")
        check(isinstance(self.evidence, bool), "store.evidence", self.evidence, "true or false")
        check(is_count(self.jpeg_quality, 10) and self.jpeg_quality <= 100, "store.jpeg_quality",
              self.jpeg_quality, "an integer from 10 to 100")
        check(is_number(self.keep_days, 0.001), "store.keep_days", self.keep_days, "a positive number of days")
        check(is_number(self.disk_budget_mb, 0.01), "store.disk_budget_mb", self.disk_budget_mb,
              "a number of megabytes, at least 0.01")
        check(is_count(self.busy_timeout_ms, 0), "store.busy_timeout_ms", self.busy_timeout_ms,
              "a non-negative integer of milliseconds")
