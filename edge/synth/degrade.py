"""What a camera does to a scene: light, weather, blur, noise and compression.

Each function takes a BGR float32 image (0..255) and returns one; labels never change.
"""

from __future__ import annotations

import cv2
import numpy as np


def lighting(image: np.ndarray, condition: str, rng: np.random.Generator,
             plate_mask: np.ndarray | None = None) -> np.ndarray:
    """Day, dusk, night or infrared. At night the plate lamp keeps the plate readable; under
    infrared the retro-reflective plate glows against a dark scene."""
    if condition == "day":
        return image * rng.uniform(0.8, 1.2) + rng.uniform(-15, 15)
    lit = np.zeros(image.shape[:2], np.float32) if plate_mask is None else cv2.GaussianBlur(
        plate_mask.astype(np.float32), (0, 0), max(1.0, image.shape[1] / 200))
    if condition == "dusk":
        out = image * rng.uniform(0.35, 0.65) * np.float32([1.15, 1.0, 0.9])  # blue hour, BGR
        return out * (1 + 0.6 * lit[..., None])
    if condition == "night":
        scale = rng.uniform(0.08, 0.25)
        lamp = rng.uniform(0.35, 0.8)
        return image * (scale + lamp * lit)[..., None]
    if condition == "infrared":
        grey = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        grey = grey * rng.uniform(0.2, 0.5) + lit * rng.uniform(60, 140)
        return np.repeat(grey[..., None], 3, axis=2)
    raise ValueError(f"unknown lighting condition {condition!r}")


def headlights(image: np.ndarray, centres: list[tuple[float, float]], radius: float,
               rng: np.random.Generator) -> np.ndarray:
    """Bright blooming lamps (at night or dusk)."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    glow = np.zeros((h, w), np.float32)
    for cx, cy in centres:
        d2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / (radius ** 2)
        glow += np.exp(-d2) * rng.uniform(200, 400)
    return image + glow[..., None] * np.float32([0.9, 0.95, 1.0])


def glare(image: np.ndarray, centre: tuple[float, float], size: float, rng: np.random.Generator) -> np.ndarray:
    """A bright specular patch (sun or lamp on the plate's surface)."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    sx, sy = size * rng.uniform(0.5, 1.5), size * rng.uniform(0.2, 0.6)
    spot = np.exp(-(((xs - centre[0]) / sx) ** 2 + ((ys - centre[1]) / sy) ** 2))
    return image + spot[..., None] * rng.uniform(80, 220)


SHADOW_SHADE = (0.3, 0.5)  # the shade's light as a share of the sun's (random_shadow)
SHADOW_PENUMBRA = (0.01, 0.03)  # the soft edge's width as a share of the plate's (random_shadow)


def cast_shadow(image: np.ndarray, point: tuple[float, float], angle_deg: float, shade: float,
                penumbra: float) -> np.ndarray:
    """A hard shadow in sunlight (a bumper, a pole, a building, the car ahead): the side of the
    line through ``point`` at ``angle_deg`` that its normal points away from lit only by the sky,
    ``shade`` of the sun's light and bluer; the edge softened over ``penumbra`` px."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.radians(angle_deg)
    distance = (xs - point[0]) * -np.sin(a) + (ys - point[1]) * np.cos(a)  # signed, across the line
    sun = 1.0 / (1.0 + np.exp(np.clip(-distance * 4.0 / max(penumbra, 0.5), -30, 30)))  # 0 in the shadow, 1 in the sun
    sky = np.float32(1.0)
    if image.ndim == 3:
        sun, sky = sun[..., None], np.float32([1.15, 1.0, 0.85])  # BGR: the shade, lit by the sky, is bluer
    return image * (sun + (1 - sun) * shade * sky)


def random_shadow(image: np.ndarray, box: tuple[float, float, float, float], plate_width: float,
                  rng: np.random.Generator) -> np.ndarray:
    """``cast_shadow`` with its line through the middle half of ``box`` (x0, y0, x1, y1) at any
    angle, SHADOW_SHADE of the light, the edge SHADOW_PENUMBRA of ``plate_width`` pixels soft."""
    x0, y0, x1, y1 = box
    point = (x0 + (x1 - x0) * rng.uniform(0.25, 0.75), y0 + (y1 - y0) * rng.uniform(0.25, 0.75))
    return cast_shadow(image, point, float(rng.uniform(0, 360)), float(rng.uniform(*SHADOW_SHADE)),
                       plate_width * float(rng.uniform(*SHADOW_PENUMBRA)))


def rain(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    streaks = np.zeros((h, w), np.float32)
    length = rng.uniform(0.02, 0.06) * h
    angle = rng.uniform(-0.3, 0.3)
    for _ in range(int(rng.uniform(0.0005, 0.002) * h * w / 10)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        cv2.line(streaks, (int(x), int(y)), (int(x + length * np.sin(angle)), int(y + length * np.cos(angle))),
                 1.0, 1, cv2.LINE_AA)
    streaks = cv2.GaussianBlur(streaks, (0, 0), 0.8)
    return image * (1 - 0.15 * rng.random()) + streaks[..., None] * rng.uniform(30, 90)


def motion_blur(image: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    n = max(3, int(round(length)) | 1)
    kernel = np.zeros((n, n), np.float32)
    kernel[n // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (n, n))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def defocus(image: np.ndarray, radius: float) -> np.ndarray:
    r = max(1, int(round(radius)))
    kernel = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    cv2.circle(kernel, (r, r), r, 1.0, -1, cv2.LINE_AA)
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def sensor_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    shot = rng.normal(0, 1, image.shape).astype(np.float32) * np.sqrt(np.clip(image, 0, 255) / 255.0) * sigma
    read = rng.normal(0, sigma * 0.5, image.shape[:2]).astype(np.float32)[..., None]
    return image + shot + read


def unsharp_mask(image: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """``image`` (float32) with ``amount`` of its detail finer than ``sigma`` px added back: a
    camera's sharpening, which rings round strong edges."""
    return image + amount * (image - cv2.GaussianBlur(image, (0, 0), sigma))


def camera_processing(image: np.ndarray, strength: float = 9.0, sharpen_amount: float = 1.0,
                      sharpen_sigma: float = 1.5) -> np.ndarray:
    """What a phone's or an IP camera's processing does before it encodes: denoising that keeps
    strong edges (non-local means, ``strength`` grey levels) and smooths noise away, and with it
    fine low-contrast detail, then an unsharp mask (``sharpen_amount`` of the detail finer than
    ``sharpen_sigma`` px added back) that rings round the strong edges."""
    frame = np.clip(image, 0, 255).astype(np.uint8)
    if frame.ndim == 3:
        smooth = cv2.fastNlMeansDenoisingColored(frame, None, strength, strength, 7, 21)
    else:
        smooth = cv2.fastNlMeansDenoising(frame, None, strength, 7, 21)
    return unsharp_mask(smooth.astype(np.float32), sharpen_sigma, sharpen_amount)


def wide_dynamic_range(image: np.ndarray, base_gain: float = 0.5, detail_gain: float = 1.2) -> np.ndarray:
    """A wide-dynamic-range camera's local tone mapping (after Durand and Dorsey): the log
    luminance split into a base layer (bilateral, 0.4 in log units, 2 % of the frame's larger side)
    and detail; the base's range scaled by ``base_gain``, the detail by ``detail_gain``; colour
    ratios kept; the brightest 0.5 % at 235. Sky and shade both come out mid-grey, with halos
    round strong edges."""
    picture = np.clip(image, 0, 255).astype(np.float32) + 1.0
    luminance = picture.mean(axis=2) if picture.ndim == 3 else picture
    log = np.log(luminance)
    base = cv2.bilateralFilter(log, -1, 0.4, 0.02 * max(picture.shape[:2]))
    mapped = base_gain * (base - base.max()) + detail_gain * (log - base)
    gain = np.exp(mapped - np.percentile(mapped, 99.5)) * 235.0 / luminance
    return picture * (gain[..., None] if picture.ndim == 3 else gain)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", np.clip(image, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED).astype(np.float32)  # grey stays grey, colour colour
