"""INT8 calibration data: each model's inputs as the running pipeline made them, and the one
batch reader that ONNX Runtime's quantizer and TensorRT's entropy calibrator both read.

A calibration set is recorded, not re-implemented: ``anpr engines calibrate`` runs the FP32
pipeline over synthetic scenes and keeps what each model was given (edge/quantize.py), so the
letterbox, the windows, the rectification, the field cuts and the normalisation are the
runtime's own by construction. One ``NAME.npz`` per model in ``calibration/sets/``.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from edge.vision.manifest import ModelError

DEFAULT_CALIBRATION_DIR = Path(__file__).resolve().parents[2] / "calibration"


@dataclass(frozen=True)
class CalibrationSet:
    """One model's recorded inputs: ``samples`` are single inputs (1 x ...), in recording order."""

    model: str
    input_name: str
    samples: tuple[np.ndarray, ...]
    meta: dict

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"s{i:05d}": s for i, s in enumerate(self.samples)}
        meta = {**self.meta, "model": self.model, "input": self.input_name, "samples": len(self.samples)}
        tmp = path.with_name(path.name + ".partial.npz")
        np.savez_compressed(tmp, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> "CalibrationSet":
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                samples = tuple(data[k] for k in sorted(k for k in data.files if k != "meta"))
        except FileNotFoundError:
            raise ModelError(f"calibration set {path} is missing: run `anpr engines calibrate` "
                             "(`make quantize` does)") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelError(f"calibration set {path} cannot be read ({exc}): run `anpr engines calibrate` "
                             "again") from None
        if not samples or meta.get("samples") != len(samples):
            raise ModelError(f"calibration set {path} is incomplete: run `anpr engines calibrate` again")
        return cls(meta["model"], meta["input"], samples, meta)

    def ort_reader(self):
        """An ``onnxruntime.quantization.CalibrationDataReader`` over the samples, one at a time."""
        from onnxruntime.quantization import CalibrationDataReader

        samples, name = self.samples, self.input_name

        class Reader(CalibrationDataReader):
            def __init__(self):
                self._next = iter(samples)

            def get_next(self):
                sample = next(self._next, None)
                return None if sample is None else {name: sample}

            def rewind(self):
                self._next = iter(samples)

        return Reader()


@dataclass(frozen=True)
class CalibrationCache:
    """TensorRT's calibration table for one model file, named by the file's hash so a
    retrained model never reuses the scales of the last one."""

    path: Path

    @classmethod
    def for_model(cls, folder: Path, model_stem: str, sha256: str) -> "CalibrationCache":
        return cls(Path(folder) / f"{model_stem}.{sha256[:12]}.trt-calib")

    def read(self) -> bytes | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return data or None

    def write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".partial")
        tmp.write_bytes(data)
        tmp.replace(self.path)


@dataclass(frozen=True)
class CalibrationBatches:
    """Batches of exactly ``shape`` (batch first) from a calibration set, as a calibrator with a
    fixed calibration profile needs them: samples of another size are left out, the last short
    batch too. Iterating starts again from the first sample."""

    calibration: CalibrationSet
    shape: tuple[int, ...]
    cache: CalibrationCache

    @property
    def batch_size(self) -> int:
        return int(self.shape[0])

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * 4  # float32

    def matching(self) -> list[np.ndarray]:
        return [s for s in self.calibration.samples if tuple(s.shape[1:]) == tuple(self.shape[1:])]

    def __iter__(self) -> Iterator[np.ndarray]:
        samples = self.matching()
        n = self.batch_size
        for start in range(0, len(samples) - n + 1, n):
            yield np.ascontiguousarray(np.concatenate(samples[start:start + n]), np.float32)

    def __len__(self) -> int:
        return len(self.matching()) // self.batch_size
