"""Model manifests: ``engines/models/NAME.json`` beside each ``NAME.onnx``.

Runtime code takes class lists, input shapes and normalisation from here, never from literals.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "engines" / "models"
PRECISIONS = ("fp32", "int8")


def quantized_file(models_dir: str | Path, name: str, precision: str = "int8") -> Path:
    """The name a quantized copy of model ``name`` is written under (``NAME.int8.onnx``), whether
    or not it exists or runs: ``model_file`` says which file runs."""
    return Path(models_dir) / f"{name}.{precision}.onnx"


def model_file(models_dir: str | Path, name: str, precision: str = "fp32") -> Path:
    """Where model ``name`` lives in ``precision``: ``NAME.onnx`` (FP32, as trained) or
    ``NAME.int8.onnx`` (its Q/DQ INT8 copy, written by ``anpr engines quantize``). A model whose
    INT8 copy was refused (it read worse; ``NAME.int8.json`` says so) runs in FP32; a copy made
    from another FP32 model than the one here (retrained since) is refused with ModelError."""
    if precision not in PRECISIONS:
        raise ModelError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    fp32 = Path(models_dir) / f"{name}.onnx"
    if precision == "fp32":
        return fp32
    quantized = quantized_file(models_dir, name, precision)
    record = quantized.with_suffix(".json")
    data = _json_object(record)  # None: missing or unreadable, which load_manifest reports
    if data is None:
        return quantized
    if not quantized.exists() and data.get("refused"):
        return fp32
    quantization = data.get("quantization")
    made_from = quantization.get("from_sha256") if isinstance(quantization, dict) else None
    current = (_json_object(fp32.with_suffix(".json")) or {}).get("sha256")
    if quantized.exists() and made_from and current and current != made_from:
        raise ModelError(f"{quantized} was quantized from another {fp32.name} (sha256 {made_from[:12]}, "
                         f"now {current[:12]}): run `make quantize` again")
    return quantized


def _json_object(path: Path) -> dict | None:
    """The JSON object in ``path``, or None where there is none to read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class ModelError(RuntimeError):
    """A model file or its manifest is missing, damaged or does not match; the message says how to fix it."""


@dataclass(frozen=True)
class Manifest:
    path: Path  # the .onnx file
    data: dict

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def classes(self) -> list[str]:
        return list(self.data["classes"])

    @property
    def input(self) -> dict:
        return self.data["input"]

    @cached_property
    def _lookup(self) -> np.ndarray:
        """Every uint8 value's normalised float32, one table per channel (one for all when one
        scale, mean and std serve all): the same float32 operations as on a whole image, done once."""
        norm = self.input["normalise"]
        values = np.arange(256, dtype=np.uint8).astype(np.float32)[:, None] * np.float32(norm["scale"])
        table = (values - np.float32(norm["mean"])) / np.float32(norm["std"])
        return np.ascontiguousarray(table.T[:, :, None])  # channels x 256 x 1: one table per channel

    def normalise(self, rgb):
        """uint8 HxWx3 (or NxHxWx3) RGB -> float32 NCHW, as the manifest's input says: the bytes
        put in NCHW order first, then looked up (``_lookup``; the same floats, bit for bit, as
        scaling the whole image, in a fifth of the time on a 416 x 416 one)."""
        if rgb.dtype != np.uint8:
            raise TypeError(f"{self.name}: normalise takes uint8 images, not {rgb.dtype}")
        x = rgb[None] if rgb.ndim == 3 else rgb
        n, h, w, c = x.shape
        planes = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        lookup = self._lookup
        if len(lookup) == 1:
            return cv2.LUT(planes.reshape(n * c * h, w), lookup[0]).reshape(n, c, h, w)
        out = np.empty((n, c, h, w), np.float32)
        for k in range(c):
            out[:, k] = cv2.LUT(np.ascontiguousarray(planes[:, k]).reshape(n * h, w), lookup[k]).reshape(n, h, w)
        return out


def load_manifest(model: str | Path, models_dir: Path = DEFAULT_MODELS_DIR, check_hash: bool = True) -> Manifest:
    """The manifest of ``model`` (a name in models_dir, or a path to the .onnx file), checked against the file."""
    path = Path(model)
    if path.suffix != ".onnx":
        path = Path(models_dir) / f"{model}.onnx"
    meta = path.with_suffix(".json")
    hint = ("run `make quantize`" if path.name.endswith(".int8.onnx") else "run `make models`"
            if path.stem in ("yolov3-tiny", "ppocr-rec", "ppocr-det", "ppocr5-rec") else "run `make train` or check out engines/models")
    if not path.exists():
        raise ModelError(f"model {path} is missing: {hint}")
    if not meta.exists():
        raise ModelError(f"model {path} has no manifest {meta.name}: {hint}")
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"manifest {meta} cannot be read: {exc}") from None
    missing = [k for k in ("name", "input", "classes", "sha256") if k not in data]
    if missing:
        raise ModelError(f"manifest {meta} lacks {', '.join(missing)}")
    if check_hash:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != data["sha256"]:
            raise ModelError(f"model {path} does not match its manifest (sha256 {digest[:12]}, manifest "
                             f"{data['sha256'][:12]}): the file is damaged or was replaced; {hint}")
    return Manifest(path, data)
