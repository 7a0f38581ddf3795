"""The second plate-finding route: lines of lettering paired into plate-sized groups, and the real
PP-OCRv4 text detector (`make models`) finding a drawn plate's lettering, which the refine pass
then outlines and the reader reads."""

import json

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from edge.cli import main
from edge.common.boxes import iou
from edge.common.fonts import bundled_font
from edge.plates import PlateText
from edge.synth.plate import render_plate
from edge.vision.config import VisionConfig
from edge.vision.manifest import DEFAULT_MODELS_DIR
from edge.vision.pipeline import Pipeline, ReadResult
from edge.vision.text_finder import TextFinder, TextGroup, stacked

DETECTOR = DEFAULT_MODELS_DIR / "ppocr-det.onnx"
needs_detector = pytest.mark.skipif(not DETECTOR.exists(),
                                    reason="engines/models/ppocr-det.onnx is made by `make models`")


def test_a_plates_two_lines_join_and_lettering_beside_them_does_not():
    top = TextGroup((100, 100, 160, 115), 0.8, 1)  # region and class number
    bottom = TextGroup((95, 118, 170, 140), 0.6, 1)  # kana and serial, a little wider
    beside = TextGroup((200, 100, 260, 140), 0.9, 1)  # a sticker to the right
    far_below = TextGroup((100, 200, 160, 215), 0.7, 1)  # a line well under the plate
    groups = {g.box: g for g in stacked([top, bottom, beside, far_below])}
    assert set(groups) == {(95, 100, 170, 140), beside.box, far_below.box}
    joint = groups[(95, 100, 170, 140)]
    assert joint.lines == 2 and joint.score == pytest.approx(0.7)


def test_a_column_of_lines_pairs_off_and_never_becomes_one_tall_group():
    column = [TextGroup((100, 100 + 20 * k, 200, 115 + 20 * k), 0.8, 1) for k in range(6)]
    groups = stacked(column)
    assert [g.lines for g in groups] == [2, 2, 2]
    assert [g.box for g in groups] == [(100, 100, 200, 135), (100, 140, 200, 175), (100, 180, 200, 215)]


def _plate_on_a_wall(text: str, seed: int = 3):
    """A drawn plate about 200 px wide pasted on a plain grey 640 x 480 frame; its box."""
    plate = render_plate(PlateText.parse(text), np.random.default_rng(seed), px_per_mm=0.6)
    frame = np.full((480, 640, 3), 120, np.uint8)
    h, w = plate.image.shape[:2]
    x, y = 220, 200
    frame[y:y + h, x:x + w] = plate.image
    (x1, y1), (x2, y2) = plate.corners.min(axis=0) + (x, y), plate.corners.max(axis=0) + (x, y)
    return frame, (float(x1), float(y1), float(x2), float(y2))


@needs_detector
def test_the_detector_finds_a_plates_lettering_as_one_group():
    frame, box = _plate_on_a_wall("品川 330 さ 12-34")
    groups = TextFinder(DETECTOR).find(frame, (0, 0, 640, 480))
    assert groups, "no lettering found"
    best = max(groups, key=lambda g: iou(g.box, box))
    assert best.lines >= 2 and iou(best.box, box) > 0.5, (best, box)


@needs_detector
def test_the_second_route_finds_and_reads_a_plate_the_first_route_was_not_given():
    frame, box = _plate_on_a_wall("品川 330 さ 12-34")
    pipeline = Pipeline(VisionConfig(vehicle_detector=False))
    found = pipeline.by_text(ReadResult([], [], {}), frame)
    assert len(found.plates) == 1 and iou(found.plates[0].bbox, box) > 0.7
    assert found.plates[0].found_by == "lettering"
    assert "text" in found.timing_ms
    read = pipeline.read(found.plates)[0]
    assert read.text == "品川 330 さ 12-34"
    assert read.to_dict()["found_by"] == "lettering"
    assert pipeline.read_image(frame).plates[0].found_by == "segmenter"  # the first route finds this one itself
    # a frame whose plate the first route found is not searched again
    again = pipeline.by_text(found, frame)
    assert again.plates == found.plates


@needs_detector
def test_a_page_of_text_is_not_taken_for_a_plate():
    font = ImageFont.truetype(str(bundled_font()), 14)
    page = Image.new("RGB", (640, 480), (230, 230, 230))
    draw = ImageDraw.Draw(page)
    rng = np.random.default_rng(0)
    for y in range(10, 470, 18):
        for x in range(10, 620, 160):
            text = "".join(rng.choice(list("品川横浜大阪東京あいうえお0123456789"), 8))
            draw.text((x, y), text, font=font, fill=(20, 20, 20))
    frame = np.ascontiguousarray(np.array(page)[:, :, ::-1])
    pipeline = Pipeline(VisionConfig(vehicle_detector=False))
    assert len(pipeline.text_finder.lines(frame, (0, 0, 640, 480))) > 40  # the detector sees the lines
    assert pipeline.by_text(ReadResult([], [], {}), frame).plates == []


@needs_detector
def test_plain_frames_give_the_second_route_nothing():
    frame = np.full((480, 640, 3), 120, np.uint8)
    cv2.rectangle(frame, (200, 200), (420, 310), (250, 250, 250), -1)  # a blank white board
    pipeline = Pipeline(VisionConfig(vehicle_detector=False))
    assert pipeline.by_text(ReadResult([], [], {}), frame).plates == []


@needs_detector
def test_anpr_read_takes_the_second_route_unless_told_not_to(tmp_path, capsys):
    frame = np.full((480, 640, 3), 120, np.uint8)  # nothing found by the first route
    image = tmp_path / "wall.png"
    cv2.imwrite(str(image), frame)
    assert main(["read", str(image), "--json", "--no-detector"]) == 0
    assert main(["read", str(image), "--json", "--no-detector", "--no-text-route"]) == 0
    on, off = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert "text" in on["timing_ms"] and "text" not in off["timing_ms"]
