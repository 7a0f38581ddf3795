"""Every TensorRT and pycuda call of the project: running a plan, building one, calibrating.

Written against the documented Python API of TensorRT 8.5, 8.6 and 10.x (the name-based tensor
API: ``num_io_tensors``, ``get_tensor_name``, ``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``) and pycuda with an explicit CUDA context. It runs only on a device with
TensorRT (JetPack); nothing here is imported until a plan is asked for, and everything around it
(plan names and records, profiles, buffer sizes, calibration batches and caches, the choice of
backend) lives in plain modules that are tested without it: ``plans.py`` and ``calibration.py``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from edge.vision.calibration import CalibrationBatches
from edge.vision.manifest import ModelError
from edge.vision.plans import batches, buffer_bytes, fits


@dataclass(frozen=True)
class Device:
    version: str  # TensorRT's version, e.g. 10.3.0
    gpu: str  # the CUDA device's name, e.g. Orin


@lru_cache(maxsize=1)
def device() -> Device | None:
    """This machine's TensorRT version and GPU, or None when TensorRT or a GPU is not here."""
    try:
        import pycuda.driver as cuda
        import tensorrt as trt
    except ImportError:
        return None
    try:
        cuda.init()
        return Device(trt.__version__, cuda.Device(0).name())
    except Exception:  # pycuda raises its own errors (no driver, no device)
        return None


def _major(trt) -> int:
    return int(trt.__version__.split(".")[0])


class TensorRTBackend:
    """A serialised TensorRT engine run in its own CUDA context, its buffers allocated once at
    the optimisation profile's largest shapes; bigger batches are run in parts."""

    def __init__(self, plan: Path, gpu: int = 0):
        import pycuda.driver as cuda
        import tensorrt as trt

        self._cuda, self._trt = cuda, trt
        self.path = Path(plan)
        cuda.init()
        self.context_cuda = cuda.Device(gpu).make_context()  # explicit: the lane loop runs us from two threads
        self._lock = threading.Lock()
        try:
            self._logger = trt.Logger(trt.Logger.WARNING)
            self.runtime = trt.Runtime(self._logger)  # kept: the engine must not outlive its runtime
            self.engine = self.runtime.deserialize_cuda_engine(self.path.read_bytes())
            if self.engine is None:
                raise ModelError(f"TensorRT cannot deserialise {plan}: rebuild it with `make engines` on this device")
            if not hasattr(self.engine, "num_io_tensors"):  # the name-based API arrived in TensorRT 8.5
                raise ModelError(f"TensorRT {trt.__version__} is too old: 8.5 or newer is needed")
            self.context = self.engine.create_execution_context()
            self.stream = cuda.Stream()
            names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
            self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
            self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
            self.dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))) for n in names}
            self.profiles = {n: tuple(tuple(s) for s in self.engine.get_tensor_profile_shape(n, 0))
                             for n in self.inputs}
            for name in self.inputs:  # the largest shapes, to size the output buffers
                self.context.set_input_shape(name, self.profiles[name][2])
            largest = {**{n: self.profiles[n][2] for n in self.inputs},
                       **{n: tuple(self.context.get_tensor_shape(n)) for n in self.outputs}}
            self.host = {n: cuda.pagelocked_empty(buffer_bytes(largest[n], self.dtypes[n]) // self.dtypes[n].itemsize,
                                                  self.dtypes[n]) for n in names}
            self.device_buffers = {n: cuda.mem_alloc(buffer_bytes(largest[n], self.dtypes[n])) for n in names}
            for name in names:
                self.context.set_tensor_address(name, int(self.device_buffers[name]))
            self.max_batch = min(p[2][0] for p in self.profiles.values())
        finally:
            self.context_cuda.pop()

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        first = inputs[self.inputs[0]]
        if first.shape[0] > self.max_batch:  # more views than the profile takes: in parts
            parts = [self.run({k: v[a:b] for k, v in inputs.items()}) for a, b in batches(first.shape[0], self.max_batch)]
            return {name: np.concatenate([p[name] for p in parts]) for name in self.outputs}
        with self._lock:
            self.context_cuda.push()
            try:
                return self._run(inputs)
            finally:
                self.context_cuda.pop()

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cuda = self._cuda
        for name in self.inputs:
            array = np.ascontiguousarray(inputs[name], self.dtypes[name])
            if not fits(array.shape, self.profiles[name]):
                raise ModelError(f"{self.path.name}: input {name} of shape {array.shape} is outside the plan's "
                                 f"profile {self.profiles[name][0]}..{self.profiles[name][2]}; rebuild it with "
                                 "`anpr engines build` for this vision config")
            self.context.set_input_shape(name, array.shape)
            staged = self.host[name][: array.size]
            staged[:] = array.ravel()
            cuda.memcpy_htod_async(self.device_buffers[name], staged, self.stream)
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"TensorRT execution of {self.path} failed")
        shapes = {name: tuple(self.context.get_tensor_shape(name)) for name in self.outputs}
        for name in self.outputs:
            size = int(np.prod(shapes[name]))
            cuda.memcpy_dtoh_async(self.host[name][:size], self.device_buffers[name], self.stream)
        self.stream.synchronize()
        return {name: self.host[name][: int(np.prod(shapes[name]))].reshape(shapes[name]).copy()
                for name in self.outputs}


def _entropy_calibrator(trt, cuda, calibration: CalibrationBatches):
    """TensorRT's entropy calibrator (implicit INT8, the fallback for a model without Q/DQ nodes)
    fed by the same batches as ONNX Runtime's quantizer, its cache kept beside them."""

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = iter(calibration)
            self._device = cuda.mem_alloc(calibration.nbytes)

        def get_batch_size(self):
            return calibration.batch_size

        def get_batch(self, names):
            batch = next(self._batches, None)
            if batch is None:
                return None
            cuda.memcpy_htod(self._device, np.ascontiguousarray(batch, np.float32))
            return [int(self._device)]

        def read_calibration_cache(self):
            return calibration.cache.read()

        def write_calibration_cache(self, cache):
            calibration.cache.write(bytes(cache))

    return EntropyCalibrator()


def build_plan(onnx_path: Path, plan: Path, profiles: dict[str, tuple[tuple, tuple, tuple]], workspace_mb: int,
               int8: bool, explicit_qdq: bool, calibration: CalibrationBatches | None = None,
               fp16: bool = True, gpu: int = 0) -> Path:
    """Build and write the plan of ``onnx_path``: one optimisation profile per input, a workspace
    limit, INT8 from the model's Q/DQ nodes (``explicit_qdq``) or, without them, from the entropy
    calibrator over ``calibration``; FP16 allowed for the layers left in float."""
    import pycuda.driver as cuda
    import tensorrt as trt

    cuda.init()
    context = cuda.Device(gpu).make_context()
    try:
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        # TensorRT 10 networks are always explicit-batch; 8.x asks for it by flag
        flags = 0 if _major(trt) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(Path(onnx_path).read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ModelError(f"TensorRT cannot parse {onnx_path}: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
        profile = builder.create_optimization_profile()
        for name, (low, opt, high) in profiles.items():
            profile.set_shape(name, low, opt, high)
        config.add_optimization_profile(profile)
        if fp16 and builder.platform_has_fast_fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        if int8:
            config.set_flag(trt.BuilderFlag.INT8)
            if not explicit_qdq:
                if calibration is None:
                    raise ModelError(f"{onnx_path.name} has no Q/DQ nodes: implicit INT8 needs a calibration set "
                                     "(`anpr engines calibrate`)")
                config.int8_calibrator = _entropy_calibrator(trt, cuda, calibration)
                config.set_calibration_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise ModelError(f"TensorRT could not build a plan from {onnx_path} (see its log above)")
        plan.parent.mkdir(parents=True, exist_ok=True)
        tmp = plan.with_suffix(".partial")
        tmp.write_bytes(bytes(serialized))
        tmp.replace(plan)
        return plan
    finally:
        context.pop()
