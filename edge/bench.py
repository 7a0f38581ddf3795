"""``anpr bench``: how fast the pipeline and the lane loop run, and what each precision costs.

Each precision is measured in a process of its own (so its peak memory is its own), phase by
phase:

- ``still``: the whole pipeline (vehicles, plate search, refine, read) on every one of
  ``repeats`` runs over one 1280x720 frame of the clip with a plate in view: per-stage latency
  (median and p95), each model's own inference time, and frames per second. The precisions take
  turns, a block of runs each, ``ROUNDS`` times (in turn first), so that a shared host slowing
  down or speeding up in the middle weighs on both alike and the INT8 / FP32 ratio is theirs, not
  the minute's (run one after the other, the ratio moved between 1.35x and 1.52x on one host);
  each round's ratio is reported too;
- ``lane``: the lane loop (motion gate, tracking, following, reading, fusion) over the whole
  1280x720 clip of ``anpr synth --kind clip``, decoding included: frames handled per second,
  and frames in which a model ran per second;
- ``accuracy``: ``anpr eval``'s plate recall and full-plate exact match on a labelled set.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

PHASES = ("still", "lane", "accuracy")
ROUNDS = 5  # blocks of the still per precision, the precisions taking turns


def _spread(values: list[float]) -> dict:
    if not values:
        return {"median_ms": None, "p95_ms": None}
    return {"median_ms": round(statistics.median(values), 2), "p95_ms": round(float(np.percentile(values, 95)), 2)}


class _Timed:
    """A backend that adds each run's time to its model's list."""

    def __init__(self, backend, times: list[float]):
        self.backend, self.times, self.path = backend, times, backend.path

    def run(self, inputs):
        t0 = time.perf_counter()
        out = self.backend.run(inputs)
        self.times.append((time.perf_counter() - t0) * 1e3)
        return out


def still_frame(clip_dir: Path, out: Path) -> Path:
    """Write the bench's still: the frame of ``clip_dir/clip.mp4`` halfway between its first
    vehicle's first readable frame and its last frame in view, a plate in view."""
    import cv2

    vehicles = [json.loads(line) for line in (clip_dir / "vehicles.jsonl").read_text(encoding="utf-8").splitlines()]
    first = next((v for v in vehicles if v["first_readable_frame"] is not None), None)
    if first is None:
        raise ValueError(f"{clip_dir} has no vehicle with a readable plate")
    at = (first["first_readable_frame"] + first["last_frame"]) // 2
    video = cv2.VideoCapture(str(clip_dir / "clip.mp4"))
    video.set(cv2.CAP_PROP_POS_FRAMES, at)
    ok, frame = video.read()
    video.release()
    if not ok or not cv2.imwrite(str(out), frame):
        raise ValueError(f"cannot read frame {at} of {clip_dir / 'clip.mp4'} or write {out}")
    return out


_STATE: dict = {}


def _setup(precision: str, models_dir: str | None, threads: int | None) -> None:
    from edge.vision.config import VisionConfig
    from edge.vision.pipeline import Pipeline

    pipeline = Pipeline(VisionConfig(models_dir=models_dir, precision=precision, threads=threads))
    model_times: dict[str, list[float]] = {}
    for name, (component, _) in pipeline.model_holders().items():
        model_times[name] = []
        component.backend = _Timed(component.backend, model_times[name])
    _STATE.update(pipeline=pipeline, model_times=model_times)


def _still_block(frame_path: str, repeats: int, warm_up: bool) -> dict:
    """``repeats`` reads of the still by the whole pipeline (after three unmeasured ones when
    ``warm_up``: first runs allocate), as raw figures for ``_still_summary``."""
    import cv2

    pipeline, model_times = _STATE["pipeline"], _STATE["model_times"]
    image = cv2.imread(frame_path)
    for _ in range(3 if warm_up else 0):
        pipeline.read_image(image)
    for times in model_times.values():
        times.clear()
    stages: dict[str, list[float]] = {}
    plates = 0
    t0 = time.perf_counter()
    for _ in range(repeats):
        result = pipeline.read_image(image)
        plates = max(plates, sum(p.text is not None for p in result.plates))
        for k, v in result.timing_ms.items():
            stages.setdefault(k, []).append(v)
    return {"wall_s": time.perf_counter() - t0, "frames": repeats, "plates_read": plates, "stages": stages,
            "models": {name: list(ts) for name, ts in model_times.items()}}


def _still_summary(blocks: list[dict]) -> dict:
    """One precision's still figures from its blocks."""
    frames, wall = sum(b["frames"] for b in blocks), sum(b["wall_s"] for b in blocks)
    stages = {k: [v for b in blocks for v in b["stages"][k]] for k in blocks[0]["stages"]}
    models = {}
    for name in blocks[0]["models"]:
        ts = [t for b in blocks for t in b["models"][name]]
        models[name] = {**_spread(ts), "runs_per_frame": round(len(ts) / frames, 2),
                        "ms_per_frame": round(sum(ts) / frames, 2)}
    # runs side by side (vision.side_by_side: the INT8 field classifiers) overlap in time, so
    # their sum, and this share, can be more than the wall time they took
    in_models = sum(m["ms_per_frame"] for m in models.values())
    total = statistics.mean(stages["total"])
    return {"full_pipeline_fps": round(frames / wall, 2), "frames": frames, "rounds": len(blocks),
            "plates_read": max(b["plates_read"] for b in blocks),
            "stages": {k: _spread(v) for k, v in stages.items()}, "models": models,
            "models_share": round(in_models / total, 3) if total else None}


def _lane(clip: str) -> dict:
    from edge.config import Config
    from edge.stream.lane import LaneLoop
    from edge.stream.sources import open_source

    config = Config()
    loop = LaneLoop(_STATE["pipeline"], config.lane, config.stream, parallel=True)
    source = open_source(clip, report=lambda m: None)
    events = 0
    t0 = time.perf_counter()
    try:
        for frame in source:
            events += len(loop.step(frame).events)
        events += len(loop.finish().events)
    finally:
        source.close()
        loop.close()
    wall = time.perf_counter() - t0
    s = loop.stats
    return {"lane_fps": round(s.frames_seen / wall, 2), "lane_analysed_fps": round(s.frames_analysed / wall, 2),
            "frames": s.frames_seen, "frames_analysed": s.frames_analysed, "events": events,
            "stage_ms_per_frame": {k: round(v / max(s.frames_seen, 1), 2) for k, v in s.stage_ms.items()}}


def _accuracy(labelled: str) -> dict:
    from edge.quantize import check

    scored = check(_STATE["pipeline"], Path(labelled))
    return {"set": labelled, "plates": scored.plates, **scored.to_dict(), "grammar_invalid": scored.grammar_invalid}


def _phase(name: str, *args) -> dict:
    return {"still": _still_block, "lane": _lane, "accuracy": _accuracy}[name](*args)


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime

    return {"cpu": cpu, "cores": os.cpu_count(), "onnxruntime": onnxruntime.__version__,
            "date": time.strftime("%Y-%m-%d")}


def bench(precisions: tuple[str, ...], clip: Path, still_frame: Path, labelled: Path | None, repeats: int = 30,
          models_dir: str | None = None, threads: int | None = None, progress=None) -> dict:
    """One section per precision (see the module's docstring), and the machine it ran on."""
    out: dict = {"machine": machine(), "clip": str(clip), "still_frame": str(still_frame)}
    children = {p: ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_setup,
                                       initargs=(p, models_dir, threads)) for p in precisions}
    try:
        rounds = max(1, min(ROUNDS, repeats))
        blocks: dict[str, list[dict]] = {p: [] for p in precisions}
        for r in range(rounds):  # the precisions take turns, each first in every other round
            for p in precisions if r % 2 == 0 else precisions[::-1]:
                size = repeats // rounds + (r < repeats % rounds)  # the same blocks for each precision
                blocks[p].append(children[p].submit(_phase, "still", str(still_frame), size, r == 0).result())
        for p in precisions:
            out[p] = {"still": _still_summary(blocks[p])}
            if progress:
                progress(f"{p} still")
        for p in precisions:
            jobs = {"lane": (str(clip),), "accuracy": (str(labelled),) if labelled else None}
            for phase, args in jobs.items():
                if args is not None:
                    out[p][phase] = children[p].submit(_phase, phase, *args).result()
                if progress:
                    progress(f"{p} {phase}")
            out[p]["peak_memory_mib"] = children[p].submit(_peak_mib).result()
            out[p]["full_pipeline_fps"] = out[p]["still"]["full_pipeline_fps"]
            out[p]["lane_fps"] = out[p]["lane"]["lane_fps"]
    finally:
        for child in children.values():
            child.shutdown()
    if "fp32" in out and "int8" in out:
        out["int8_speedup"] = {k: round(out["int8"][k] / out["fp32"][k], 2) for k in ("full_pipeline_fps", "lane_fps")}
        out["int8_speedup"]["full_pipeline_by_round"] = [
            round((i["frames"] / i["wall_s"]) / (f["frames"] / f["wall_s"]), 2)
            for f, i in zip(blocks["fp32"], blocks["int8"])]
    return out


def table(result: dict) -> str:
    """The figures side by side, as the README shows them."""
    precisions = [p for p in ("fp32", "int8") if p in result]
    m = result["machine"]
    lines = [f"{m['date']}, {m['cpu']}, {m['cores']} cores, ONNX Runtime {m['onnxruntime']}", "",
             "| | " + " | ".join(p.upper() for p in precisions) + " |", "|---|" + "---|" * len(precisions)]

    def row(label, get):
        values = []
        for p in precisions:
            try:
                v = get(result[p])
            except (KeyError, TypeError):
                v = None
            values.append("–" if v is None else str(v))
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("full pipeline, frames/s", lambda s: s["full_pipeline_fps"])
    row("lane loop 1280x720, frames/s", lambda s: s["lane_fps"])
    row("lane loop, frames with a model run/s", lambda s: s["lane"]["lane_analysed_fps"])
    for stage in ("detect", "find", "refine", "read", "total"):
        row(f"{stage}, median / p95 ms", lambda s, k=stage: "{} / {}".format(
            s["still"]["stages"][k]["median_ms"], s["still"]["stages"][k]["p95_ms"]))
    names = list(result[precisions[0]]["still"]["models"])
    for name in names:
        row(f"{name}, ms per frame (runs)", lambda s, k=name: "{} ({})".format(
            s["still"]["models"][k]["ms_per_frame"], s["still"]["models"][k]["runs_per_frame"]))
    row("share of a frame's time in the models", lambda s: s["still"]["models_share"])
    row("peak memory, MiB", lambda s: s["peak_memory_mib"])
    row("exact match (labelled set)", lambda s: s["accuracy"]["exact_match"])
    row("plate recall (labelled set)", lambda s: s["accuracy"]["recall"])
    if "int8_speedup" in result:
        sp = result["int8_speedup"]
        lines += ["", f"INT8 / FP32: full pipeline {sp['full_pipeline_fps']}x, lane loop {sp['lane_fps']}x"]
    return "\n".join(lines)


def dumps(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False)
