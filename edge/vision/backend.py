"""Inference backends behind one small interface: ``load(path)`` then ``run(inputs) -> outputs``.

``auto`` picks a TensorRT plan built for this device and TensorRT version when one exists
(``engines/plans/NAME.<trt version>.plan``), else ONNX Runtime on the CPU. Pre- and
post-processing live outside the backend (numpy), so every backend gives the same answers.
TensorRT and pycuda are imported only inside TensorRTBackend.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from edge.vision.manifest import ModelError

BACKENDS = ("auto", "onnxruntime", "tensorrt")


class Backend(Protocol):
    path: Path

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ...


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU (FP32 or a Q/DQ INT8 model)."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from None
        self.path = Path(path)
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(self.output_names, inputs)))


class TensorRTBackend:
    """A serialised TensorRT engine (8.5+ or 10.x), run with pycuda; shapes fixed at build time."""

    def __init__(self, plan: Path):
        import pycuda.autoinit  # noqa: F401  (creates the CUDA context)
        import pycuda.driver as cuda
        import tensorrt as trt

        self._cuda, self._trt = cuda, trt
        logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(logger)  # kept: the engine must not outlive its runtime
        self.engine = self.runtime.deserialize_cuda_engine(Path(plan).read_bytes())
        if self.engine is None:
            raise ModelError(f"TensorRT cannot deserialise {plan}: rebuild it with `make engines` on this device")
        if not hasattr(self.engine, "num_io_tensors"):  # the name-based API arrived in TensorRT 8.5
            raise ModelError(f"TensorRT {trt.__version__} is too old: 8.5 or newer is needed")
        self.context = self.engine.create_execution_context()
        self.path = Path(plan)
        self.stream = cuda.Stream()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cuda, trt = self._cuda, self._trt
        buffers, results = [], {}
        for name in self.inputs:
            array = np.ascontiguousarray(inputs[name].astype(trt.nptype(self.engine.get_tensor_dtype(name))))
            self.context.set_input_shape(name, array.shape)
            device = cuda.mem_alloc(array.nbytes)
            cuda.memcpy_htod_async(device, array, self.stream)
            self.context.set_tensor_address(name, int(device))
            buffers.append(device)
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            host = cuda.pagelocked_empty(shape, trt.nptype(self.engine.get_tensor_dtype(name)))
            device = cuda.mem_alloc(host.nbytes)
            self.context.set_tensor_address(name, int(device))
            buffers.append(device)
            results[name] = (host, device)
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"TensorRT execution of {self.path} failed")
        for host, device in results.values():
            cuda.memcpy_dtoh_async(host, device, self.stream)
        self.stream.synchronize()
        return {name: np.array(host) for name, (host, _) in results.items()}


def plan_path(onnx_path: Path) -> Path | None:
    """The TensorRT plan built for this TensorRT version from ``onnx_path``, if TensorRT is here and it exists."""
    try:
        import tensorrt as trt
    except ImportError:
        return None
    plan = onnx_path.parent.parent / "plans" / f"{onnx_path.stem}.trt{trt.__version__}.plan"
    return plan if plan.exists() else None


def load_backend(onnx_path: Path, kind: str = "auto", threads: int | None = None) -> Backend:
    """A backend for the model at ``onnx_path`` (its plan when ``kind`` allows and one exists)."""
    if kind not in BACKENDS:
        raise ModelError(f"backend {kind!r} is not one of {', '.join(BACKENDS)}")
    if kind in ("auto", "tensorrt"):
        plan = plan_path(Path(onnx_path))
        if plan is not None:
            return TensorRTBackend(plan)
        if kind == "tensorrt":
            raise ModelError(f"no TensorRT plan for {onnx_path}: TensorRT is not installed or `make engines` "
                             "has not been run on this device")
    return OnnxRuntimeBackend(Path(onnx_path), threads)
