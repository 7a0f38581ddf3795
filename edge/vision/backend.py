"""Inference backends behind one small interface: ``load(path)`` then ``run(inputs) -> outputs``.

``auto`` picks a TensorRT plan built for this GPU and TensorRT version when one exists
(edge/vision/plans.py names them), else ONNX Runtime on the CPU. Pre- and post-processing live
outside the backend (numpy), so every backend gives the same answers. Every TensorRT and pycuda
call is in edge/vision/tensorrt.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from edge.vision.manifest import ModelError
from edge.vision.plans import DEFAULT_PLANS_DIR, find_plan

BACKENDS = ("auto", "onnxruntime", "tensorrt")


class Backend(Protocol):
    path: Path

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ...


def default_threads() -> int:
    """ONNX Runtime threads a model run gets when ``vision.threads`` is null."""
    return min(4, os.cpu_count() or 1)


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU (FP32 or a Q/DQ INT8 model)."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        self.threads = threads or default_threads()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        # Seven sessions take turns on the same cores: a session's threads spinning after its run
        # (ONNX Runtime's default) steal the cores from the next model's.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from None
        self.path = Path(path)
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(self.output_names, inputs)))


def load_backend(onnx_path: Path, kind: str = "auto", threads: int | None = None,
                 plans_dir: str | Path | None = None) -> Backend:
    """A backend for the model at ``onnx_path``: its TensorRT plan for this TensorRT and GPU when
    ``kind`` allows and one is built in ``plans_dir``, else ONNX Runtime on the CPU."""
    if kind not in BACKENDS:
        raise ModelError(f"backend {kind!r} is not one of {', '.join(BACKENDS)}")
    if kind in ("auto", "tensorrt"):
        from edge.vision import tensorrt  # imports TensorRT itself only when it is installed

        device = tensorrt.device()
        plan = (find_plan(plans_dir or DEFAULT_PLANS_DIR, onnx_path, device.version, device.gpu)
                if device is not None else None)
        if plan is not None:
            return tensorrt.TensorRTBackend(plan)
        if kind == "tensorrt":
            why = "TensorRT is not installed" if device is None else f"no plan is built for {device.gpu}"
            raise ModelError(f"no TensorRT plan for {onnx_path}: {why}; run `make engines` on the device")
    return OnnxRuntimeBackend(Path(onnx_path), threads)
