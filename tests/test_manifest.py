from pathlib import Path

import numpy as np
import pytest

from edge.vision.manifest import Manifest


def _manifest(normalise):
    return Manifest(Path("m.onnx"), {"name": "m", "input": {"name": "x", "normalise": normalise}, "classes": []})


@pytest.mark.parametrize("normalise", [
    {"scale": 1 / 255, "mean": 0.0, "std": 1.0},  # Tiny YOLOv3's
    {"scale": 1 / 255, "mean": 0.5, "std": 0.25},  # the segmenter's
    {"scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},  # PP-OCR's detector's
])
def test_normalise_gives_the_floats_of_scaling_the_whole_image_bit_for_bit(normalise):
    rng = np.random.default_rng(7)
    manifest = _manifest(normalise)
    for shape in ((416, 416, 3), (37, 53, 3), (2, 40, 96, 3)):
        rgb = rng.integers(0, 256, shape, dtype=np.uint8)
        x = rgb.astype(np.float32) * np.float32(normalise["scale"])
        x = (x - np.float32(normalise["mean"])) / np.float32(normalise["std"])
        want = np.ascontiguousarray((x[None] if x.ndim == 3 else x).transpose(0, 3, 1, 2))
        got = manifest.normalise(rgb)
        assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"] and np.array_equal(got, want)
    with pytest.raises(TypeError, match="uint8"):
        manifest.normalise(rng.random((8, 8, 3)))
