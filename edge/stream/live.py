"""The live view: the daemon's latest analysed frame, with the plates it follows drawn and
their readings written in Japanese, and the lane's state, shared through files
(edge/common/live.py) at most every ``web.live_interval_s``.

The frame loop only hands over a reference (``offer``); drawing, JPEG encoding and writing run
on a thread of their own, and a frame offered while the last is still being written replaces it
rather than waiting. A failed write (full disk) is reported once and never stops the loop.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from edge.common.live import live_paths, replace_file
from edge.stream.lane import PlateInView
from edge.vision.annotate import write_captions

ROI_COLOUR = (255, 200, 0)
MAX_WIDTH = 960  # the page shows a phone- or laptop-sized picture, not the camera's full frame
CAPTION_SIZE = 18


def draw(image: np.ndarray, plates: list[PlateInView], roi: tuple | None = None) -> np.ndarray:
    """A copy of ``image`` (at most ``MAX_WIDTH`` wide) with the ROI and each plate drawn."""
    h, w = image.shape[:2]
    scale = min(1.0, MAX_WIDTH / w)
    out = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 \
        else image.copy()
    if roi is not None:
        x1, y1, x2, y2 = (int(round(v * scale)) for v in roi)
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), ROI_COLOUR, 1)
    for p in plates:
        colour = (0, 220, 0) if p.valid else (0, 190, 255)
        cv2.polylines(out, [np.round(np.array(p.quad) * scale).astype(np.int32)], True, colour, 2, cv2.LINE_AA)
    captions = [(np.array(p.quad) * scale, p.text, p.valid) for p in plates if p.text]
    return write_captions(out, captions, CAPTION_SIZE) if captions else out


class LiveView:
    """``offer(image, plates, state)`` from the frame loop; ``close()`` at the end.

    ``heartbeat() -> state``, when given, is written (without a frame) whenever no frame has
    been offered for two intervals: a camera that gives nothing still shows as a running daemon
    with its camera not connected, not as a daemon that has stopped."""

    def __init__(self, db_path: str | Path, interval_s: float, report: Callable[[str], None],
                 heartbeat: Callable[[], dict] | None = None):
        self.frame_path, self.state_path = live_paths(db_path)
        self.interval_s, self.report, self.heartbeat = interval_s, report, heartbeat
        self._slot: tuple | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._last_offer = 0.0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="live view", daemon=True)
        self._thread.start()

    def due(self) -> bool:
        """Whether a frame offered now would be shown (saves the loop gathering it otherwise)."""
        return time.monotonic() - self._last_offer >= self.interval_s

    def offer(self, image: np.ndarray, plates: list[PlateInView], state: dict, roi: tuple | None = None) -> None:
        self._last_offer = time.monotonic()
        with self._lock:
            self._slot = (image, plates, state, roi)
        self._ready.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._ready.wait(max(self.interval_s, 0.1)):
                if self.heartbeat is not None and time.monotonic() - self._last_offer > 2 * self.interval_s:
                    self._write(None, [], self.heartbeat(), None)
                continue
            self._ready.clear()
            with self._lock:
                slot, self._slot = self._slot, None
            if slot is not None:
                self._write(*slot)

    def _write(self, image, plates, state, roi) -> None:
        try:
            if image is not None:
                ok, data = cv2.imencode(".jpg", draw(image, plates, roi), [cv2.IMWRITE_JPEG_QUALITY, 80])
                if ok:
                    replace_file(self.frame_path, data.tobytes())
            replace_file(self.state_path, json.dumps({**state, "updated": time.time()}, ensure_ascii=False).encode())
            if self._failing:
                self.report(f"live view: writing {self.frame_path} again")
                self._failing = False
        except OSError as exc:
            if not self._failing:
                self.report(f"live view: cannot write {self.frame_path} ({exc.strerror or exc}); the lane goes on")
                self._failing = True

    def close(self, final_state: dict | None = None) -> None:
        """Stop; ``final_state`` (the daemon has stopped) is written last, without a frame."""
        self._stop.set()
        self._ready.set()
        self._thread.join(timeout=5)
        if final_state is not None:
            self._write(None, [], final_state, None)
