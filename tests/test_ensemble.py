"""Field classifiers averaged into one graph (engines/reader/ensemble.py), on the committed networks."""

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edge.vision.fields import FIELD_CROPS
from edge.vision.half import expand_half
from edge.vision.manifest import DEFAULT_MODELS_DIR, load_manifest
from edge.vision.reader import MODEL_NAMES, FieldReader
from engines.reader.ensemble import FLOOR, member_count, merge, write


def _member_b(field: str) -> onnx.ModelProto:
    """Another network of the same shape: the committed one (itself an ensemble or not) with its last
    layers' weights moved."""
    model = expand_half(onnx.load(str(DEFAULT_MODELS_DIR / f"{MODEL_NAMES[field]}.onnx")))  # weights as float32
    rng = np.random.default_rng(3)
    for last in [w for w in model.graph.initializer if w.name.endswith("head.5.weight")]:
        moved = numpy_helper.to_array(last) + rng.normal(0, 0.05, last.dims).astype(np.float32)
        last.CopyFrom(numpy_helper.from_array(moved, last.name))
    return model


def _linear(weights: np.ndarray) -> onnx.ModelProto:
    """A one-layer network of the classifiers' interface: 1 x 40 x 40 in, 1 place of 6 classes out."""
    nodes = [helper.make_node("Flatten", ["input"], ["flat"]),
             helper.make_node("Gemm", ["flat", "w"], ["scores"]),
             helper.make_node("Reshape", ["scores", "shape"], ["logits"])]
    graph = helper.make_graph(nodes, "linear", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                               ["N", 1, 40, 40])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1, 6])],
                              [numpy_helper.from_array(weights.astype(np.float32), "w"),
                               numpy_helper.from_array(np.array([-1, 1, 6], np.int64), "shape")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None,
                                                                                                  {"input": x})[0]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("temperatures", [(1.1, 0.8), (0.8, 0.9, 1.1, 1.3)])  # four: the region head since lever 115
def test_the_merged_graph_gives_the_log_of_the_members_mean_tempered_probability(temperatures):
    rng = np.random.default_rng(len(temperatures))
    members = [_linear(rng.normal(0, 0.05, (1600, 6))) for _ in temperatures]
    x = rng.normal(size=(5, 1, 40, 40)).astype(np.float32)
    logits = [_run(m, x) for m in members]
    merged = merge(members, list(temperatures))
    got = _run(merged, x)
    want = np.log(np.maximum(sum(_softmax(z / t) for z, t in zip(logits, temperatures)) / len(members), FLOOR))
    assert got.shape == logits[0].shape
    assert member_count(merged.graph) == len(members)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_a_class_every_member_rules_out_gets_a_floor_not_minus_infinity():
    a = _linear(np.random.default_rng(2).normal(0, 5, (1600, 6)))  # logits hundreds apart
    x = np.random.default_rng(2).normal(size=(4, 1, 40, 40)).astype(np.float32)
    assert (_softmax(_run(a, x)) == 0).any()  # float32 underflow: log would give -inf
    got = _run(merge([a, a], [1.0, 1.0]), x)
    assert np.isfinite(got).all()
    assert got.min() == pytest.approx(np.log(FLOOR), abs=1e-3)


def test_the_committed_classifiers_merge_again_with_another_network():
    crop = FIELD_CROPS["class_number"]
    x = np.random.default_rng(1).normal(size=(5, 1, crop.size[1], crop.size[0])).astype(np.float32)
    a = onnx.load(str(DEFAULT_MODELS_DIR / "read-class-number.onnx"))
    b = _member_b("class_number")
    la, lb = _run(a, x), _run(b, x)
    assert np.abs(la - lb).max() > 1e-3  # two different networks
    np.testing.assert_allclose(_run(merge([a, b], [1.0, 1.0]), x),
                               np.log(np.maximum((_softmax(la) + _softmax(lb)) / 2, FLOOR)), atol=1e-4)


def test_merge_refuses_one_member_and_a_graph_of_another_interface():
    a = onnx.load(str(DEFAULT_MODELS_DIR / "read-kana.onnx"))
    with pytest.raises(ValueError, match="at least two"):
        merge([a], [1.0])
    other = onnx.load(str(DEFAULT_MODELS_DIR / "read-kana.onnx"))
    other.graph.output[0].name = "scores"
    with pytest.raises(ValueError, match="member 1"):
        merge([a, other], [1.0, 1.0])


def test_heads_on_the_recognisers_features_merge_by_their_own_input():
    head = onnx.load(str(DEFAULT_MODELS_DIR / "read-region-text.onnx"))
    x = np.random.default_rng(4).normal(size=(3, 12, 120)).astype(np.float32)
    session = ort.InferenceSession(merge([head, head], [0.8, 0.8], input_name="features").SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"features": x})[0]
    one = ort.InferenceSession(head.SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(["logits"], {"features": x})[0]
    e = np.exp(one / 0.8 - (one / 0.8).max(axis=1, keepdims=True))
    np.testing.assert_allclose(np.exp(got), e / e.sum(axis=1, keepdims=True), atol=1e-5)
    with pytest.raises(ValueError, match="expected one input 'input'"):  # the classifiers' input by default
        merge([head, head], [1.0, 1.0])


@pytest.mark.parametrize("name", ["read-region-text", "read-class-number-text", "read-kana-text", "read-serial-text"])
def test_a_committed_heads_manifest_lists_as_many_members_as_its_graph_holds(name):
    """`text_head merge` writes each member's training into the manifest; the graph is what runs."""
    graph = onnx.load(str(DEFAULT_MODELS_DIR / f"{name}.onnx")).graph
    members = load_manifest(DEFAULT_MODELS_DIR / f"{name}.onnx").data["training"].get("members", [])
    assert len(members) == member_count(graph)


@pytest.mark.parametrize("name", ["read-region-text", "read-class-number-text", "read-kana-text"])
def test_a_committed_head_taken_apart_gives_its_members_and_they_merge_again_into_the_same_head(name):
    """`text_head merge` grows a committed head from the head itself: its members, their temperatures
    and their training come back from its graph and manifest."""
    from engines.reader.text_head import head_members

    path = DEFAULT_MODELS_DIR / f"{name}.onnx"
    manifest = load_manifest(path).data
    members = head_members(path, manifest)
    assert [training for _, _, training in members] == manifest["training"]["members"]
    again = merge([graph for graph, _, _ in members], [temperature for _, temperature, _ in members],
                  input_name=manifest["input"]["name"])
    features = np.random.default_rng(5).normal(0, 1, (4, *manifest["input"]["shape"][1:])).astype(np.float32)
    committed, merged = (ort.InferenceSession(m, providers=["CPUExecutionProvider"])
                         for m in (str(path), again.SerializeToString()))
    name_in = manifest["input"]["name"]
    assert np.allclose(committed.run(None, {name_in: features})[0], merged.run(None, {name_in: features})[0],
                       atol=1e-5)


def test_the_runtime_reads_an_ensemble_as_one_classifier(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS_DIR, models, ignore=shutil.ignore_patterns("*.int8.*", "ppocr-*", "yolov3*"))
    manifest = json.loads((DEFAULT_MODELS_DIR / "read-kana.json").read_text(encoding="utf-8"))
    merged = merge([onnx.load(str(DEFAULT_MODELS_DIR / "read-kana.onnx")), _member_b("kana")],
                   [manifest["calibration"]["temperature"]] * 2)
    write(merged, [manifest, manifest], 1.3, {"field_accuracy": 0.5}, models / "read-kana.onnx")
    held = load_manifest(models / "read-kana.onnx")
    assert held.data["calibration"]["temperature"] == 1.3
    assert len(held.data["training"]["members"]) == 2
    assert held.data["parameters"] == 2 * manifest["parameters"]

    plates = [np.random.default_rng(k).integers(0, 256, (168, 336, 3), dtype=np.uint8) for k in range(2)]
    ensemble, committed = FieldReader(models, backend="onnxruntime"), FieldReader(DEFAULT_MODELS_DIR,
                                                                                   backend="onnxruntime")
    got, alone = ensemble.read(plates), committed.read(plates)
    for k in range(2):
        kana = np.asarray(got[k]["kana"])
        assert kana.shape == np.asarray(alone[k]["kana"]).shape
        np.testing.assert_allclose(kana.sum(-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(got[k]["region"], alone[k]["region"], atol=1e-6)  # the other fields as before


def test_a_merged_graph_splits_back_into_its_members_with_their_temperatures():
    from engines.reader.ensemble import split

    rng = np.random.default_rng(2)
    a, b = _linear(rng.normal(0, 0.05, (1600, 6))), _linear(rng.normal(0, 0.05, (1600, 6)))
    x = rng.normal(size=(5, 1, 40, 40)).astype(np.float32)
    members = split(merge([a, b], [1.1, 0.8]))
    assert [t for _, t in members] == pytest.approx([1.1, 0.8])
    for (member, _), original in zip(members, (a, b)):
        onnx.checker.check_model(member)
        np.testing.assert_allclose(_run(member, x), _run(original, x), atol=1e-6)
    assert split(a) == [(a, None)]  # one network is its own member; its manifest has its temperature
