"""A field read a second way (edge/vision/field_text.py): the committed region, class-number and
kana heads on the real PP-OCRv5 recogniser's features (`make models`), reading drawn plates,
checked against their recogniser and field, and wired into the pipeline with the recogniser their
manifests name."""

import json
import shutil

import cv2
import numpy as np
import pytest

from edge.common.errors import ConfigError
from edge.plates import PlateText
from edge.plates.reading import decode, vocabularies
from edge.synth.plate import render_plate
from edge.vision.config import VisionConfig
from edge.vision.field_text import MODEL_NAME, MODEL_NAMES, FieldTextReader, best, combine, feature_source
from edge.vision.geometry import CANONICAL_SIZE
from edge.vision.manifest import DEFAULT_MODELS_DIR, ModelError
from edge.vision.pipeline import Pipeline
from edge.vision.second_opinion import Recogniser

RECOGNISER = DEFAULT_MODELS_DIR / "ppocr5-rec.onnx"
HEAD = DEFAULT_MODELS_DIR / f"{MODEL_NAME}.onnx"
CLASS_NUMBER_HEAD = DEFAULT_MODELS_DIR / f"{MODEL_NAMES['class_number']}.onnx"
KANA_HEAD = DEFAULT_MODELS_DIR / f"{MODEL_NAMES['kana']}.onnx"
SERIAL_HEAD = DEFAULT_MODELS_DIR / f"{MODEL_NAMES['serial']}.onnx"


@pytest.fixture(scope="module")
def recogniser():
    if not RECOGNISER.exists():
        pytest.skip("engines/models/ppocr5-rec.onnx is made by `make models`")
    return Recogniser(RECOGNISER)


def _drawn(text: str, rng) -> np.ndarray:
    plate = render_plate(PlateText.parse(text), rng, px_per_mm=1.5)
    return cv2.resize(plate.image, CANONICAL_SIZE, interpolation=cv2.INTER_AREA)


def test_combining_weighs_the_two_beliefs_log_linearly():
    ours, theirs = np.array([[0.7, 0.2, 0.1]]), np.array([[0.1, 0.8, 0.1]])
    assert np.allclose(combine(ours, theirs, 0.0), ours) and np.allclose(combine(ours, theirs, 1.0), theirs)
    half = combine(ours, theirs, 0.5)[0]
    assert half.sum() == pytest.approx(1.0) and half[1] / half[0] == pytest.approx(np.sqrt(0.2 * 0.8 / (0.7 * 0.1)))


def test_the_head_reads_drawn_region_names(recogniser):
    reader = FieldTextReader(recogniser, HEAD)
    rng = np.random.default_rng(7)
    wanted = ["品川", "練馬", "横浜", "名古屋", "福岡", "宮城", "札幌", "習志野", "那須", "神戸"]
    probs = reader.probabilities([_drawn(f"{region} 500 あ 45-67", rng) for region in wanted])
    assert probs.shape == (len(wanted), 139) and np.allclose(probs.sum(axis=1), 1.0)
    names = reader.manifest.classes
    right = sum(names[int(row.argmax())] == region for row, region in zip(probs, wanted))
    assert right >= 8, f"{right} of {len(wanted)}"


def test_a_recogniser_without_its_features_output_is_refused(recogniser, tmp_path):
    shutil.copy(RECOGNISER, tmp_path / RECOGNISER.name)
    manifest = json.loads(RECOGNISER.with_suffix(".json").read_text(encoding="utf-8"))
    del manifest["features"]  # as `make models` wrote it before the head existed
    (tmp_path / "ppocr5-rec.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    old = Recogniser(tmp_path / RECOGNISER.name)
    with pytest.raises(ModelError, match="make models"):
        FieldTextReader(old, HEAD)
    with pytest.raises(ModelError, match="make models"):
        old.features([np.zeros((64, 128, 3), np.uint8)])


def test_the_pipeline_reads_every_lettered_field_both_ways_by_default(recogniser):
    heads = {"region": HEAD, "class_number": CLASS_NUMBER_HEAD, "kana": KANA_HEAD, "serial": SERIAL_HEAD}
    assert {feature_source(head) for head in heads.values()} == {"ppocr5-rec"}
    pipeline = Pipeline(VisionConfig(vehicle_detector=False, text_route=False))
    assert list(pipeline.field_text) == list(heads)
    used = pipeline.models_in_use()
    assert all(used[MODEL_NAMES[field]]["file"] == head.name for field, head in heads.items())
    assert "ppocr5-rec" in used
    # the heads read the one recogniser's features: one session
    assert len({id(reader.recogniser) for reader in pipeline.field_text.values()}) == 1
    off = Pipeline(VisionConfig(vehicle_detector=False, text_route=False, region_text=False, class_number_text=False,
                                kana_text=False, serial_text=False))
    assert off.field_text == {} and "ppocr5-rec" not in off.models_in_use()


def test_a_head_is_given_the_recogniser_its_manifest_names(recogniser, tmp_path):
    v4 = DEFAULT_MODELS_DIR / "ppocr-rec.onnx"
    if not v4.exists():
        pytest.skip("engines/models/ppocr-rec.onnx is made by `make models`")
    manifest = json.loads(HEAD.with_suffix(".json").read_text(encoding="utf-8"))
    shutil.copy(HEAD, tmp_path / HEAD.name)
    manifest["input"]["from"]["model"] = "ppocr-rec.onnx"  # as lever 44's head said
    (tmp_path / f"{MODEL_NAME}.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    assert feature_source(tmp_path / HEAD.name) == "ppocr-rec"
    with pytest.raises(ModelError, match="make models"):  # PP-OCRv4 gives other features than the head reads
        FieldTextReader(Recogniser(v4), tmp_path / HEAD.name)
    with pytest.raises(ModelError, match="not the class_number"):  # a head is loaded for the field it reads
        FieldTextReader(recogniser, HEAD, field="class_number")
    del manifest["input"]["from"]
    (tmp_path / f"{MODEL_NAME}.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelError, match="input.from.model"):
        feature_source(tmp_path / HEAD.name)


def test_region_text_must_be_true_or_false():
    with pytest.raises(ConfigError, match="vision.region_text"):
        VisionConfig(region_text="yes")
    with pytest.raises(ConfigError, match="vision.serial_text"):
        VisionConfig.from_dict({"serial_text": 1})
    with pytest.raises(ConfigError, match="vision.field_text_below"):
        VisionConfig(field_text_below=0)
    assert VisionConfig.from_dict({"field_text_below": 0.99}).field_text_below == 0.99


def test_the_command_line_keeps_the_configured_heads_unless_told():
    from edge.cli import _vision_config, build_parser

    def vision(*flags):
        return _vision_config(build_parser().parse_args(["read", "x.jpg", *flags]))

    assert vision().region_text and vision().class_number_text and vision().kana_text  # the configuration's defaults
    assert vision("--no-region-text").region_text is False
    assert vision("--no-class-number-text").class_number_text is False
    assert vision("--no-kana-text").kana_text is False
    assert vision().serial_text and vision("--no-serial-text").serial_text is False


def test_the_class_number_head_reads_drawn_class_numbers_place_by_place(recogniser):
    reader = FieldTextReader(recogniser, CLASS_NUMBER_HEAD, field="class_number")
    rng = np.random.default_rng(8)
    wanted = ["300", "500", "330", "580", "400", "100", "710", "531", "33", "51"]
    probs = reader.probabilities([_drawn(f"品川 {number} あ 45-67", rng) for number in wanted])
    assert probs.shape == (len(wanted), 3, len(reader.manifest.classes)) and np.allclose(probs.sum(axis=2), 1.0)
    symbols = reader.manifest.classes  # '' (no character) first, then digits and letters
    read = ["".join(symbols[int(k)] for k in row.argmax(axis=1)) for row in probs]
    right = sum(r == number for r, number in zip(read, wanted))
    assert right >= 8, f"{right} of {len(wanted)}: {read}"
    # a plate ours is sure of is left alone; an unsure one is moved place by place toward the head's reading
    sure = np.zeros((3, len(symbols)))
    sure[np.arange(3), [4, 1, 1]] = 1.0  # 300
    unsure = np.full((3, len(symbols)), 1 / len(symbols))
    kept, moved = reader.rescore([sure, unsure], [_drawn("品川 300 あ 45-67", rng)] * 2, below=0.9)
    assert kept is sure and moved.shape == unsure.shape and np.allclose(moved.sum(axis=1), 1.0)
    assert "".join(symbols[int(k)] for k in moved.argmax(axis=1)) == "300"


def test_the_kana_head_reads_drawn_kana(recogniser):
    reader = FieldTextReader(recogniser, KANA_HEAD, field="kana")
    rng = np.random.default_rng(9)
    wanted = ["さ", "あ", "わ", "れ", "ぬ", "そ", "ろ", "か", "む", "て"]
    probs = reader.probabilities([_drawn(f"品川 300 {kana} 12-34", rng) for kana in wanted])
    assert probs.shape == (len(wanted), len(reader.manifest.classes)) and np.allclose(probs.sum(axis=1), 1.0)
    right = sum(reader.manifest.classes[int(row.argmax())] == kana for row, kana in zip(probs, wanted))
    assert right >= 8, f"{right} of {len(wanted)}"


def test_how_sure_ours_is_of_a_serial_is_what_decoding_gives_it():
    def leaning(field, wanted, places=1):  # each place 0.95 on the wanted symbol, the rest spread
        symbols = vocabularies()[field]
        p = np.full((places, len(symbols)), 0.05 / (len(symbols) - 1))
        p[np.arange(places), [symbols.index(c) for c in wanted]] = 0.95
        return p if places > 1 else p[0]

    serial = leaning("serial", "・123", 4)
    reading = decode({"region": leaning("region", ["品川"]), "kana": leaning("kana", ["さ"]),
                      "class_number": leaning("class_number", ["3", "0", "0"], 3), "serial": serial,
                      "color": leaning("color", ["white"])})
    assert reading.fields["serial"].value == "・123"
    assert best("serial", serial) == pytest.approx(reading.fields["serial"].confidence)
    assert best("serial", np.full_like(serial, 1 / serial.shape[1])) < 0.01  # no place says anything


def test_the_serial_head_reads_drawn_serials_place_by_place(recogniser):
    reader = FieldTextReader(recogniser, SERIAL_HEAD, field="serial")
    rng = np.random.default_rng(10)
    wanted = ["12-34", "・・・7", "・・45", "・123", "80-69", "99-99", "10-01", "・・・1", "56-78", "・902"]
    probs = reader.probabilities([_drawn(f"品川 300 あ {serial}", rng) for serial in wanted])
    assert probs.shape == (len(wanted), 4, 11) and np.allclose(probs.sum(axis=2), 1.0)
    symbols = reader.manifest.classes  # the dot first, then the digits
    read = ["".join(symbols[int(k)] for k in row.argmax(axis=1)) for row in probs]
    right = sum(r == serial.replace("-", "") for r, serial in zip(read, wanted))
    assert right >= 8, f"{right} of {len(wanted)}: {read}"
