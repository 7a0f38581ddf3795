"""Weights stored at half precision (edge/vision/half.py, engines/half.py), on the committed classifiers."""

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from edge.vision.backend import OnnxRuntimeBackend
from edge.vision.calibration import CalibrationSet
from edge.vision.half import expand_half, float_weights, is_half, store_half
from edge.vision.manifest import DEFAULT_MODELS_DIR, load_manifest
from engines.reader.ensemble import merge, split

KANA = DEFAULT_MODELS_DIR / "read-kana.onnx"  # committed stored at half precision (README: lever 37)


def _float_kana() -> onnx.ModelProto:
    """The committed kana classifier with its weights as float32 tensors."""
    return expand_half(onnx.load(str(KANA)))


def _inputs(n=8, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, size=(n, 1, 40, 40)).astype(np.float32)


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_a_half_stored_classifier_is_about_half_the_size_and_reads_as_before():
    model = _float_kana()
    half = store_half(model)
    assert is_half(half) and not is_half(model)
    assert len(half.SerializeToString()) < 0.55 * len(model.SerializeToString())
    x = _inputs()
    a, b = _run(model, x), _run(half, x)
    assert np.array_equal(a.argmax(-1), b.argmax(-1))
    np.testing.assert_allclose(b, a, atol=0.02)
    # the ensemble's floor (1e-30) and temperatures stay float32: under float16 the floor would be 0 and log(0) -inf
    kept = {w.name: w.data_type for w in half.graph.initializer}
    assert all(t == TensorProto.FLOAT for n, t in kept.items() if not n.endswith("/half"))
    assert kept.get("floor", TensorProto.FLOAT) == TensorProto.FLOAT


def test_expanding_gives_back_every_weight_under_its_name_rounded_to_half():
    model = _float_kana()
    half = store_half(model)
    halved = {w.name.removesuffix("/half") for w in half.graph.initializer if w.data_type == TensorProto.FLOAT16}
    back = expand_half(half)
    assert not is_half(back)
    assert [n.name for n in back.graph.node] == [n.name for n in model.graph.node]
    before = {w.name: numpy_helper.to_array(w) for w in model.graph.initializer}
    after = {w.name: numpy_helper.to_array(w) for w in back.graph.initializer}
    assert before.keys() == after.keys()
    for name, w in before.items():
        assert after[name].dtype == w.dtype
        np.testing.assert_array_equal(after[name], w.astype(np.float16).astype(w.dtype) if name in halved else w)
    assert expand_half(model) is model  # nothing to expand


def test_an_ensemble_stored_at_half_still_splits_into_its_members():
    single = _float_kana()
    half = store_half(merge([single, single], [1.0, 1.3]))
    members = split(half)
    assert [t for _, t in members] == pytest.approx([1.0, 1.3])
    x = _inputs(4)
    for member, _ in members:
        np.testing.assert_allclose(_run(member, x), _run(single, x), atol=0.02)


def test_a_half_stored_model_quantizes_its_weights(tmp_path):
    from edge.quantize import quantize_model

    fp32 = tmp_path / "read-kana.onnx"
    onnx.save(store_half(_float_kana()), str(fp32))
    x = _inputs(16)
    samples = tuple(x[i:i + 1] for i in range(16))
    int8 = quantize_model(fp32, tmp_path / "read-kana.int8.onnx", CalibrationSet("read-kana", "input", samples, {}))
    graph = onnx.load(str(int8)).graph
    int8_weights = [w for w in graph.initializer if w.data_type == TensorProto.INT8]
    convs = [n for n in graph.node if n.op_type in ("Conv", "Gemm")]
    assert len(int8_weights) >= len(convs) > 0  # every weight quantized, none left behind a cast
    assert not any(n.op_type == "Cast" for n in graph.node)
    a = OnnxRuntimeBackend(fp32).run({"input": x[:8]})["logits"]
    b = OnnxRuntimeBackend(int8).run({"input": x[:8]})["logits"]
    assert (a.argmax(-1) == b.argmax(-1)).mean() >= 0.75


def test_halving_in_place_updates_the_manifest_so_the_runtime_loads_it(tmp_path):
    from engines.half import halve

    onnx.save(_float_kana(), str(tmp_path / KANA.name))
    shutil.copy(KANA.with_suffix(".json"), tmp_path / "read-kana.json")
    said = halve(tmp_path / KANA.name)
    assert "MB ->" in said
    manifest = load_manifest(tmp_path / KANA.name)  # checks the sha256
    assert "float16" in manifest.data["weights"]
    assert "already" in halve(tmp_path / KANA.name)
    assert json.loads((tmp_path / "read-kana.json").read_text())["sha256"] == manifest.data["sha256"]


def test_an_ensemble_of_half_stored_and_new_members_has_the_rest_halved(tmp_path):
    from engines.half import halve

    # engines.reader.ensemble merging the committed (half-stored) readers with newly trained float32 ones
    mixed = merge([store_half(_float_kana()), _float_kana()], [1.0, 1.3])
    assert is_half(mixed) and float_weights(mixed)
    onnx.save(mixed, str(tmp_path / KANA.name))
    shutil.copy(KANA.with_suffix(".json"), tmp_path / "read-kana.json")
    said = halve(tmp_path / KANA.name)
    assert "MB ->" in said and "still held in float32" in said
    halved = onnx.load(str(tmp_path / KANA.name))
    assert not float_weights(halved)
    assert len(halved.SerializeToString()) < 0.8 * len(mixed.SerializeToString())
    x = _inputs()
    np.testing.assert_allclose(_run(halved, x), _run(mixed, x), atol=0.02)
    load_manifest(tmp_path / KANA.name)  # its sha256 is the new file's
    assert "already" in halve(tmp_path / KANA.name)
