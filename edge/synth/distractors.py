"""Things near a plate that are not plates: signs, price boards, badges, grilles, stickers.

Real photographs are full of lettered rectangles: parking signs, shop boards, dealer stickers,
text on the car. A segmenter that has only seen plates on plain cars calls all of them plates.
These are drawn into scenes (never over the plate) and stay background in the label map, so
the model must learn the plate's own layout rather than "a light rectangle with characters".
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from edge.common.fonts import available_fonts, font_at

_KANJI = "品川横浜練馬足立世田谷大阪神戸名古屋札幌福岡駐車場料金時間分円台空満出口入口月極専用営業中禁止注意"
_KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
_LATIN = "ABCDEFGHJKLMNPRSTUVWXYZ"
_PANELS = ((245, 245, 245), (30, 200, 240), (40, 120, 40), (160, 60, 20), (20, 20, 20), (30, 30, 200),
           (200, 200, 200), (0, 140, 255), (90, 90, 90))


def _text(rng: np.random.Generator) -> str:
    kind = rng.integers(5)
    n = int(rng.integers(1, 7))
    if kind == 0:
        return "".join(rng.choice(list(_KANJI), n))
    if kind == 1:
        return "".join(rng.choice(list(_KANA), n))
    if kind == 2:
        return f"{int(rng.integers(1, 9999)):,}" + str(rng.choice(["円", "", "台", "分", "m"]))
    if kind == 3:
        return "".join(rng.choice(list(_LATIN), n))
    return "".join(rng.choice(list("0123456789-・"), n + 1))


def _panel(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A lettered panel, BGR uint8."""
    bg = _PANELS[int(rng.integers(len(_PANELS)))]
    ink = (20, 20, 20) if sum(bg) > 360 else (245, 245, 245)
    if rng.random() < 0.3:
        ink = _PANELS[int(rng.integers(len(_PANELS)))]
    image = Image.new("RGB", (width, height), bg[::-1])
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.5:
        draw.rectangle([1, 1, width - 2, height - 2], outline=ink[::-1], width=max(1, height // 30))
    fonts = available_fonts()
    lines = int(rng.integers(1, 4))
    line_h = height / (lines + 0.5)
    for k in range(lines):
        text = _text(rng)
        size = max(6, int(line_h * rng.uniform(0.5, 0.85)))
        font = font_at(fonts[int(rng.integers(len(fonts)))], size)
        tw = draw.textlength(text, font=font)
        if tw > width * 0.95:
            font = font.font_variant(size=max(6, int(size * width * 0.95 / tw)))
            tw = draw.textlength(text, font=font)
        x = (width - tw) * rng.uniform(0.05, 0.95)
        draw.text((x, line_h * (k + 0.25)), text, font=font, fill=ink[::-1])
    return np.asarray(image)[..., ::-1].copy()


def _grille(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Horizontal or vertical bars, like a radiator grille or a slatted bumper."""
    base = rng.uniform(20, 200)
    image = np.full((height, width, 3), base, np.float32)
    bars = int(rng.integers(3, 12))
    vertical = rng.random() < 0.3
    for k in range(bars):
        a = int(k * (width if vertical else height) / bars)
        b = a + max(1, int((width if vertical else height) / bars * rng.uniform(0.3, 0.7)))
        shade = np.clip(base + rng.uniform(-90, 90), 0, 255)
        if vertical:
            image[:, a:b] = shade
        else:
            image[a:b] = shade
    return image.astype(np.uint8)


def _badge(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """An oval chrome badge with letters."""
    image = np.zeros((height, width, 3), np.uint8)
    grey = int(rng.uniform(120, 230))
    cv2.ellipse(image, (width // 2, height // 2), (width // 2 - 1, height // 2 - 1), 0, 0, 360, (grey,) * 3, -1)
    inner = _panel(rng, max(8, int(width * 0.7)), max(6, int(height * 0.5)))
    y, x = (height - inner.shape[0]) // 2, (width - inner.shape[1]) // 2
    image[y:y + inner.shape[0], x:x + inner.shape[1]] = inner
    return image


def random_distractor(rng: np.random.Generator, plate_width: float, frame: tuple[int, int],
                      keep_out: tuple[float, float, float, float]):
    """(art BGR uint8, coverage alpha float32, homography onto the frame) for one distractor placed
    in a ``frame`` = (width, height) image outside ``keep_out``; None if this draw landed on it."""
    W, H = frame
    w = float(np.clip(plate_width * np.exp(rng.uniform(np.log(0.4), np.log(3.0))), 12, W * 0.8))
    aspect = float(rng.uniform(1.7, 2.3)) if rng.random() < 0.3 else float(np.exp(rng.uniform(np.log(0.4),
                                                                                             np.log(6.0))))
    h = float(np.clip(w / aspect, 8, H * 0.8))
    px, py = rng.uniform(0, max(1.0, W - w)), rng.uniform(0, max(1.0, H - h))
    if px < keep_out[2] and px + w > keep_out[0] and py < keep_out[3] and py + h > keep_out[1]:
        return None
    kind = str(rng.choice(["panel", "panel", "grille", "badge"]))
    pw, ph = max(8, int(round(w))), max(8, int(round(h)))
    art = {"panel": _panel, "grille": _grille, "badge": _badge}[kind](rng, pw, ph)
    alpha = (art.max(axis=2) > 0).astype(np.float32) if kind == "badge" else np.ones((ph, pw), np.float32)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    dst = src + np.float32([px, py]) + (rng.normal(0, 0.06, (4, 2)) * [pw, ph]).astype(np.float32)
    return art, alpha, cv2.getPerspectiveTransform(src, dst).astype(np.float64)
