"""Evidence pictures: JPEG files beside the database, durable before the row that names them.

Each picture is written to a temporary name, flushed and fsynced, renamed into place, and its
folder fsynced, so after a power cut a row never names a picture that is not whole on disk.
A disk that is full (or any write error) loses the pictures, never the event: the caller is
told why, and the row is written without them.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np


class EvidenceError(OSError):
    """A picture could not be written; the message says why (disk full, permissions...)."""


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_jpeg(path: Path, image: np.ndarray, quality: int) -> int:
    """Write ``image`` to ``path`` durably; returns its size in bytes, or raises EvidenceError."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise EvidenceError(f"{path.name}: the picture could not be encoded as JPEG")
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data.tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise EvidenceError(exc.errno, f"{path}: {exc.strerror or exc}") from exc
    return int(data.size)


def remove(root: Path, names: list[str | None]) -> int:
    """Delete evidence files (names relative to ``root``); returns the bytes freed."""
    freed = 0
    for name in names:
        if not name:
            continue
        path = root / name
        try:
            freed += path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        try:
            path.parent.rmdir()  # the day's folder, once empty
        except OSError:
            pass
    return freed
