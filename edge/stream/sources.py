"""Frame sources: ``open_source(uri)`` for cameras, streams, video files and image folders.

| URI | on a Jetson (jetson-utils present) | elsewhere |
|---|---|---|
| ``csi://0`` | jetson-utils ``videoSource`` | refused: a CSI camera needs the Jetson |
| ``v4l2:///dev/video0``, ``/dev/video0`` | jetson-utils ``videoSource`` | OpenCV (V4L2) |
| ``rtsp://...`` | jetson-utils ``videoSource`` | OpenCV (FFmpeg) |
| ``http(s)://...`` (MJPEG) | OpenCV | OpenCV |
| a video file | OpenCV | OpenCV |
| a folder of images | sorted by name | sorted by name |

Live sources (cameras and streams) are read by a thread of their own that keeps only the newest
frame: the lane loop takes the newest one when it is ready, so it never lags behind the camera
and the frames it had no time for are dropped (and counted). A camera that never starts or
drops out is reported and opened again with growing pauses (0.5 s doubling to 30 s), never in a
busy loop. Files and folders give every frame, in order, and end.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from edge.common.frame import Frame

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".ts", ".mjpeg", ".mjpg")
BACKOFF_START, BACKOFF_MAX = 0.5, 30.0


class SourceError(RuntimeError):
    """A source that cannot be opened at all (no such file, an unknown scheme, CSI without a Jetson)."""


@dataclass
class SourceStats:
    frames: int = 0  # handed to the loop
    dropped: int = 0  # captured while the loop was busy, replaced by newer ones
    unreadable: int = 0  # frames that could not be decoded, skipped
    reconnects: int = 0
    connected: bool = False


class FrameSource:
    """Frames one after another: iterate it; ``close()`` when done."""

    name: str
    live: bool = False

    def __init__(self):
        self.stats = SourceStats()
        self._stopping = False

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def stop(self) -> None:
        """Ask the iteration to end soon (safe from a signal handler: it only sets a flag)."""
        self._stopping = True

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _report_default(message: str) -> None:
    import sys
    print(f"anpr: {message}", file=sys.stderr, flush=True)


class ImageFolder(FrameSource):
    """The images of a folder, sorted by name, one frame each at ``fps`` frames a second of
    nominal time. An image that cannot be read is reported and skipped."""

    def __init__(self, folder: Path, fps: float = 1.0, report: Callable[[str], None] = _report_default):
        super().__init__()
        self.name, self.fps, self.report = str(folder), fps, report
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder")

    def __iter__(self) -> Iterator[Frame]:
        start = time.time()
        self.stats.connected = True
        for index, path in enumerate(self.files):
            if self._stopping:
                return
            image = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR) if path.stat().st_size else None
            if image is None:
                self.stats.unreadable += 1
                self.report(f"{path}: not a readable image, skipped")
                continue
            self.stats.frames += 1
            yield Frame(image, index, start + index / self.fps)


class VideoFile(FrameSource):
    """Every frame of a video file, in order; times are the file's own timestamps from the start
    of the run. A frame that fails to decode mid-file is counted and skipped; the file ends the
    source."""

    def __init__(self, path: Path, report: Callable[[str], None] = _report_default):
        super().__init__()
        self.name, self.report = str(path), report
        self._cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            raise SourceError(f"{path}: not a video OpenCV can read")
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        if not 1 <= self.fps <= 240:
            self.fps = 30.0

    def __iter__(self) -> Iterator[Frame]:
        start, index, failures = time.time(), 0, 0
        self.stats.connected = True
        while not self._stopping:
            ok = self._cap.grab()
            if not ok:
                break
            ok, image = self._cap.retrieve()
            if not ok or image is None:
                self.stats.unreadable += 1
                failures += 1
                if failures > 30:  # the rest of the file is damaged
                    self.report(f"{self.name}: {failures} frames in a row cannot be decoded; ending the file here")
                    break
                index += 1
                continue
            failures = 0
            self.stats.frames += 1
            yield Frame(image, index, start + index / self.fps)
            index += 1

    def close(self) -> None:
        self._cap.release()


class LiveSource(FrameSource):
    """A camera or stream read by its own thread; the loop always gets the newest frame.

    ``opener`` returns a reader: a callable giving a BGR frame, or None when the camera has
    dropped. The opener itself may raise or return None when the camera is not there."""

    live = True

    def __init__(self, name: str, opener: Callable[[], Callable[[], np.ndarray | None] | None],
                 report: Callable[[str], None] = _report_default, ends: bool = False):
        super().__init__()
        self.name, self._opener, self.report = name, opener, report
        self.ends = ends  # a file played at its own pace: its end ends the source instead of a reconnect
        self._ended = threading.Event()
        self._lock = threading.Condition()
        self._latest: Frame | None = None
        self._stop = threading.Event()
        self._count = 0
        self._thread = threading.Thread(target=self._run, name=f"source {name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pause = BACKOFF_START
        while not self._stop.is_set():
            try:
                read = self._opener()
            except Exception as exc:  # noqa: BLE001 - a camera's driver can fail in any way; report and retry
                read, why = None, str(exc)
            else:
                why = "it does not answer"
            if read is None:
                self.stats.connected = False
                self.report(f"camera {self.name}: cannot open ({why}); retrying in {pause:.1f} s")
                self._stop.wait(pause)
                pause = min(pause * 2, BACKOFF_MAX)
                continue
            self.stats.connected = True
            if self.stats.reconnects or pause > BACKOFF_START:
                self.report(f"camera {self.name}: connected")
            while not self._stop.is_set():
                try:
                    image = read()
                except Exception:  # noqa: BLE001
                    image = None
                if image is None:
                    break
                if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 8:
                    self.stats.unreadable += 1
                    continue
                pause = BACKOFF_START  # frames flow again: the next drop starts from a short pause
                with self._lock:
                    if self._latest is not None:
                        self.stats.dropped += 1
                    self._latest = Frame(image, self._count, time.time())
                    self._count += 1
                    self._lock.notify()
            if self._stop.is_set():
                break
            if self.ends:
                self._ended.set()
                with self._lock:
                    self._lock.notify_all()
                return
            self.stats.connected = False
            self.stats.reconnects += 1
            self.report(f"camera {self.name}: frames stopped; reconnecting in {pause:.1f} s")
            self._stop.wait(pause)
            pause = min(pause * 2, BACKOFF_MAX)

    def stop(self) -> None:
        self._stop.set()  # the waiting loop below looks at it at least every half second

    def __iter__(self) -> Iterator[Frame]:
        while not self._stop.is_set():
            with self._lock:
                if self._latest is None:
                    if self._ended.is_set():
                        return
                    self._lock.wait(timeout=0.5)
                frame, self._latest = self._latest, None
            if frame is not None:
                self.stats.frames += 1
                yield frame

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        self._thread.join(timeout=5)


NETWORK_TIMEOUT_MS = 5000  # a stream that sends nothing this long has dropped


def _opencv_opener(target, backend: int) -> Callable[[], Callable[[], np.ndarray | None] | None]:
    network = isinstance(target, str) and "://" in target
    if network and target.startswith("rtsp"):
        # TCP: a lost packet on UDP smears the frame it belonged to; gate cameras sit on long cables
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, NETWORK_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
              NETWORK_TIMEOUT_MS] if network else []

    def open_():
        cap = cv2.VideoCapture(target, backend, params)
        if not cap.isOpened():
            cap.release()
            return None

        def read():
            ok, image = cap.read()
            if not ok:
                cap.release()
                return None
            return image
        return read
    return open_


def _paced_file_opener(path: Path) -> Callable[[], Callable[[], np.ndarray | None] | None]:
    """A video file played at its own frame rate, as a camera would give it."""
    def open_():
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            return None
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        start, count = time.monotonic(), 0

        def read():
            nonlocal count
            ok, image = cap.read()
            if not ok:
                cap.release()
                return None
            due = start + count / fps
            count += 1
            time.sleep(max(0.0, due - time.monotonic()))
            return image
        return read
    return open_


def _jetson_opener(uri: str) -> Callable[[], Callable[[], np.ndarray | None] | None]:
    """jetson-utils videoSource (CSI, V4L2, RTSP decoded in hardware); imported only on the device."""
    def open_():
        import jetson_utils  # noqa: PLC0415 - JetPack only; never a pip dependency

        source = jetson_utils.videoSource(uri, argv=["--input-codec=h264"] if uri.startswith("rtsp") else [])

        def read():
            cuda_image = source.Capture(format="rgb8", timeout=2000)
            if cuda_image is None:
                return None if not source.IsStreaming() else np.zeros((0, 0, 3), np.uint8)
            rgb = jetson_utils.cudaToNumpy(cuda_image)
            jetson_utils.cudaDeviceSynchronize()
            return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        return read
    return open_


def _have_jetson_utils() -> bool:
    try:
        import jetson_utils  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def open_source(uri: str, report: Callable[[str], None] = _report_default, folder_fps: float = 1.0,
                realtime: bool = False) -> FrameSource:
    """The frame source ``uri`` names (see the module's table), or SourceError saying why not.
    ``realtime``: a video file is played at its own frame rate as a live camera, newest frame
    first, so what a loop too slow for the camera would drop is dropped (and counted)."""
    if not isinstance(uri, str) or not uri.strip():
        raise SourceError("no source given: a camera URI (csi://0, v4l2:///dev/video0, rtsp://...), a video or a folder")
    uri = uri.strip()
    jetson = _have_jetson_utils()
    if uri.startswith("csi://"):
        if not jetson:
            raise SourceError(f"{uri}: a CSI camera is read through jetson-utils, which is not installed here "
                              "(it comes with JetPack on the Jetson); use a USB camera (v4l2:///dev/video0)")
        return LiveSource(uri, _jetson_opener(uri), report)
    if uri.startswith("v4l2://") or uri.startswith("/dev/video"):
        device = uri[len("v4l2://"):] if uri.startswith("v4l2://") else uri
        if jetson:
            return LiveSource(uri, _jetson_opener(f"v4l2://{device}"), report)
        if not device.startswith("/dev/"):
            raise SourceError(f"{uri}: expected v4l2:///dev/videoN")
        if not os.path.exists(device):
            report(f"camera {uri}: {device} is not there (unplugged?); waiting for it")
        return LiveSource(uri, _opencv_opener(device, cv2.CAP_V4L2), report)
    if uri.startswith("rtsp://") or uri.startswith("rtsps://"):
        if jetson:
            return LiveSource(uri, _jetson_opener(uri), report)
        return LiveSource(uri, _opencv_opener(uri, cv2.CAP_FFMPEG), report)
    if uri.startswith("http://") or uri.startswith("https://"):
        return LiveSource(uri, _opencv_opener(uri, cv2.CAP_FFMPEG), report)
    if "://" in uri and not uri.startswith("file://"):
        raise SourceError(f"{uri}: unknown kind of source; expected csi://, v4l2://, rtsp://, http(s)://, "
                          "a video file or a folder of images")
    path = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
    if path.is_dir():
        return ImageFolder(path, folder_fps, report)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise SourceError(f"{path}: a single image; use `anpr read` for stills, or give the folder it is in")
    video = VideoFile(path, report)  # opened here, so a file that is no video is refused now
    if realtime:
        video.close()
        return LiveSource(str(path), _paced_file_opener(path), report, ends=True)
    return video
