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
