"""Frame sources: live ones hand over the newest frame and retry a lost camera with growing
pauses; files and folders give every frame in order."""

import time

import cv2
import numpy as np
import pytest

from edge.stream.sources import ImageFolder, LiveSource, SourceError, VideoFile, open_source


class FastCamera:
    """A camera giving numbered frames as fast as it can (a frame's first pixel is its number)."""

    def __init__(self):
        self.count = 0

    def open(self):
        def read():
            time.sleep(0.002)
            self.count += 1
            frame = np.zeros((16, 16, 3), np.uint8)
            frame[0, 0, 0] = self.count % 256
            return frame
        return read


def test_a_live_source_hands_over_the_newest_frame_and_drops_stale_ones():
    camera = FastCamera()
    source = LiveSource("test", camera.open, report=lambda m: None)
    got = []
    for frame in source:
        got.append((frame.index, camera.count))
        time.sleep(0.05)  # a slow loop: many frames come while it works
        if len(got) == 5:
            break
    source.close()
    assert source.stats.dropped > 10
    indices = [i for i, _ in got]
    assert indices == sorted(indices) and indices[-1] - indices[0] > 10  # it skipped ahead, never lagged
    for index, produced in got:
        assert produced - index <= 3  # each frame handed over was the newest one


def test_a_camera_that_never_starts_is_retried_with_growing_pauses():
    tries, said = [], []

    def opener():
        tries.append(time.monotonic())
        return None

    source = LiveSource("cam", opener, report=said.append)
    time.sleep(3.8)
    source.close()
    gaps = np.diff(tries)
    assert 3 <= len(tries) <= 4
    assert gaps[0] == pytest.approx(0.5, abs=0.15) and gaps[1] == pytest.approx(1.0, abs=0.15)
    assert "retrying in 0.5 s" in said[0] and "retrying in 1.0 s" in said[1]


def test_a_camera_that_drops_out_is_reconnected_and_frames_resume():
    state = {"opens": 0, "frames": 0}
    said = []

    def opener():
        state["opens"] += 1

        def read():
            state["frames"] += 1
            if state["opens"] == 1 and state["frames"] > 20:
                return None  # the cable is pulled
            time.sleep(0.005)
            return np.full((16, 16, 3), state["opens"], np.uint8)
        return read

    source = LiveSource("cam", opener, report=said.append)
    seen = set()
    deadline = time.time() + 5
    for frame in source:
        seen.add(int(frame.image[0, 0, 0]))
        if 2 in seen or time.time() > deadline:
            break
    source.close()
    assert seen >= {1, 2} and source.stats.reconnects == 1
    assert any("frames stopped; reconnecting" in s for s in said)


def test_files_and_folders_give_every_frame_in_order(tmp_path):
    video = tmp_path / "v.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    for i in range(12):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    source = open_source(str(video))
    assert isinstance(source, VideoFile)
    frames = list(source)
    assert [f.index for f in frames] == list(range(12))
    assert frames[5].time - frames[0].time == pytest.approx(5 / 25)
    # the same file as a camera: at its own pace, and its end ends the source
    started = time.monotonic()
    paced = open_source(str(video), realtime=True)
    assert isinstance(paced, LiveSource)
    got = [f.index for f in paced]
    assert time.monotonic() - started >= 11 / 25 - 0.05
    assert got == sorted(got) and got[-1] == 11 and len(got) + paced.stats.dropped == 12
    folder = tmp_path / "images"
    folder.mkdir()
    for i in (2, 0, 1):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((20, 20, 3), i, np.uint8))
    source = open_source(str(folder))
    assert isinstance(source, ImageFolder)
    assert [int(f.image[0, 0, 0]) for f in source] == [0, 1, 2]


def test_sources_that_cannot_be_opened_say_why(tmp_path):
    (tmp_path / "empty").mkdir()
    cv2.imwrite(str(tmp_path / "one.jpg"), np.zeros((20, 20, 3), np.uint8))
    for uri, fragment in [("", "no source given"), (str(tmp_path / "empty"), "no images"),
                          (str(tmp_path / "one.jpg"), "a single image"), ("ftp://x", "unknown kind"),
                          ("v4l2://video0", "expected v4l2:///dev/videoN")]:
        with pytest.raises(SourceError, match=fragment):
            open_source(uri)
