"""Training the plate segmenter end to end, briefly (slow: run with `make test-slow`)."""

import json

import numpy as np
import pytest

from edge.synth.dataset import write_dataset

pytestmark = pytest.mark.slow


def test_train_exports_an_onnx_model_the_runtime_loads(tmp_path):
    torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.segmenter.model import PlateSegmenter
    from engines.segmenter.train import main as train

    from edge.vision.manifest import load_manifest
    from edge.vision.segmenter import PlateSegmenter as RuntimeSegmenter, Window

    write_dataset(tmp_path / "scenes", 60, seed=5, kind="scenes", backgrounds_dir=None, workers=1, progress=False)
    out = tmp_path / "models" / "plate-seg.onnx"
    assert train([str(tmp_path / "scenes"), "--steps", "12", "--batch", "4", "--size", "128", "--out", str(out),
                  "--note", "test"]) == 0
    manifest = load_manifest(out)
    assert manifest.classes == ["background", "plate", "region", "class_number", "kana", "serial"]
    assert manifest.data["training"]["note"] == "test"
    assert set(manifest.data["metrics"]["held_out_synthetic_views"]) == {"plate_iou", "field_pixel_accuracy"}
    # the exported graph gives the trained network's answers, at a size it was not exported at
    model = PlateSegmenter()
    model.load_state_dict(torch.load(out.with_suffix(".pt")))
    model.eval()
    image = np.random.default_rng(0).integers(0, 256, (96, 160, 3), dtype=np.uint8)
    seg = RuntimeSegmenter(out).segment(image, Window(0, 0, 1.0, 160, 96))
    with torch.no_grad():
        x = torch.from_numpy(manifest.normalise(image[..., ::-1].copy()))
        want = torch.softmax(model(x), dim=1)[0].numpy()
    np.testing.assert_allclose(seg.probs, want, atol=1e-4)
    assert json.loads(out.with_suffix(".json").read_text())["sha256"] == manifest.data["sha256"]


def test_fine_tuning_starts_from_the_exported_segmenter_exactly(tmp_path):
    torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    import onnxruntime as ort
    from engines.finetune import train_mode
    from engines.segmenter.model import PlateSegmenter
    from engines.segmenter.train import init_from_onnx, module_name

    from edge.vision.manifest import DEFAULT_MODELS_DIR

    assert module_name("/stage1/stage1.0/shortcut/shortcut.0/Conv") == "stage1.0.shortcut.0"
    assert module_name("/smooth.0/smooth.0.0/Conv") == "smooth.0.0"
    assert module_name("/head/Conv") == "head"
    path = DEFAULT_MODELS_DIR / "plate-seg.onnx"
    model = PlateSegmenter()
    init_from_onnx(model, path)
    train_mode(model, frozen_norms=True)  # training's forward pass
    x = np.random.default_rng(1).normal(size=(2, 3, 96, 160)).astype(np.float32)
    want = ort.InferenceSession(str(path)).run(None, {"image": x})[0]
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    # another architecture is named, not loaded half-way
    with pytest.raises(SystemExit, match="not the same architecture"):
        init_from_onnx(PlateSegmenter(widths=(16, 24, 48, 64, 128)), path)
    with pytest.raises(SystemExit, match="no such model"):
        init_from_onnx(PlateSegmenter(), tmp_path / "missing.onnx")
