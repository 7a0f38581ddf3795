"""TensorRT plans without TensorRT: what a plan is called, which one this device runs, which
shapes it is built for and how big its buffers are. ``edge/vision/tensorrt.py`` makes the calls.

A plan runs on the TensorRT version and the GPU it was built on and nothing else, and is only
as good as the model file it was built from, so its name says the first two and the record
beside it (``.json``) says the third:

    engines/plans/plate-seg.int8.trt10.3.0.orin.plan
    engines/plans/plate-seg.int8.trt10.3.0.orin.json   {"onnx_sha256": ..., "profiles": ..., ...}

The folder is ``vision.plans_dir`` (default ``engines/plans``); plans are never committed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.vision.manifest import DEFAULT_MODELS_DIR, ModelError, Manifest

DEFAULT_PLANS_DIR = DEFAULT_MODELS_DIR.parent / "plans"
# The field classifiers take every view of every plate of a frame in one batch (up to
# vision.max_candidates plates x len(vision.read_scales) views); bigger batches are split.
MAX_BATCH = 32
OPT_BATCH = 4
MIN_SIDE = 64  # the smallest window side the segmenter is given


def gpu_slug(gpu: str) -> str:
    """A GPU's name as a file-name part: ``NVIDIA Jetson Orin NX`` -> ``nvidia-jetson-orin-nx``."""
    slug = re.sub(r"[^a-z0-9]+", "-", gpu.lower()).strip("-")
    if not slug:
        raise ValueError(f"GPU name {gpu!r} has no letters or digits")
    return slug


def plan_file(plans_dir: str | Path, onnx_path: str | Path, trt_version: str, gpu: str) -> Path:
    """Where the plan of ``onnx_path`` built by TensorRT ``trt_version`` on ``gpu`` lives."""
    stem = Path(onnx_path).name[: -len(".onnx")]
    return Path(plans_dir) / f"{stem}.trt{trt_version}.{gpu_slug(gpu)}.plan"


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def find_plan(plans_dir: str | Path, onnx_path: str | Path, trt_version: str, gpu: str) -> Path | None:
    """The plan for ``onnx_path`` on this TensorRT and GPU, None when none is built; ModelError
    when the one there was built from another model file (a model retrained since)."""
    plan = plan_file(plans_dir, onnx_path, trt_version, gpu)
    if not plan.exists():
        return None
    record = plan.with_suffix(".json")
    try:
        built_from = json.loads(record.read_text(encoding="utf-8"))["onnx_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelError(f"plan {plan} has no readable record {record.name}: rebuild it (`anpr engines build`)") from None
    if built_from != sha256_of(onnx_path):
        raise ModelError(f"plan {plan} was built from another {Path(onnx_path).name} than the one here: "
                         "rebuild it (`anpr engines build`)")
    return plan


def write_record(plan: Path, onnx_path: Path, profiles: dict, precision: str, trt_version: str, gpu: str,
                 built_at: str) -> Path:
    """The record beside a plan: what it was built from and for."""
    record = plan.with_suffix(".json")
    record.write_text(json.dumps({
        "onnx": Path(onnx_path).name, "onnx_sha256": sha256_of(onnx_path), "precision": precision,
        "tensorrt": trt_version, "gpu": gpu, "built_at": built_at,
        "profiles": {name: [list(s) for s in shapes] for name, shapes in profiles.items()},
    }, indent=2) + "\n", encoding="utf-8")
    return record


@dataclass(frozen=True)
class WindowSizes:
    """The window sizes the pipeline gives the segmenter (from the vision config)."""

    largest_side: int = 512  # max(find_size, vehicle_size, refine_size)
    usual_side: int = 256  # refine_size: the window nearly every plate is seen in

    @classmethod
    def of(cls, vision) -> "WindowSizes":
        """The window sizes a VisionConfig gives the segmenter."""
        return cls(max(vision.find_size, vision.vehicle_size, vision.refine_size), vision.refine_size)


def profiles_for(manifest: Manifest, limits: WindowSizes = WindowSizes()) -> dict[str, tuple[tuple, tuple, tuple]]:
    """The optimisation profile (min, opt, max shape) of the model's input, from its manifest:
    fixed dimensions stay, ``H`` and ``W`` run MIN_SIDE..largest_side, ``N`` runs 1..MAX_BATCH
    (the field classifiers' batches of views), or is 1 where H and W vary (the segmenter is given
    one window at a time)."""
    shape = manifest.input["shape"]
    windows = "H" in shape or "W" in shape
    low, opt, high = [], [], []
    for dim in shape:
        if isinstance(dim, int):
            low.append(dim), opt.append(dim), high.append(dim)
        elif dim == "N":
            low.append(1), opt.append(1 if windows else OPT_BATCH), high.append(1 if windows else MAX_BATCH)
        elif dim in ("H", "W"):
            low.append(MIN_SIDE), opt.append(limits.usual_side), high.append(limits.largest_side)
        else:
            raise ModelError(f"manifest of {manifest.path.name}: input dimension {dim!r} is neither a number, "
                             "N, H nor W")
    return {manifest.input["name"]: (tuple(low), tuple(opt), tuple(high))}


def buffer_bytes(shape: tuple[int, ...], dtype) -> int:
    """Bytes of one buffer of ``shape``: the device buffers are allocated once, at the profile's max."""
    if any(int(d) < 0 for d in shape):
        raise ValueError(f"shape {shape} has an unresolved dimension")
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def batches(n: int, max_batch: int) -> list[tuple[int, int]]:
    """(start, stop) runs of at most ``max_batch`` covering ``n`` items."""
    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    return [(i, min(n, i + max_batch)) for i in range(0, n, max_batch)]


def fits(shape: tuple[int, ...], profile: tuple[tuple, tuple, tuple]) -> bool:
    """Whether an input of ``shape`` lies inside the profile (min <= shape <= max, dim by dim)."""
    low, _, high = profile
    return len(shape) == len(low) and all(a <= s <= b for s, a, b in zip(shape, low, high))


def has_qdq(onnx_path: str | Path) -> bool:
    """Whether the model carries its own INT8 scales (QuantizeLinear/DequantizeLinear nodes):
    TensorRT then builds INT8 from them, with no calibrator."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return any(node.op_type in ("QuantizeLinear", "DequantizeLinear") for node in graph.node)


def build_plans(models: dict[str, Path], plans_dir: Path, limits: WindowSizes, trt_version: str, gpu: str,
                ) -> list[tuple[str, Path, dict, bool]]:
    """What ``anpr engines build`` builds: (name, plan path, profiles, from Q/DQ) per model file."""
    from edge.vision.manifest import load_manifest

    out = []
    for name, onnx_path in models.items():
        manifest = load_manifest(onnx_path)
        out.append((name, plan_file(plans_dir, onnx_path, trt_version, gpu), profiles_for(manifest, limits),
                    has_qdq(onnx_path)))
    return out
