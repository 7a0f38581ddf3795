"""The committed field classifiers at run time: what they read, what they refuse, how it is drawn."""

import json
import shutil

import numpy as np
import pytest

from edge.vision.config import VisionConfig
from edge.plates import PlateText
from edge.plates.reading import decode, plate_labels
from edge.synth.plate import render_plate
from edge.vision.annotate import caption, draw
from edge.vision.geometry import rectify, scaled
from edge.vision.manifest import DEFAULT_MODELS_DIR, ModelError
from edge.vision.pipeline import PlateRead, ReadResult
from edge.vision.reader import MODEL_NAMES, FieldReader, side_by_side_workers
from tests.test_reading import probs_for


@pytest.fixture(scope="module")
def reader():
    return FieldReader()


def _face_on(text: str, color: str, seed: int) -> np.ndarray:
    """A clean plate drawn face-on and rectified from its true corners, as the pipeline would."""
    rendered = render_plate(PlateText.parse(text, color), np.random.default_rng(seed), px_per_mm=1.2)
    return rectify(rendered.image, rendered.corners)


@pytest.mark.parametrize("text, color", [
    ("品川 330 さ 12-34", "white"), ("横浜 580 む ・・80", "yellow"), ("大阪 100 あ ・324", "green"),
    ("札幌 480 り 45-67", "black"), ("なにわ 500 わ ・・・1", "white"),
])
def test_clean_plates_are_read_exactly(reader, text, color):
    probs = reader.read([_face_on(text, color, seed) for seed in range(3)])
    for p in probs:
        reading = decode(p)
        assert reading.plate is not None and reading.plate.format() == PlateText.parse(text).format()
        assert reading.fields["color"].value == color


def test_a_plate_is_read_from_its_outline_and_a_grown_one_averaged(reader):
    rendered = render_plate(PlateText.parse("大阪 101 あ 32-31", "green"), np.random.default_rng(0), px_per_mm=1.2)
    tight = scaled(rendered.corners, 0.9)  # an outline that cuts the plate's edges off
    views = [rectify(rendered.image, scaled(tight, s)) for s in VisionConfig().read_scales]
    assert len(views) >= 2
    averaged = reader.read_views([views])[0]
    alone = reader.read(views)
    for field, p in averaged.items():
        np.testing.assert_allclose(p, np.mean([a[field] for a in alone], axis=0), atol=1e-9)
    assert decode(averaged).plate.format() == "大阪 101 あ 32-31"


def test_the_classifiers_side_by_side_read_what_they_read_one_after_another():
    plates = [_face_on(text, color, 7) for text, color in [("品川 330 さ 12-34", "white"), ("大阪 100 あ ・324", "green")]]
    plates.append(np.random.default_rng(0).integers(0, 256, (168, 336, 3), dtype=np.uint8))
    at_once = FieldReader(threads=2, side_by_side=True)
    in_turn = FieldReader(threads=2, side_by_side=False)
    assert at_once.workers == 2 and not in_turn.workers
    assert all(c.backend.threads == 1 for c in at_once.classifiers.values())
    assert all(c.backend.threads == 2 for c in in_turn.classifiers.values())
    assert at_once.order[0] == "serial"  # the largest cut first
    for a, b in zip(at_once.read(plates), in_turn.read(plates)):
        assert a.keys() == b.keys()
        for field in a:
            np.testing.assert_array_equal(a[field], b[field])
    # "auto": at once for INT8 copies, one after another for FP32; one worker is always in turn
    assert not FieldReader(threads=2).workers
    assert side_by_side_workers("auto", "int8", 2) == 2 and side_by_side_workers("auto", "fp32", 2) == 0
    assert side_by_side_workers(True, "fp32", 1) == 0 and side_by_side_workers(False, "int8", 4) == 0
    if (DEFAULT_MODELS_DIR / "read-kana.int8.json").exists():  # `make quantize` ran here
        assert FieldReader(threads=2, precision="int8").workers == 2


def test_a_blank_or_noisy_plate_is_not_read_as_a_valid_plate(reader):
    plates = [np.full((168, 336, 3), 200, np.uint8),
              np.random.default_rng(0).integers(0, 256, (168, 336, 3), dtype=np.uint8)]
    for p in reader.read(plates):
        assert decode(p, min_confidence=0.9).plate is None


@pytest.mark.parametrize("change, message", [
    (lambda m: m["classes"].pop(), "other kana classes"),
    (lambda m: m["input"]["cut"].update(size=[48, 48]), "another cut"),
    (lambda m: m["calibration"].update(temperature=0), "temperature"),
])
def test_a_classifier_that_does_not_fit_this_version_is_refused(tmp_path, change, message):
    for name in MODEL_NAMES.values():
        for suffix in (".onnx", ".json"):
            shutil.copy(DEFAULT_MODELS_DIR / f"{name}{suffix}", tmp_path)
    manifest_path = tmp_path / "read-kana.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    change(manifest)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        FieldReader(tmp_path)


def test_the_reading_is_drawn_in_japanese():
    plate = PlateRead(quad=np.float32([[40, 40], [140, 40], [140, 90], [40, 90]]), score=0.9,
                      rectified=np.zeros((168, 336, 3), np.uint8), field_boxes={},
                      reading=decode(probs_for(plate_labels(PlateText.parse("横浜 580 む 13-76", "yellow")))))
    first, second = caption(plate)
    assert first == "横浜 580 む 13-76"
    assert second.startswith("黄ナンバー  軽自動車 自家用  確度 ")
    image = np.full((240, 320, 3), 128, np.uint8)
    drawn = draw(image, ReadResult([plate], [], {}))
    assert (drawn[95:140, 40:200] != 128).any()  # the caption sits under the plate
    probs = probs_for(plate_labels(PlateText.parse("横浜 580 む 13-76", "yellow")))
    probs["kana"] = np.full(probs["kana"].shape, 1 / probs["kana"].size)
    withheld = PlateRead(quad=plate.quad, score=0.9, rectified=plate.rectified, field_boxes={}, reading=decode(probs))
    assert caption(withheld)[0] == "横浜 580 ？ 13-76"
