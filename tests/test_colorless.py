"""Frames without colour (infrared or monochrome cameras): the colour is never guessed from grey."""

import cv2
import numpy as np

from edge.plates import PlateText
from edge.plates.reading import decode
from edge.synth.scene import make_sample
from edge.vision.config import VisionConfig
from edge.vision.pipeline import Pipeline
from edge.vision.reader import shows_color
from tests.test_store import _probs


def test_colour_from_a_grey_frame_is_withheld_and_the_plate_is_complete_without_it():
    plate = PlateText.parse("横浜 580 む 13-76", "yellow")
    seen = decode(_probs(plate, 0.99))
    unseen = decode(_probs(plate, 0.99), color_seen=False)
    assert seen.plate == plate and seen.fields["color"].value == "yellow"
    assert unseen.fields["color"].value is None  # kei private: yellow, or a design plate's rim
    assert unseen.plate == PlateText.parse("横浜 580 む 13-76") and unseen.plate.color is None
    assert unseen.fields["kana"].value == "む" and unseen.fields["serial"].value == "13-76"


def test_colour_that_the_class_and_kana_imply_is_still_given():
    # a commercial kei kana on a kei class: only the black plate allows it, whatever the classifier says
    plate = PlateText.parse("横浜 480 り 13-76", "black")
    probs = _probs(PlateText.parse("横浜 480 り 13-76", "black"), 0.999)
    probs["color"][:] = 0.0
    probs["color"][0] = 1.0  # the classifier, fooled by grey, says white
    unseen = decode(probs, color_seen=False)
    assert unseen.fields["color"].value == "black" and unseen.plate == plate
    # a commercial registered plate may be green or a design plate with a green rim: not implied
    commercial = decode(_probs(PlateText.parse("品川 100 あ 12-34", "green"), 0.999), color_seen=False)
    assert commercial.fields["color"].value is None and commercial.plate is not None


def test_grey_views_are_told_from_colour_ones():
    sample = make_sample(7, 3, "scenes", None, width_px=150, lighting="day")
    colour = sample.image
    grey = cv2.cvtColor(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    noisy = np.clip(grey.astype(np.float32) + np.random.default_rng(0).normal(0, 4, grey.shape), 0, 255).astype(np.uint8)
    assert not shows_color(grey) and not shows_color(noisy)
    pipeline = Pipeline(VisionConfig(vehicle_detector=False))
    plates = pipeline.read_image(grey).plates
    assert plates and all(not p.color_seen for p in plates)
    for p in plates:
        assert p.color is None or p.fields["color"]["confidence"] >= 0.99
        assert p.to_dict()["color_seen"] is False
    assert all(p.color_seen for p in pipeline.read_image(colour).plates)


def test_a_plate_without_colour_is_valid_only_when_colour_could_not_be_seen():
    from edge.field_score import grammar_problems

    plate = {"region": "品川", "class_number": "300", "kana": "さ", "serial": "12-34", "color": None, "valid": True}
    assert grammar_problems({**plate, "color_seen": False}) == []
    assert grammar_problems({**plate, "color_seen": True}) == ["marked valid with a field missing"]
