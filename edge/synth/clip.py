"""A lane clip: vehicles arriving at a gate one after another, as a fixed camera sees them.

``write_clip(out, count, seed)`` writes ``clip.mp4`` (1280x720, 30 fps, or another ``ClipFormat``:
a 4-megapixel IP camera's 2688x1520 at 20 fps, say) and ``vehicles.jsonl``:
one line per vehicle with its plate, the frames its plate is wholly in view, the first frame it
is readable (at least ``READABLE_WIDTH`` px wide and wholly in view), its direction and whether
it stopped; and ``allowlist.csv``, every other vehicle's plate, for trying a gate
(``anpr allow import``). One real road frame from ../shared (when present) is the lane for the whole clip,
as a fixed camera's; each vehicle drives its own path in its own light (day, dusk or night).

A vehicle is a rendered plate on a drawn car front, both in the plate's plane (edge/synth/scene.py);
each frame places that plane at the vehicle's distance, so the plate grows as it approaches.
Approaching vehicles show their front plate and either drive through or stop at the barrier,
wait and drive on; leaving vehicles show their rear plate and shrink into the distance.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.plates import PlateText
from edge.synth import degrade
from edge.synth.backgrounds import Backgrounds
from edge.synth.plate import render_plate
from edge.synth.scene import _canvas_to_plane, _car_front, _procedural_background, _project, _warp_onto, plane_homography
from edge.synth.texts import random_plate_text

READABLE_WIDTH = 70  # px: from here a person reads every field of a plate, whatever the frame's size
FAR_WIDTH = 34  # px at 1280 wide: a plate's width where it enters (or leaves) the lane's far end
NOISE_TILES = 8  # sensor noise is drawn once per clip and cycled: drawing it per frame is the slow part


class ClipError(ValueError):
    """The clip cannot be written (bad count, size or rate, unwritable folder, no video encoder)."""


@dataclass(frozen=True)
class ClipFormat:
    """The camera's picture size and frame rate. The lane and lens are the same at every size, so
    a plate's width in pixels at a given distance grows with the picture's width (``scale``)."""

    width: int = 1280
    height: int = 720
    fps: int = 30

    def __post_init__(self) -> None:
        if not (320 <= self.width <= 3840 and 240 <= self.height <= 2160):
            raise ClipError(f"--size {self.width}x{self.height}: expected 320x240 to 3840x2160")
        if self.width % 2 or self.height % 2:
            raise ClipError(f"--size {self.width}x{self.height}: the video encoder needs even sides")
        if not 5 <= self.fps <= 60:
            raise ClipError(f"--fps {self.fps}: expected 5 to 60 frames per second")

    @classmethod
    def parse(cls, size: str, fps: int = 30) -> ClipFormat:
        """``size`` as ``WIDTHxHEIGHT`` (``2688x1520``)."""
        try:
            width, height = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise ClipError(f"--size {size!r}: expected WIDTHxHEIGHT, such as 2688x1520") from None
        return cls(width, height, fps)

    @property
    def scale(self) -> float:
        """Plate widths here over the same plate's at 1280 px wide."""
        return self.width / 1280


@dataclass(frozen=True)
class Vehicle:
    """One vehicle's pass: its plate, path and light, and what the truth file says of it."""

    index: int
    plate: PlateText
    direction: str  # approaching | leaving
    behaviour: str  # drives through | stops
    light: str  # day | dusk | night
    widths: np.ndarray  # plate width in px, one per frame of its pass
    centres: np.ndarray  # plate centre in px, one per frame (N x 2)
    yaw: float
    start: int = 0  # the clip frame its pass begins


def _path(rng: np.random.Generator, direction: str, behaviour: str, wait_seconds: float | None = None,
          fmt: ClipFormat = ClipFormat()) -> tuple[np.ndarray, np.ndarray]:
    """Plate width and centre per frame. Width is focal / distance; the distance falls (or rises)
    at the vehicle's speed, easing into a stop and out of it for a vehicle that waits."""
    fps, far = fmt.fps, FAR_WIDTH * fmt.scale
    near = rng.uniform(190, 260) * fmt.scale  # width at the barrier, where a car stops
    d_far, d_near, d_exit = 1 / far, 1 / near, 1 / (420 * fmt.scale)  # distances in units of focal/px
    speed = (d_far - d_near) / (rng.uniform(2.2, 3.4) * fps)  # per frame, far end to barrier
    if behaviour == "stops":
        approach = d_near + (d_far - d_near) * (1 - np.sin(np.linspace(0, np.pi / 2, int((d_far - d_near) / speed * 1.4))))
        waited = rng.uniform(1.2, 3.5)
        wait = np.full(int((wait_seconds if wait_seconds is not None else waited) * fps), d_near)
        leave = d_near - (d_near - d_exit) * (1 - np.cos(np.linspace(0, np.pi / 2, int(1.6 * fps)))) ** 0.7
        distance = np.concatenate([approach, wait, leave])
    else:
        distance = np.arange(d_far, d_exit, -speed)
    if direction == "leaving":  # the same road the other way: close and big first, then away
        distance = np.arange(1 / (300 * fmt.scale), d_far * 1.1, speed)
    widths = 1 / distance
    # far plates sit near the vanishing point, close ones low in the frame and to one side
    t = (widths - far) / (near - far)
    x0, x1 = rng.uniform(0.42, 0.58) * fmt.width, rng.uniform(0.35, 0.65) * fmt.width
    y0, y1 = rng.uniform(0.38, 0.48) * fmt.height, rng.uniform(0.72, 0.82) * fmt.height
    centres = np.stack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t], axis=1)
    if behaviour == "stops":  # an engine idling: the picture shakes by a fraction of a pixel
        centres = centres + rng.choice([-0.3, 0.0, 0.3], centres.shape)
    return widths.astype(np.float64), centres


def plan(count: int, seed: int, wait_seconds: float | None = None, fmt: ClipFormat = ClipFormat()) -> list[Vehicle]:
    """The vehicles of clip ``seed``, one after another with a gap of empty lane between them.
    ``wait_seconds``: every vehicle approaches, stops and waits that long at the barrier."""
    vehicles, start = [], int(0.8 * fmt.fps)
    for i in range(count):
        rng = np.random.default_rng([seed, i, 11])
        direction = "leaving" if rng.random() < 0.2 else "approaching"
        behaviour = "stops" if direction == "approaching" and rng.random() < 0.5 else "drives through"
        if wait_seconds is not None:
            direction, behaviour = "approaching", "stops"
        light = str(rng.choice(["day", "dusk", "night"], p=[0.6, 0.15, 0.25]))
        widths, centres = _path(rng, direction, behaviour, wait_seconds, fmt)
        plate = random_plate_text(rng, design_rate=0.05)
        vehicles.append(Vehicle(i, plate, direction, behaviour, light, widths, centres,
                                float(rng.normal(0, 8)), start))
        start += len(widths) + int(rng.uniform(0.6, 1.5) * fmt.fps)
    return vehicles


def _lane(backgrounds: Backgrounds | None, seed: int, fmt: ClipFormat = ClipFormat()) -> np.ndarray:
    """The lane the camera watches: a real road frame cropped to the format's shape and scaled,
    else a drawn one."""
    rng = np.random.default_rng([seed, 12])
    if backgrounds is None or not len(backgrounds):
        return _procedural_background(fmt.width, fmt.height, rng)
    image = backgrounds.frame(int(rng.integers(len(backgrounds)))).image
    h, w = image.shape[:2]
    aspect = fmt.width / fmt.height
    ch, cw = (h, int(h * aspect)) if w / h > aspect else (int(w / aspect), w)
    y, x = (h - ch) // 2, (w - cw) // 2
    resample = cv2.INTER_AREA if cw >= fmt.width else cv2.INTER_CUBIC  # a 4 MP lane from a smaller road frame
    return cv2.resize(image[y:y + ch, x:x + cw], (fmt.width, fmt.height), interpolation=resample).astype(np.float32)


class _Drawn:
    """A vehicle's plate and car front, drawn once at the size of its closest frame."""

    def __init__(self, vehicle: Vehicle, seed: int, fmt: ClipFormat = ClipFormat()):
        rng = np.random.default_rng([seed, vehicle.index, 13])
        bigger = max(1.0, fmt.scale)  # a sharper sensor: the plate and car drawn finer, never coarser
        biggest = float(np.clip(vehicle.widths.max(), 40, 420 * bigger))
        self.plate = render_plate(vehicle.plate, rng, px_per_mm=float(np.clip(1.5 * biggest / 330, 0.35, 2.5 * bigger)))
        self.w_mm, self.h_mm = self.plate.style.size.mm
        self.car_scale = float(np.clip(1.3 * biggest / 330, 0.05, 0.9 * bigger))
        self.car, self.car_alpha, self.origin, self.lamps, self.lamp_h = _car_front(self.w_mm, self.h_mm, rng,
                                                                                    self.car_scale)
        self.focal = fmt.width * 1.2
        self.light_seed = [seed, vehicle.index, 14]
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # a waiting vehicle's few poses

    def draw(self, lane: np.ndarray, width: float, centre, yaw: float, light: str) -> tuple[np.ndarray, np.ndarray]:
        """The lane with the vehicle drawn on it in ``light``, and the plate corners."""
        key = (round(width, 2), round(float(centre[0]), 2), round(float(centre[1]), 2))
        if key not in self._cache:
            if len(self._cache) >= 9:  # a waiting vehicle shakes between 9 poses; more is a moving one
                self._cache.clear()
            canvas = lane.copy()
            self._cache[key] = (canvas, self._draw(canvas, width, centre, yaw, light))
        return self._cache[key]

    def _draw(self, canvas: np.ndarray, width: float, centre, yaw: float, light: str) -> np.ndarray:
        to_img = plane_homography(self.w_mm, self.h_mm, yaw, 4.0, 0.0, self.focal, width, tuple(centre))
        _warp_onto(canvas, None, self.car, self.car_alpha, None, to_img @ _canvas_to_plane(self.car_scale, self.origin))
        p = self.plate
        labels = np.zeros(canvas.shape[:2], np.uint8)
        plate_to_img = to_img @ _canvas_to_plane(p.px_per_mm, (-p.corners[0][0] / p.px_per_mm,
                                                              -p.corners[0][1] / p.px_per_mm))
        _warp_onto(canvas, labels, p.image.astype(np.float32), p.alpha, p.labels, plate_to_img)
        if light != "day":  # the same light in every frame of this vehicle: its own seeded stream
            rng = np.random.default_rng(self.light_seed)
            canvas[:] = degrade.lighting(canvas, light, rng, labels > 0)
            lamps = [tuple(q) for q in _project(to_img, np.float64(self.lamps))]
            canvas[:] = degrade.headlights(canvas, lamps, max(3.0, float(self.lamp_h * width / 330)), rng)
        return _project(to_img, np.float64([[0, 0], [self.w_mm, 0], [self.w_mm, self.h_mm], [0, self.h_mm]]))


def truth(vehicle: Vehicle, corners: list[np.ndarray], fmt: ClipFormat = ClipFormat()) -> dict:
    """The truth line of a vehicle, from its plate corners in each frame of its pass."""
    inside = [bool(c[:, 0].min() >= 0 and c[:, 1].min() >= 0 and c[:, 0].max() < fmt.width
                   and c[:, 1].max() < fmt.height) for c in corners]
    seen = [i for i, ok in enumerate(inside) if ok]
    readable = [i for i in seen if vehicle.widths[i] >= READABLE_WIDTH]
    p = vehicle.plate
    return {
        "vehicle": vehicle.index, "text": p.format(), "region": p.region, "class_number": p.class_number,
        "kana": p.kana, "serial": p.serial, "number": p.number, "color": p.color.value if p.color else None,
        "direction": vehicle.direction, "behaviour": vehicle.behaviour, "light": vehicle.light,
        "first_frame": vehicle.start + seen[0] if seen else None,
        "last_frame": vehicle.start + seen[-1] if seen else None,
        "first_readable_frame": vehicle.start + readable[0] if readable else None,
        "max_plate_width_px": round(float(vehicle.widths[seen].max()), 1) if seen else None,
    }


def write_clip(out: str | Path, count: int, seed: int, backgrounds: Backgrounds | None = None,
               progress=None, wait_seconds: float | None = None, fmt: ClipFormat = ClipFormat()) -> dict:
    """Write ``out/clip.mp4`` and ``out/vehicles.jsonl``; returns the clip's summary (also
    ``out/clip.json``). ``wait_seconds``: every vehicle stops and waits that long; ``fmt``: the
    picture's size and rate."""
    if not isinstance(count, int) or count < 1:
        raise ClipError(f"--count {count}: a clip needs at least one vehicle")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClipError(f"cannot make {out}: {exc.strerror or exc}") from exc
    if wait_seconds is not None and not 0 <= wait_seconds <= 3600:
        raise ClipError(f"--wait {wait_seconds}: expected 0 to 3600 seconds")
    vehicles = plan(count, seed, wait_seconds, fmt)
    lane = _lane(backgrounds, seed, fmt)
    noise_rng = np.random.default_rng([seed, 15])
    noise = [noise_rng.normal(0, 2.5, lane.shape).astype(np.float32) for _ in range(NOISE_TILES)]
    total = vehicles[-1].start + len(vehicles[-1].widths) + int(0.8 * fmt.fps)
    video = out / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), fmt.fps, (fmt.width, fmt.height))
    if not writer.isOpened():
        raise ClipError(f"cannot write {video}: OpenCV has no MPEG-4 encoder here")
    lines, current, drawn, corners = [], 0, None, []
    try:
        for index in range(total):
            canvas = lane
            v = vehicles[current] if current < len(vehicles) else None
            if v is not None and v.start <= index < v.start + len(v.widths):
                drawn = drawn or _Drawn(v, seed, fmt)
                k = index - v.start
                canvas, quad = drawn.draw(lane, float(v.widths[k]), v.centres[k], v.yaw, v.light)
                corners.append(quad)
                if k == len(v.widths) - 1:
                    lines.append(truth(v, corners, fmt))
                    current, drawn, corners = current + 1, None, []
            frame = np.clip(canvas + noise[index % NOISE_TILES], 0, 255).astype(np.uint8)
            writer.write(frame)
            if progress:
                progress(index + 1, total)
    finally:
        writer.release()
    with (out / "vehicles.jsonl").open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    with (out / "allowlist.csv").open("w", encoding="utf-8", newline="") as f:  # every other vehicle, for a gate
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["plate", "color", "label"])
        for line in lines[::2]:
            writer.writerow([line["text"], line["color"], f"vehicle {line['vehicle']}"])
    summary = {"video": "clip.mp4", "width": fmt.width, "height": fmt.height, "fps": fmt.fps, "frames": total,
               "vehicles": len(lines), "seed": seed, "readable_width_px": READABLE_WIDTH, "wait_seconds": wait_seconds}
    (out / "clip.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
