"""INT8 and TensorRT without a GPU: plan names and records, profiles and buffers, calibration
sets, batches and caches, the backend choice, and real ONNX Runtime quantization."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.common.errors import ConfigError
from edge.vision.backend import OnnxRuntimeBackend, load_backend
from edge.vision.calibration import CalibrationBatches, CalibrationCache, CalibrationSet
from edge.vision.config import VisionConfig
from edge.vision.manifest import DEFAULT_MODELS_DIR, ModelError, load_manifest, model_file
from edge.vision.pipeline import Pipeline
from edge.vision.plans import (MAX_BATCH, WindowSizes, batches, buffer_bytes, find_plan, fits, gpu_slug, has_qdq,
                               plan_file, profiles_for, write_record)

MODELS = DEFAULT_MODELS_DIR


def test_model_files_by_precision_and_a_missing_int8_model_says_how_to_make_it(tmp_path):
    assert model_file(MODELS, "plate-seg") == MODELS / "plate-seg.onnx"
    # a folder where `make quantize` left no record (one that refused the copy would name FP32)
    assert model_file(tmp_path, "plate-seg", "int8") == tmp_path / "plate-seg.int8.onnx"
    with pytest.raises(ModelError, match="precision 'fp16'"):
        model_file(MODELS, "plate-seg", "fp16")
    with pytest.raises(ModelError, match="make quantize"):
        load_manifest(model_file(tmp_path, "read-kana", "int8"))
    with pytest.raises(ConfigError, match="vision.precision"):
        VisionConfig(precision="int4")


def test_plan_names_carry_model_tensorrt_version_and_gpu():
    plan = plan_file("/p", MODELS / "plate-seg.int8.onnx", "10.3.0", "NVIDIA Jetson Orin NX")
    assert plan == Path("/p/plate-seg.int8.trt10.3.0.nvidia-jetson-orin-nx.plan")
    assert plan_file("/p", MODELS / "plate-seg.onnx", "8.5.2", "Orin").name == "plate-seg.trt8.5.2.orin.plan"
    with pytest.raises(ValueError):
        gpu_slug("  ")


def test_a_plan_is_found_only_for_its_own_model_file(tmp_path):
    onnx_path = tmp_path / "read-kana.onnx"
    shutil.copy(MODELS / "read-kana.onnx", onnx_path)
    assert find_plan(tmp_path, onnx_path, "10.3.0", "Orin") is None
    plan = plan_file(tmp_path, onnx_path, "10.3.0", "Orin")
    plan.write_bytes(b"plan")
    with pytest.raises(ModelError, match="no readable record"):
        find_plan(tmp_path, onnx_path, "10.3.0", "Orin")
    write_record(plan, onnx_path, {"input": ((1, 1, 40, 40),) * 3}, "fp32", "10.3.0", "Orin", "2026-12-02T00:00:00")
    assert find_plan(tmp_path, onnx_path, "10.3.0", "Orin") == plan
    assert find_plan(tmp_path, onnx_path, "10.4.0", "Orin") is None  # another TensorRT: not this plan
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")  # the model retrained since
    with pytest.raises(ModelError, match="another read-kana.onnx"):
        find_plan(tmp_path, onnx_path, "10.3.0", "Orin")


def test_profiles_follow_the_manifests_and_the_vision_config():
    seg = profiles_for(load_manifest("plate-seg"), WindowSizes(largest_side=512, usual_side=256))
    assert seg == {"image": ((1, 3, 64, 64), (1, 3, 256, 256), (1, 3, 512, 512))}
    kana = profiles_for(load_manifest("read-kana"))
    low, opt, high = kana["input"]
    assert low[0] == 1 and high[0] == MAX_BATCH and low[1:] == high[1:] == (1, 40, 40)
    assert fits((5, 1, 40, 40), kana["input"]) and not fits((MAX_BATCH + 1, 1, 40, 40), kana["input"])
    assert not fits((1, 1, 40, 41), kana["input"])


def test_buffers_are_sized_at_the_largest_shape_and_big_batches_split():
    assert buffer_bytes((32, 1, 40, 96), np.float32) == 32 * 40 * 96 * 4
    with pytest.raises(ValueError):
        buffer_bytes((-1, 3), np.float32)
    assert batches(70, 32) == [(0, 32), (32, 64), (64, 70)]
    assert batches(0, 32) == []


def test_without_tensorrt_auto_runs_onnx_runtime_and_tensorrt_says_why_not():
    path = MODELS / "read-kana.onnx"
    assert isinstance(load_backend(path, "auto"), OnnxRuntimeBackend)
    with pytest.raises(ModelError, match="TensorRT is not installed.*make engines"):
        load_backend(path, "tensorrt")


def _set(n=10, shapes=((1, 1, 40, 40),)):
    rng = np.random.default_rng(0)
    samples = tuple(rng.normal(size=shapes[i % len(shapes)]).astype(np.float32) for i in range(n))
    return CalibrationSet("read-kana", "input", samples, {"recipe": "test"})


def test_a_calibration_set_survives_saving_and_a_damaged_one_says_so(tmp_path):
    saved = _set().save(tmp_path / "read-kana.npz")
    back = CalibrationSet.load(saved)
    assert back.input_name == "input" and len(back.samples) == 10
    assert all(np.array_equal(a, b) for a, b in zip(back.samples, _set().samples))
    saved.write_bytes(saved.read_bytes()[:200])
    with pytest.raises(ModelError, match="cannot be read"):
        CalibrationSet.load(saved)
    with pytest.raises(ModelError, match="anpr engines calibrate"):
        CalibrationSet.load(tmp_path / "missing.npz")


def test_calibration_batches_have_exactly_the_profile_shape_and_the_cache_is_per_model_file(tmp_path):
    mixed = _set(11, shapes=((1, 3, 64, 64), (1, 3, 32, 64)))  # six of one size, five of the other
    cache = CalibrationCache.for_model(tmp_path, "plate-seg", "ab" * 32)
    feed = CalibrationBatches(mixed, (2, 3, 64, 64), cache)
    got = list(feed)
    assert len(got) == len(feed) == 3 and all(b.shape == (2, 3, 64, 64) and b.dtype == np.float32 for b in got)
    assert list(feed)[0].tobytes() == got[0].tobytes()  # a second pass starts again
    assert feed.nbytes == 2 * 3 * 64 * 64 * 4
    assert cache.read() is None
    cache.write(b"TRT-8601-EntropyCalibration2")
    assert cache.read() == b"TRT-8601-EntropyCalibration2"
    assert CalibrationCache.for_model(tmp_path, "plate-seg", "cd" * 32).read() is None


def test_onnx_runtime_reader_yields_every_sample_once_per_pass():
    reader = _set(3).ort_reader()
    seen = [reader.get_next() for _ in range(4)]
    assert [s is None for s in seen] == [False, False, False, True]
    reader.rewind()
    assert reader.get_next() is not None


def test_a_field_classifier_quantized_for_real_reads_like_its_fp32_model(tmp_path):
    from edge.quantize import quantize_model

    fp32 = MODELS / "read-kana.onnx"
    rng = np.random.default_rng(1)
    samples = tuple(rng.normal(size=(1, 1, 40, 40)).astype(np.float32) for _ in range(16))
    int8 = quantize_model(fp32, tmp_path / "read-kana.int8.onnx", CalibrationSet("read-kana", "input", samples, {}))
    assert has_qdq(int8) and not has_qdq(fp32)
    x = np.concatenate(samples[:8])
    a = OnnxRuntimeBackend(fp32).run({"input": x})["logits"]
    b = OnnxRuntimeBackend(int8).run({"input": x})["logits"]
    assert b.shape == a.shape
    assert (a.argmax(-1) == b.argmax(-1)).mean() >= 0.75


def test_an_ensemble_quantizes_with_its_averaging_head_in_float(tmp_path):
    import onnx
    from edge.quantize import KEEP_FLOAT, quantize_model
    from engines.reader.ensemble import merge

    single = onnx.load(str(MODELS / "read-kana.onnx"))
    fp32 = tmp_path / "read-kana.onnx"
    onnx.save(merge([single, single], [1.0, 1.3]), str(fp32))
    rng = np.random.default_rng(1)
    samples = tuple(rng.normal(size=(1, 1, 40, 40)).astype(np.float32) for _ in range(16))
    int8 = quantize_model(fp32, tmp_path / "read-kana.int8.onnx", CalibrationSet("read-kana", "input", samples, {}),
                          KEEP_FLOAT["read-kana"])
    graph = onnx.load(str(int8)).graph
    produced_by = {o: n.op_type for n in graph.node for o in n.output}
    assert produced_by["logits"] == "Log" and produced_by["floored"] == "Max"  # no 8-bit step after the mean
    assert not any(n.op_type == "QuantizeLinear" and n.input[0] in ("sum", "mean", "floored") for n in graph.node)
    x = np.concatenate(samples[:8])
    a = OnnxRuntimeBackend(fp32).run({"input": x})["logits"]
    b = OnnxRuntimeBackend(int8).run({"input": x})["logits"]
    assert np.isfinite(b).all()
    assert (a.argmax(-1) == b.argmax(-1)).mean() >= 0.75


@pytest.fixture(scope="module")
def check_set(tmp_path_factory):
    from tests.conftest import anpr

    folder = tmp_path_factory.mktemp("check") / "scenes"
    run = anpr("synth", str(folder), "--kind", "scenes", "--count", "6", "--seed", "61001", "--quiet")
    assert run.returncode == 0, run.stderr
    return folder


def test_quantize_writes_a_checked_int8_model_and_refuses_one_that_reads_worse(tmp_path, check_set, monkeypatch):
    import edge.quantize as quantize

    models = tmp_path / "models"
    shutil.copytree(MODELS, models, ignore=shutil.ignore_patterns("*.int8.*"))
    sets = tmp_path / "sets"
    quantize.record_calibration(3, sets, models)
    assert {p.stem for p in sets.glob("*.npz")} >= {"plate-seg", "read-color", "read-kana"}
    outcome = quantize.quantize_all(check_set, models, sets, ("read-color",), say=lambda m: None,
                                    require_faster=False)
    assert outcome["read-color"].startswith("written")
    manifest = json.loads((models / "read-color.int8.json").read_text())
    assert manifest["precision"] == "int8" and manifest["quantization"]["format"] == "QDQ"
    assert manifest["accuracy_check"]["limit_points"] == 1.0
    load_manifest(models / "read-color.int8.onnx")  # its sha256 matches
    assert model_file(models, "read-color", "int8") == models / "read-color.int8.onnx"
    # the FP32 model replaced (retrained) after quantizing: the old INT8 copy is not used
    fp32_record = models / "read-color.json"
    kept = fp32_record.read_text()
    fp32_record.write_text(json.dumps({**json.loads(kept), "sha256": "0" * 64}))
    with pytest.raises(ModelError, match="quantized from another read-color.onnx.*make quantize"):
        model_file(models, "read-color", "int8")
    fp32_record.write_text(kept)
    monkeypatch.setattr(quantize, "SPEED_MARGIN", 0.0)  # no model is "faster" than this
    outcome = quantize.quantize_all(check_set, models, sets, ("read-kana",), say=lambda m: None)
    assert outcome["read-kana"].startswith("refused: not faster")
    assert json.loads((models / "read-kana.int8.json").read_text())["accuracy_check"]["speed"]["fp32_ms"] > 0
    # quantized again after a refusal (the record names the FP32 model it runs as): refused or
    # written, the FP32 model stays as it was
    fp32_bytes = (models / "read-kana.onnx").read_bytes()
    assert quantize.quantize_all(check_set, models, sets, ("read-kana",), say=lambda m: None)["read-kana"].startswith(
        "refused: not faster")
    assert (models / "read-kana.onnx").read_bytes() == fp32_bytes
    outcome = quantize.quantize_all(check_set, models, sets, ("read-kana",), say=lambda m: None, require_faster=False)
    assert outcome["read-kana"].startswith("written")
    assert (models / "read-kana.onnx").read_bytes() == fp32_bytes
    load_manifest(models / "read-kana.onnx")
    load_manifest(models / "read-kana.int8.onnx")
    monkeypatch.setattr(quantize, "SPEED_MARGIN", 1.0)
    monkeypatch.setattr(quantize, "LIMIT_POINTS", -1.0)  # any model "reads worse" than this
    outcome = quantize.quantize_all(check_set, models, sets, ("read-color",), say=lambda m: None,
                                    require_faster=False)
    assert outcome["read-color"].startswith("refused")
    assert not (models / "read-color.int8.onnx").exists()
    assert json.loads((models / "read-color.int8.json").read_text())["refused"].startswith("refused")
    assert model_file(models, "read-color", "int8") == models / "read-color.onnx"  # runs in FP32
    assert model_file(models, "read-serial", "int8") == models / "read-serial.int8.onnx"  # not made: asked for


def test_each_int8_copy_is_checked_together_with_the_copies_kept_before_it(tmp_path, check_set, monkeypatch):
    """Copies each within the limit alone can cost more than it together, so the pipeline each copy
    is checked in holds the copies kept before it; a refused copy is not carried on."""
    import edge.quantize as quantize

    models = tmp_path / "models"
    shutil.copytree(MODELS, models, ignore=shutil.ignore_patterns("*.int8.*"))
    sets = tmp_path / "sets"
    quantize.record_calibration(2, sets, models)
    monkeypatch.setattr(quantize, "LIMIT_POINTS", 100.0)  # every copy kept
    outcome = quantize.quantize_all(check_set, models, sets, ("read-color", "read-kana"), say=lambda m: None,
                                    require_faster=False)
    assert all(o.startswith("written") for o in outcome.values())
    record = json.loads((models / "read-kana.int8.json").read_text())["accuracy_check"]
    assert record["int8_with"] == ["read-color", "read-kana"]
    # its figures are those of the pipeline with both copies in
    both = Pipeline(VisionConfig(models_dir=str(models), backend="onnxruntime"))
    for name in record["int8_with"]:
        both.model_holders()[name][0].backend = OnnxRuntimeBackend(models / f"{name}.int8.onnx")
    assert quantize.check(both, check_set).to_dict() == record["int8"]
    monkeypatch.setattr(quantize, "LIMIT_POINTS", -1.0)  # every copy refused
    quantize.quantize_all(check_set, models, sets, ("read-color", "read-kana"), say=lambda m: None,
                          require_faster=False)
    record = json.loads((models / "read-kana.int8.json").read_text())["accuracy_check"]
    assert record["int8_with"] == ["read-kana"]


def test_bench_measures_the_still_the_lane_loop_and_the_labelled_set_in_a_process_of_its_own(lane_clip, check_set,
                                                                                              tmp_path):
    from edge.bench import bench, still_frame, table

    still = still_frame(lane_clip, tmp_path / "still.png")
    phases = []
    result = bench(("fp32",), lane_clip / "clip.mp4", still, check_set, repeats=3, progress=phases.append)
    assert phases == ["fp32 still", "fp32 lane", "fp32 accuracy"]
    fp32 = result["fp32"]
    assert fp32["still"]["frames"] == 3 and fp32["still"]["rounds"] == 3  # a block of one run a round
    assert fp32["full_pipeline_fps"] > 0 and fp32["lane_fps"] > 0
    assert fp32["still"]["plates_read"] >= 1  # a plate is in view and read
    assert set(fp32["still"]["stages"]) >= {"detect", "find", "refine", "read", "total"}
    assert fp32["still"]["models"]["plate-seg"]["runs_per_frame"] >= 1
    assert fp32["lane"]["frames"] == json.loads((lane_clip / "clip.json").read_text())["frames"]
    assert fp32["lane"]["events"] >= 1
    assert 0 <= fp32["accuracy"]["exact_match"] <= 1 and fp32["peak_memory_mib"] > 100
    assert "| full pipeline, frames/s |" in table(result)


def test_the_still_is_summed_over_its_blocks():
    from edge.bench import _still_summary

    def block(wall_s, totals, seg_runs, plates):
        return {"wall_s": wall_s, "frames": len(totals), "plates_read": plates, "stages": {"total": totals},
                "models": {"plate-seg": seg_runs}}

    still = _still_summary([block(0.2, [90.0, 110.0], [10.0, 10.0, 10.0], 1), block(0.1, [50.0], [5.0, 5.0], 0)])
    assert still["frames"] == 3 and still["rounds"] == 2 and still["plates_read"] == 1
    assert still["full_pipeline_fps"] == pytest.approx(3 / 0.3, abs=0.01)
    assert still["stages"]["total"]["median_ms"] == 90.0
    assert still["models"]["plate-seg"] == {**still["models"]["plate-seg"], "runs_per_frame": 1.67,
                                            "ms_per_frame": 13.33}
    assert still["models_share"] == pytest.approx(13.33 / (250 / 3), abs=1e-3)


def test_engines_build_without_tensorrt_and_int8_without_quantized_models_say_what_to_do(tmp_path):
    from tests.conftest import anpr

    run = anpr("engines", "build")
    assert run.returncode == 2 and "TensorRT and a CUDA GPU are not here" in run.stderr
    models = tmp_path / "models"
    shutil.copytree(MODELS, models, ignore=shutil.ignore_patterns("*.int8.*"))
    image = tmp_path / "frame.png"
    import cv2

    cv2.imwrite(str(image), np.full((120, 160, 3), 128, np.uint8))
    run = anpr("read", str(image), "--models", str(models), "--precision", "int8")
    assert run.returncode == 2 and "make quantize" in run.stderr
