"""Compose a sample: a rendered plate seen by a camera, in a scene, with exact labels.

Two kinds: ``scenes`` (whole camera frames: real road frames, procedural cars, close gate views)
and ``plates`` (crops a little larger than the plate, for the field readers). A sample is a
pure function of (seed, index, kind, backgrounds): the same call gives the same pixels.

Geometry: the plate lies in a plane; a pose (yaw, pitch, roll, distance) and a pinhole camera
give the homography from that plane (in mm, origin at the plate's top-left corner) to the
image. The procedural car front is drawn in the same plane, so car and plate share perspective.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from edge.plates import PlateText
from edge.synth import degrade
from edge.synth.backgrounds import Backgrounds
from edge.synth.distractors import random_distractor
from edge.synth.layout import PlateSize
from edge.synth.plate import (SPECIAL_KINDS, RenderedPlate, field_boxes, mask_box, random_style, render_plate,
                               repaint_special)
from edge.synth.texts import random_plate_text, with_digits

KINDS = ("plates", "scenes")
_CAR_COLOURS = ((240, 240, 240), (20, 20, 22), (170, 170, 175), (30, 30, 160), (140, 60, 20), (60, 60, 60),
                (200, 200, 205), (40, 90, 30), (120, 160, 190), (220, 225, 230))


@dataclass
class Sample:
    """One synthetic image with everything needed to train and to check it."""

    image: np.ndarray  # HxWx3 uint8 BGR
    labels: np.ndarray  # HxW uint8: 0 background, 1 plate, 2 region, 3 class number, 4 kana, 5 serial
    plate: PlateText
    corners: np.ndarray  # 4x2 float: plate corners TL, TR, BR, BL in image pixels
    field_boxes: dict[str, list[int] | None]  # visible ink of each field, [x1, y1, x2, y2]
    vehicle_box: list[int] | None
    conditions: dict = field(default_factory=dict)
    index: int = 0
    seed: int = 0
    kind: str = "scenes"

    @property
    def plate_box(self) -> list[float]:
        xs, ys = self.corners[:, 0], self.corners[:, 1]
        return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]

    def record(self) -> dict:
        """The JSON-ready label record written beside the image."""
        h, w = self.image.shape[:2]
        x1, y1, x2, y2 = self.plate_box
        return {
            "index": self.index, "seed": self.seed, "kind": self.kind, "width": w, "height": h,
            "plate": {
                "text": self.plate.format(), "region": self.plate.region, "class_number": self.plate.class_number,
                "kana": self.plate.kana, "serial": self.plate.serial, "number": self.plate.number,
                "color": self.plate.color.value if self.plate.color else None,
                "size": self.conditions.get("plate_size"),
            },
            "corners": [[round(float(x), 2), round(float(y), 2)] for x, y in self.corners],
            "bbox": [round(v, 2) for v in (x1, y1, x2, y2)],
            "truncated": bool(x1 < 0 or y1 < 0 or x2 > w or y2 > h),
            "fields": self.field_boxes,
            "vehicle": self.vehicle_box,
            "conditions": self.conditions,
        }


def sample_rng(seed: int, index: int, kind: str) -> np.random.Generator:
    """The random stream of one sample: independent of every other index, so any sample can be
    remade alone and samples can be made in any order by any number of workers."""
    return np.random.default_rng([int(seed), int(index), KINDS.index(kind)])


def plane_homography(w_mm: float, h_mm: float, yaw: float, pitch: float, roll: float, focal: float,
                     width_px: float, centre: tuple[float, float]) -> np.ndarray:
    """3x3 map from the plate plane (mm, plate top-left origin) to image pixels.

    Angles in degrees; the distance is chosen so the plate's face-on width is ``width_px``.
    """
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    rot = rz @ rx @ ry
    distance = focal * w_mm / width_px
    t = rot @ np.array([-w_mm / 2, -h_mm / 2, 0.0]) + np.array([0, 0, distance])
    k = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]])
    return k @ np.column_stack([rot[:, 0], rot[:, 1], t])


def _canvas_to_plane(px_per_mm: float, origin_mm: tuple[float, float]) -> np.ndarray:
    """Canvas pixels → plane mm, for a canvas whose pixel (0, 0) sits at ``origin_mm``."""
    return np.array([[1 / px_per_mm, 0, origin_mm[0]], [0, 1 / px_per_mm, origin_mm[1]], [0, 0, 1]])


def _project(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def _warp_onto(image: np.ndarray, labels: np.ndarray | None, src: np.ndarray, alpha: np.ndarray,
               src_labels: np.ndarray | None, h: np.ndarray) -> list[int] | None:
    """Warp ``src`` (with coverage ``alpha``) by ``h`` onto ``image`` in place; the covered
    pixels' labels are replaced by ``src_labels``. Returns the box of the pixels it covered."""
    sh, sw = src.shape[:2]
    quad = _project(h, np.float64([[0, 0], [sw, 0], [sw, sh], [0, sh]]))
    H, W = image.shape[:2]
    x0, y0 = max(0, int(np.floor(quad[:, 0].min()))), max(0, int(np.floor(quad[:, 1].min())))
    x1, y1 = min(W, int(np.ceil(quad[:, 0].max()))), min(H, int(np.ceil(quad[:, 1].max())))
    if x1 <= x0 or y1 <= y0:
        return None
    shifted = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]) @ h
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(src, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    a = cv2.warpPerspective(alpha, shifted, size, flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    roi = image[y0:y1, x0:x1]
    roi[:] = roi * (1 - a) + warped.astype(np.float32) * a
    if labels is not None and src_labels is not None:
        lab = cv2.warpPerspective(src_labels, shifted, size, flags=cv2.INTER_NEAREST, borderValue=0)
        covered = a[..., 0] > 0.5
        labels[y0:y1, x0:x1][covered] = lab[covered]
    box = mask_box(a[..., 0] > 0.5)
    return None if box is None else [box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0]


def _car_front(plate_w: float, plate_h: float, rng: np.random.Generator, px_per_mm: float,
               body_color: tuple[int, int, int] | None = None):
    """A vehicle's front or rear drawn round the plate, in plate-plane mm; ``body_color`` (BGR)
    instead of a drawn one.

    Returns (image, alpha, origin_mm, headlight centres in mm, lamp radius mm)."""
    car_w = rng.uniform(1480, 1900)
    top, bottom = -rng.uniform(700, 1150), plate_h + rng.uniform(220, 420)
    left = plate_w / 2 - car_w / 2
    origin = (left - 40, top - 40)
    W, H = int((car_w + 80) * px_per_mm), int((bottom - top + 80) * px_per_mm)
    to_px = lambda x, y: (int(round((x - origin[0]) * px_per_mm)), int(round((y - origin[1]) * px_per_mm)))  # noqa: E731
    img = np.zeros((H, W, 3), np.uint8)
    alpha = np.zeros((H, W), np.uint8)
    body = tuple(int(np.clip(c + rng.normal(0, 12), 0, 255)) for c in _CAR_COLOURS[int(rng.integers(len(_CAR_COLOURS)))])
    body = body_color or body
    radius = int(180 * px_per_mm)
    cv2.rectangle(alpha, to_px(left, top + 150), to_px(left + car_w, bottom), 255, -1)
    cv2.rectangle(alpha, to_px(left + 120, top), to_px(left + car_w - 120, bottom), 255, -1)
    for cx in (left + 180, left + car_w - 180):
        cv2.circle(alpha, to_px(cx, top + 180), radius, 255, -1)
    # body colour with light from above: one shaded column, spread over the silhouette
    column = np.clip(np.float32(body) * np.linspace(1.15, 0.75, H, dtype=np.float32)[:, None], 0, 255)
    img = cv2.bitwise_and(np.ascontiguousarray(np.broadcast_to(column.astype(np.uint8)[:, None, :], (H, W, 3))),
                          cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR))
    glass_top, glass_bottom = top + 60, top + rng.uniform(380, 520)
    glass = np.array([to_px(left + 200, glass_bottom), to_px(left + 320, glass_top),
                      to_px(left + car_w - 320, glass_top), to_px(left + car_w - 200, glass_bottom)])
    cv2.fillPoly(img, [glass], tuple(int(v) for v in rng.integers(20, 70, 3)), cv2.LINE_AA)
    lamp_y = rng.uniform(-300, -120)
    lamp_w, lamp_h = rng.uniform(220, 360), rng.uniform(70, 150)
    lamps = []
    for cx in (left + 120 + lamp_w / 2 + rng.uniform(0, 60), left + car_w - 120 - lamp_w / 2 - rng.uniform(0, 60)):
        lamps.append((cx, lamp_y))
        colour = (200, 210, 215) if rng.random() < 0.6 else (40, 40, 200)
        cv2.ellipse(img, to_px(cx, lamp_y), (int(lamp_w / 2 * px_per_mm), int(lamp_h / 2 * px_per_mm)), 0, 0, 360,
                    colour, -1, cv2.LINE_AA)
    grille_w = rng.uniform(300, 800)
    cv2.rectangle(img, to_px(plate_w / 2 - grille_w / 2, lamp_y - lamp_h / 2),
                  to_px(plate_w / 2 + grille_w / 2, -rng.uniform(20, 80)), tuple(int(v) for v in rng.integers(10, 60, 3)), -1)
    bumper = tuple(int(c * 0.8) for c in body)
    cv2.rectangle(img, to_px(left, plate_h + 60), to_px(left + car_w, plate_h + 200), bumper, -1)
    for cx in (left + 110, left + car_w - 110):
        cv2.rectangle(img, to_px(cx - 100, bottom - 240), to_px(cx + 100, bottom), (15, 15, 15), -1)
    return img, (alpha.astype(np.float32) / 255.0), origin, lamps, lamp_h


def _large_rear(plate_w: float, plate_h: float, rng: np.random.Generator, px_per_mm: float,
                body_color: tuple[int, int, int] | None = None):
    """The flat rear of a bus or truck round a plate mounted low, in plate-plane mm: a tall box
    body, a bumper bar, lamp clusters at the lower corners, door seams. Same returns as _car_front."""
    width = rng.uniform(2200, 2500)
    top, bottom = -rng.uniform(2000, 2600), plate_h + rng.uniform(250, 450)
    left = plate_w / 2 - width / 2 + rng.uniform(-500, 500)  # plates sit off-centre on many trucks
    origin = (left - 40, top - 40)
    W, H = int((width + 80) * px_per_mm), int((bottom - top + 80) * px_per_mm)
    to_px = lambda x, y: (int(round((x - origin[0]) * px_per_mm)), int(round((y - origin[1]) * px_per_mm)))  # noqa: E731
    body = body_color or tuple(int(v) for v in rng.integers(60, 240, 3))
    img = np.zeros((H, W, 3), np.uint8)
    alpha = np.zeros((H, W), np.uint8)
    cv2.rectangle(alpha, to_px(left, top), to_px(left + width, bottom), 255, -1)
    cv2.rectangle(img, to_px(left, top), to_px(left + width, bottom), body, -1)
    seam = tuple(int(c * 0.6) for c in body)
    for x in (left + width / 2, left + 60, left + width - 60):
        cv2.line(img, to_px(x, top + 80), to_px(x, -150), seam, max(1, int(12 * px_per_mm)))
    cv2.rectangle(img, to_px(left, plate_h + 80), to_px(left + width, plate_h + 220), (25, 25, 25), -1)
    lamps = []
    for cx in (left + 180, left + width - 180):
        lamps.append((cx, -60.0))
        cv2.rectangle(img, to_px(cx - 120, -140), to_px(cx + 120, 20), (40, 40, 200), -1)
    return img, alpha.astype(np.float32) / 255.0, origin, lamps, 160.0


def _procedural_background(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Road, kerb and building shapes with a sky gradient: enough clutter to learn to ignore."""
    img = np.empty((h, w, 3), np.uint8)  # OpenCV 5 draws text on 8-bit images only
    horizon = int(h * rng.uniform(0.25, 0.55))
    sky = rng.uniform(120, 230, 3)
    img[:horizon] = sky * np.linspace(1.0, 0.8, horizon, dtype=np.float32)[:, None, None]
    img[horizon:] = int(rng.uniform(50, 130))
    for _ in range(int(rng.integers(3, 12))):
        x, y = rng.uniform(0, w), rng.uniform(0, horizon + 20)
        bw, bh = rng.uniform(0.05, 0.3) * w, rng.uniform(0.05, 0.4) * h
        cv2.rectangle(img, (int(x), int(y)), (int(x + bw), int(y + bh)), tuple(float(v) for v in rng.uniform(30, 220, 3)), -1)
    for _ in range(int(rng.integers(0, 4))):
        x = rng.uniform(0, w)
        cv2.line(img, (int(x), h), (int(w / 2 + rng.normal(0, w / 8)), horizon), (220.0, 220.0, 220.0),
                 int(rng.integers(2, 10)), cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 6))):  # text-like clutter: signs and stickers
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        cv2.putText(img, "".join(rng.choice(list("0123456789ABCDEFP-"), int(rng.integers(2, 7)))), (x, y),
                    cv2.FONT_HERSHEY_SIMPLEX, rng.uniform(0.5, 2.5), tuple(float(v) for v in rng.uniform(0, 255, 3)),
                    int(rng.integers(1, 5)), cv2.LINE_AA)
    texture = cv2.resize(rng.normal(0, 12, (h // 8 + 1, w // 8 + 1)).astype(np.float32), (w, h))
    return img.astype(np.float32) + texture[..., None]


def _crop_round_plate(canvas, labels, corners, vehicle_box, lamps, rng):
    """A window round the plate: 1.3-1.9 times its width, 1.6-2.8 times its height, off-centre a bit."""
    H, W = canvas.shape[:2]
    x1, y1 = corners.min(axis=0)
    x2, y2 = corners.max(axis=0)
    cw, ch = (x2 - x1) * rng.uniform(1.3, 1.9), (y2 - y1) * rng.uniform(1.6, 2.8)
    cx = (x1 + x2) / 2 + rng.normal(0, 0.04) * cw
    cy = (y1 + y2) / 2 + rng.normal(0, 0.04) * ch
    X1, Y1 = int(np.clip(cx - cw / 2, 0, W - 2)), int(np.clip(cy - ch / 2, 0, H - 2))
    X2, Y2 = int(np.clip(cx + cw / 2, X1 + 2, W)), int(np.clip(cy + ch / 2, Y1 + 2, H))
    shift = np.float64([X1, Y1])
    if vehicle_box is not None:
        vx1, vy1, vx2, vy2 = vehicle_box
        vehicle_box = [max(vx1, X1) - X1, max(vy1, Y1) - Y1, min(vx2, X2) - X1, min(vy2, Y2) - Y1]
    return (canvas[Y1:Y2, X1:X2].copy(), labels[Y1:Y2, X1:X2].copy(), corners - shift, vehicle_box,
            [(x - X1, y - Y1) for x, y in lamps])


def _draw_distractors(canvas: np.ndarray, corners: np.ndarray, plate_width: float, seed: int, index: int) -> int:
    """Draw 0-5 distractors away from the plate; their own random stream keeps the rest of the sample as it was."""
    rng = np.random.default_rng([seed, index, 7])
    count = int(rng.choice([0, 1, 2, 3, 5], p=[0.35, 0.2, 0.2, 0.15, 0.1]))
    (x1, y1), (x2, y2) = corners.min(axis=0), corners.max(axis=0)
    gx, gy = (x2 - x1) / 3, (y2 - y1) / 3
    keep_out = (x1 - gx, y1 - gy, x2 + gx, y2 + gy)
    drawn = 0
    for _ in range(count * 4):
        if drawn == count:
            break
        found = random_distractor(rng, plate_width, (canvas.shape[1], canvas.shape[0]), keep_out)
        if found is not None:
            art, alpha, h = found
            _warp_onto(canvas, None, art, alpha, None, h)
            drawn += 1
    return drawn


LIGHTING = ("day", "dusk", "night", "infrared")
SUNLIT = ("day", "as photographed")  # the light a shadow can be cast in (a real frame keeps its own)


@dataclass(frozen=True)
class Overrides:
    """What a stress suite fixes about a scene instead of drawing it (edge/synth/stress.py).
    The random stream is drawn as without them, so everything else stays as it was."""

    yaw: float | None = None  # degrees
    pitch: float | None = None  # degrees; positive: the camera above the plate, looking down
    frame_size: tuple[int, int] | None = None  # (width, height) of the procedural frame
    body: str | None = None  # "same": the vehicle's body in the plate's own background colour
    vehicle: str | None = None  # "large rear": a bus or truck rear with a large plate
    glare: bool | None = None
    dirt: float | None = None  # 0..1 on the plate
    focal: float | None = None  # the lens's focal length in frame widths (a wide lens close up: 0.5)
    motion_blur: float | None = None  # px: the vehicle's motion while the shutter is open
    jpeg_quality: int | None = None  # the encoder's quality (a low-bitrate stream: 15)
    processed: bool = False  # the camera denoises and sharpens before it encodes (degrade.camera_processing)
    wdr: bool = False  # the camera's wide dynamic range maps tones locally (degrade.wide_dynamic_range)
    shadow: bool = False  # a hard shadow cast across the plate where the sun lights it (degrade.cast_shadow):
    # drawn scenes lit by day and real frames as photographed, not dusk, night or infrared
    digits: str | None = None  # every class-number and serial digit drawn from these where the grammar lets it
    # (texts.with_digits, from its own stream)
    font_digits: bool = False  # the plate lettered in its own face's digits (the drawn 1 stays); placed and posed
    # as without it, but its face's digits take draws, so the light after them differs

    @property
    def forces_vehicle(self) -> bool:
        return self.body is not None or self.vehicle is not None or self.frame_size is not None


def make_sample(seed: int, index: int, kind: str = "scenes", backgrounds: Backgrounds | None = None,
                plate: PlateText | None = None, width_px: float | None = None,
                lighting: str | None = None, overrides: Overrides | None = None) -> Sample:
    """Sample ``index`` of the stream ``seed``.

    ``plate`` fixes the text, ``width_px`` the plate's face-on width in pixels and ``lighting``
    the light (one of LIGHTING; real frames keep their own unless it is infrared) instead of
    drawing them; ``overrides`` fixes more (a drawn car or truck in a procedural frame); the
    rest stays random.
    """
    o = overrides or Overrides()
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if lighting is not None and lighting not in LIGHTING:
        raise ValueError(f"lighting {lighting!r} is not one of {', '.join(LIGHTING)}")
    if width_px is not None and not 8 <= width_px <= 2000:
        raise ValueError(f"width_px {width_px} is outside 8-2000")
    rng = sample_rng(seed, index, kind)
    plate = plate or random_plate_text(rng)
    if o.digits:  # its own stream: the rest of the scene is drawn as without it
        plate = with_digits(plate, o.digits, np.random.default_rng([seed, index, 14]))
    conditions: dict = {}

    if kind == "scenes":
        source = rng.choice(["real", "car", "gate"], p=[0.45, 0.4, 0.15] if backgrounds else [0, 0.75, 0.25])
        if o.forces_vehicle:
            source = "car"
    else:
        source = rng.choice(["real", "car"], p=[0.3, 0.7] if backgrounds else [0, 1])
    conditions["source"] = str(source)

    # Where the plate goes and how big it is.
    if source == "real":
        frame_index = int(rng.integers(len(backgrounds)))
        n_boxes = len(backgrounds.boxes[backgrounds.files[frame_index]])
        target = int(rng.integers(n_boxes))
        others = [i for i in range(n_boxes) if i != target]
        keep = others[int(rng.integers(len(others)))] if others and rng.random() < 0.3 else None
        frame = backgrounds.frame(frame_index, keep=keep)
        box = frame.boxes[target]
        canvas = frame.image.astype(np.float32)
        # a European plate is 520 mm wide, ours 330: keep the same scale, with some spread
        plate_width = width_px or (box[2] - box[0]) * 330 / 520 * rng.uniform(0.9, 1.5)
        centre = ((box[0] + box[2]) / 2 + rng.normal(0, 5), (box[1] + box[3]) / 2 + rng.normal(0, 3))
        conditions["background"] = "real" if keep is None else "real, one European plate kept"
    elif kind == "scenes":
        w, h = [(1280, 720), (960, 540), (640, 480), (1024, 768)][int(rng.integers(4))]
        w, h = o.frame_size or (w, h)
        canvas = _procedural_background(w, h, rng)
        low, high = (150, 400) if source == "gate" else (40, 300)
        plate_width = width_px or float(np.exp(rng.uniform(np.log(low), np.log(high))))
        centre = (rng.uniform(0.2, 0.8) * w, rng.uniform(0.35, 0.9) * h)
        conditions["background"] = "procedural"
    else:
        plate_width = width_px or float(rng.uniform(64, 256))
        w, h = int(plate_width * rng.uniform(1.3, 1.9)), int(plate_width / 2 * rng.uniform(1.6, 2.8))
        canvas = _procedural_background(w, h, rng)
        centre = (w / 2 + rng.normal(0, w * 0.04), h / 2 + rng.normal(0, h * 0.04))
        conditions["background"] = "procedural"

    if kind == "scenes":
        yaw = float(rng.normal(0, 18) if rng.random() < 0.8 else rng.uniform(-45, 45))
        pitch, roll = float(rng.uniform(-25, 25)), float(rng.normal(0, 4))
    else:
        yaw, pitch, roll = float(rng.normal(0, 14)), float(rng.uniform(-15, 15)), float(rng.normal(0, 3))
    yaw = float(np.clip(yaw, -45, 45)) if o.yaw is None else float(o.yaw)
    pitch = pitch if o.pitch is None else float(o.pitch)
    H_img, W_img = canvas.shape[:2]
    focal = W_img * rng.uniform(0.8, 1.6)
    focal = focal if o.focal is None else W_img * o.focal

    px_per_mm = float(np.clip(1.5 * plate_width / 330, 0.35, 2.5))
    if o.vehicle == "large rear" or o.dirt is not None or o.font_digits:
        style = random_style(plate, rng, PlateSize.LARGE if o.vehicle == "large rear" else None)
        style = replace(style, dirt=o.dirt if o.dirt is not None else style.dirt,
                        font_digits=style.font_digits or o.font_digits)
        rendered: RenderedPlate = render_plate(plate, rng, px_per_mm, style)
    else:
        rendered = render_plate(plate, rng, px_per_mm=px_per_mm)
    special_rng = np.random.default_rng([seed, index, 8])  # its own stream: other samples stay as they were
    if kind == "scenes" and special_rng.random() < 0.06:
        conditions["special"] = str(special_rng.choice(SPECIAL_KINDS))
        rendered = repaint_special(rendered, conditions["special"], special_rng)
    w_mm, h_mm = rendered.style.size.mm
    plane_to_img = plane_homography(w_mm, h_mm, yaw, pitch, roll, focal, plate_width, centre)
    conditions.update(plate_size=rendered.style.size.value, yaw=round(yaw, 1), pitch=round(pitch, 1),
                      roll=round(roll, 1), plate_width_px=round(plate_width, 1), focal=round(focal / W_img, 2))

    labels = np.zeros((H_img, W_img), np.uint8)
    vehicle_box = None
    lamps_img: list[tuple[float, float]] = []
    lamp_radius = 0.0
    if source in ("car", "gate"):
        car_px_per_mm = float(np.clip((1.3 if kind == "scenes" else 0.8) * plate_width / 330, 0.05, 0.9))
        body = rendered.style.background if o.body == "same" else None
        draw_vehicle = _large_rear if o.vehicle == "large rear" else _car_front
        car, car_alpha, origin, lamps, lamp_h = draw_vehicle(w_mm, h_mm, rng, car_px_per_mm, body)
        car_h = plane_to_img @ _canvas_to_plane(car_px_per_mm, origin)
        vehicle_box = _warp_onto(canvas, None, car, car_alpha, None, car_h)
        lamps_img = [tuple(p) for p in _project(plane_to_img, np.float64(lamps))]
        lamp_radius = float(lamp_h * plate_width / 330)

    corners = _project(plane_to_img, np.float64([[0, 0], [w_mm, 0], [w_mm, h_mm], [0, h_mm]]))
    if kind == "scenes":  # lettered signs, badges and grilles round (never on) the plate
        conditions["distractors"] = _draw_distractors(canvas, corners, plate_width, seed, index)

    if source == "real":  # match the plate to the frame's light around it
        x, y = int(np.clip(centre[0], 0, W_img - 1)), int(np.clip(centre[1], 0, H_img - 1))
        patch = canvas[max(0, y - 40): y + 40, max(0, x - 80): x + 80]
        gain = float(np.clip(patch.mean() / 140 + rng.uniform(0.0, 0.3), 0.3, 1.1))
        plate_image = rendered.image.astype(np.float32) * gain
        conditions["plate_gain"] = round(gain, 2)
    else:
        plate_image = rendered.image.astype(np.float32)
    plate_h = plane_to_img @ _canvas_to_plane(rendered.px_per_mm, (-rendered.corners[0][0] / rendered.px_per_mm,
                                                                   -rendered.corners[0][1] / rendered.px_per_mm))
    _warp_onto(canvas, labels, plate_image, rendered.alpha, rendered.labels, plate_h)

    if kind == "plates":  # keep a window a little larger than the plate; effects run on it alone
        canvas, labels, corners, vehicle_box, lamps_img = _crop_round_plate(
            canvas, labels, corners, vehicle_box, lamps_img, rng)

    # Light, weather and camera.
    if source != "real":
        light = lighting or str(rng.choice(LIGHTING, p=[0.55, 0.12, 0.18, 0.15]))
        canvas = degrade.lighting(canvas, light, rng, labels > 0)
        if light in ("night", "dusk") and lamps_img and rng.random() < 0.8:
            canvas = degrade.headlights(canvas, lamps_img, max(3.0, lamp_radius), rng)
    else:
        infrared = lighting == "infrared" or (lighting is None and rng.random() < 0.1)
        light = "infrared" if infrared else "as photographed"
        if infrared:
            canvas = degrade.lighting(canvas, "infrared", rng, labels > 0)
    conditions["lighting"] = light
    if o.shadow and light in SUNLIT:  # its own stream: the scene's draws stay as without it
        box = (*corners.min(axis=0), *corners.max(axis=0))
        canvas = degrade.random_shadow(canvas, box, plate_width, np.random.default_rng([seed, index, 9]))
        conditions["cast_shadow"] = True
    if (rng.random() < 0.12 or o.glare) and o.glare is not False:
        c = corners.mean(axis=0) + rng.normal(0, plate_width / 4, 2)
        canvas = degrade.glare(canvas, (float(c[0]), float(c[1])), plate_width * rng.uniform(0.2, 0.6), rng)
        conditions["glare"] = True
    if rng.random() < 0.08:
        canvas = degrade.rain(canvas, rng)
        conditions["rain"] = True
    if rng.random() < 0.25 or o.motion_blur:
        length = float(rng.uniform(2, max(3, plate_width / 15)))
        length = o.motion_blur or length
        canvas = degrade.motion_blur(canvas, length, float(rng.normal(0, 20)))
        conditions["motion_blur_px"] = round(length, 1)
    elif rng.random() < 0.15:
        radius = float(rng.uniform(1, max(1.5, plate_width / 60)))
        canvas = degrade.defocus(canvas, radius)
        conditions["defocus_px"] = round(radius, 1)
    sigma = float(rng.uniform(1, 6) * (2.5 if light in ("night", "dusk") else 1))
    canvas = degrade.sensor_noise(canvas, sigma, rng)
    conditions["noise_sigma"] = round(sigma, 1)
    if o.wdr:  # neither draws at random: the stream stays as without them
        canvas = degrade.wide_dynamic_range(canvas)
        conditions["wide_dynamic_range"] = True
    if o.processed:
        canvas = degrade.camera_processing(canvas)
        conditions["camera_processing"] = True
    if rng.random() < 0.7 or o.jpeg_quality:
        quality = int(rng.integers(25, 96))
        quality = o.jpeg_quality or quality
        canvas = degrade.jpeg(canvas, quality)
        conditions["jpeg_quality"] = quality

    return Sample(image=np.clip(canvas, 0, 255).astype(np.uint8), labels=labels, plate=plate,
                  corners=corners.astype(np.float32), field_boxes=field_boxes(labels), vehicle_box=vehicle_box,
                  conditions=conditions, index=index, seed=seed, kind=kind)
