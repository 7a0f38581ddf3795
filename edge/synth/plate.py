"""Render one plate, flat and face-on, with pixel-exact labels.

Images are BGR uint8 (OpenCV's order). Sizes are in millimetres until the last step, so one
drawing serves every resolution: ``px_per_mm`` picks it (2.0 gives a 660x330 medium plate).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.plates import FIELDS, Color, PlateText
from edge.common.fonts import available_fonts, fonts_with, glyph_mask, pick_font
from edge.synth.layout import Cell, PlateSize, bolt_centres, plate_cells
from edge.synth.strokes import DIGITS, STROKE, DigitShape, digit_mask, random_digit_shape
from edge.synth.lettering import Lettering, random_lettering
from edge.common.boxes import mask_box

LABEL_IDS = {"background": 0, "plate": 1, "region": 2, "class_number": 3, "kana": 4, "serial": 5}
CORNER_RADIUS_MM = 8.0

# Approximate sRGB from the reference (hobby generators and photos), stored as BGR.
_GREEN_INK = ((56, 79, 25), (29, 69, 12), (48, 92, 30))
_WHITE = ((236, 238, 236), (246, 248, 246), (225, 232, 230))
_GREEN_BG = ((52, 96, 34), (40, 84, 22), (64, 110, 50))
_YELLOW_BG = ((4, 194, 243), (0, 205, 250), (20, 186, 232))
_BLACK = ((50, 50, 50), (35, 38, 38), (58, 56, 56))
_FRAME_COLOURS = ((20, 20, 20), (180, 180, 185), (40, 150, 190), (200, 200, 205), (60, 60, 60))


@dataclass(frozen=True)
class PlateStyle:
    """Everything random about one plate's look; the text decides nothing here but colours."""

    size: PlateSize
    font: str
    background: tuple[int, int, int]
    ink: tuple[int, int, int]
    kanji_weight: int  # extra stroke pixels at glyph size, to make a regular font heavy
    digit_stroke: float  # mm, 12 is the standard
    digit_shape: DigitShape  # the maker's departure from the standard drawing
    lettering: Lettering  # the maker's departure from the font, for the glyphs taken from it
    font_digits: bool  # digits but 1 from the font, squeezed into their cells, instead of the monoline drawing
    jitter_mm: float  # per-character placement noise
    pattern: bool  # design plate (図柄入り) background
    rim: tuple[int, int, int] | None  # design-plate rim colour
    emboss: float  # strength of the raised-character shading
    light_angle: float  # radians, where the light comes from
    bolt_radius_mm: float  # 0 for no bolts
    bolt_colour: tuple[int, int, int]
    frame: tuple[tuple[int, int, int], float, float, float] | None  # colour, top, side, bottom overlap mm
    fade: float  # 0..0.5: paint lost from the characters
    dirt: float  # 0..1


def _ink_and_background(color: Color, rng: np.random.Generator) -> tuple[tuple, tuple, tuple | None]:
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    if color in (Color.WHITE, Color.DESIGN_GREEN, Color.DESIGN_YELLOW):
        rim = {Color.DESIGN_GREEN: pick(_GREEN_INK), Color.DESIGN_YELLOW: pick(_YELLOW_BG)}.get(color)
        return pick(_WHITE), pick(_GREEN_INK), rim
    if color is Color.GREEN:
        return pick(_GREEN_BG), pick(_WHITE), None
    if color is Color.YELLOW:
        return pick(_YELLOW_BG), pick(_BLACK), None
    return pick(_BLACK), pick(_YELLOW_BG), None


def random_style(plate: PlateText, rng: np.random.Generator, size: PlateSize | None = None) -> PlateStyle:
    """A random but plausible look for ``plate``."""
    if size is None:
        heavy = plate.class_number[0] in "128" and plate.meaning.kei is not True
        r = rng.random()
        size = PlateSize.LARGE if heavy and r < 0.3 else PlateSize.SMALL if r > 0.98 else PlateSize.MEDIUM
    chars = plate.region + plate.kana + "".join(c for c in plate.class_number if not c.isdigit())
    fonts = fonts_with(chars) or available_fonts()
    background, ink, rim = _ink_and_background(plate.color or Color.WHITE, rng)
    design = plate.color in (Color.DESIGN_GREEN, Color.DESIGN_YELLOW) or (
        plate.color is Color.WHITE and len(plate.class_number) == 3 and rng.random() < 0.1)
    frame = None
    if rng.random() < 0.35:
        colour = _FRAME_COLOURS[int(rng.integers(len(_FRAME_COLOURS)))]
        # 2021 rule: a frame may cover at most 10 mm at the top, 18.5 at the sides, 13.5 at the bottom
        frame = (colour, float(rng.uniform(0, 10)), float(rng.uniform(0, 12)), float(rng.uniform(0, 13.5)))
    return PlateStyle(
        size=size,
        font=pick_font(fonts, rng),
        background=tuple(int(np.clip(c + rng.normal(0, 6), 0, 255)) for c in background),
        ink=tuple(int(np.clip(c + rng.normal(0, 6), 0, 255)) for c in ink),
        kanji_weight=int(rng.integers(1, 5)),
        digit_stroke=float(rng.uniform(0.75, 1.1) * STROKE),
        digit_shape=random_digit_shape(rng),
        lettering=random_lettering(rng),
        # Makers' lettering differs from the standard drawing; some font digits keep the
        # reader from learning one drawing instead of the digits.
        font_digits=bool(rng.random() < 0.2),
        jitter_mm=float(rng.uniform(0, 1.2)),
        pattern=design,
        rim=rim,
        emboss=float(rng.uniform(0.04, 0.3)),
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        bolt_radius_mm=float(rng.choice([0.0, rng.uniform(5, 7), rng.uniform(7, 9)], p=[0.15, 0.7, 0.15])),
        bolt_colour=tuple(int(v) for v in rng.integers(90, 220, 1).repeat(3)),
        frame=frame,
        fade=float(rng.uniform(0, 0.45) if rng.random() < 0.25 else 0.0),
        dirt=float(rng.uniform(0, 1) if rng.random() < 0.4 else 0.0),
    )


@dataclass
class RenderedPlate:
    """A flat plate on a transparent canvas, with its labels in the same pixels."""

    image: np.ndarray  # HxWx3 uint8 BGR
    alpha: np.ndarray  # HxW float32: 1 where plate or frame covers the canvas
    labels: np.ndarray  # HxW uint8, LABEL_IDS: plate area, then each field's ink on top
    corners: np.ndarray  # 4x2 float32: plate corners TL, TR, BR, BL in canvas pixels
    plate: PlateText
    style: PlateStyle
    px_per_mm: float

    def field_boxes(self) -> dict[str, list[int] | None]:
        """Box around each field's ink, in canvas pixels."""
        return field_boxes(self.labels)


def field_boxes(labels: np.ndarray) -> dict[str, list[int] | None]:
    """Box around each field's pixels of a label map (None where the field is not visible)."""
    return {name: mask_box(labels == LABEL_IDS[name]) for name in FIELDS}


def _rounded_rect_alpha(h: int, w: int, x0: float, y0: float, x1: float, y1: float, r: float) -> np.ndarray:
    """Anti-aliased coverage of a rounded rectangle (pixel centres at +0.5)."""
    ys = np.arange(h, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(w, dtype=np.float32)[None, :] + 0.5
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    qx = np.abs(xs - cx) - ((x1 - x0) / 2 - r)
    qy = np.abs(ys - cy) - ((y1 - y0) / 2 - r)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
    return np.clip(0.5 - outside, 0, 1)


def _low_freq_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    small = rng.random((max(2, h * cells // max(h, w)), max(2, w * cells // max(h, w))), dtype=np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _paste(dst: np.ndarray, mask: np.ndarray, x0: float, y0: float, w: float, h: float) -> None:
    """Put ``mask`` resized to w x h at (x0, y0) into ``dst`` (max-combine), clipped to the canvas."""
    wi, hi = max(1, int(round(w))), max(1, int(round(h)))
    resized = cv2.resize(mask, (wi, hi), interpolation=cv2.INTER_AREA if wi < mask.shape[1] else cv2.INTER_LINEAR)
    xi, yi = int(round(x0)), int(round(y0))
    H, W = dst.shape
    sx0, sy0 = max(0, -xi), max(0, -yi)
    ex, ey = min(wi, W - xi), min(hi, H - yi)
    if ex > sx0 and ey > sy0:
        region = dst[yi + sy0: yi + ey, xi + sx0: xi + ex]
        np.maximum(region, resized[sy0:ey, sx0:ex], out=region)


def _mark_mask(cell: Cell, style: PlateStyle, w: float, h: float, rng: np.random.Generator
               ) -> tuple[np.ndarray, float, float, float, float]:
    """The coverage mask of one mark and where it goes inside its cell box (dx, dy, w, h) in px."""
    if cell.char == "・" or cell.char == "-":
        size = 64
        m = np.zeros((size, size), np.float32)
        if cell.char == "・":
            cv2.circle(m, (size // 2, size // 2), size // 2 - 1, 1.0, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(m, (0, 0), (size - 1, size - 1), 1.0, -1)
        return m, 0.0, 0.0, w, h
    # A font's 1, widened towards its cell, has a long flat flag that reads as a 7 (its flag reaches a median 0.21
    # of the height left of the stem, the standard's 0.15): plates lettered with a font's digits keep the drawn 1.
    if cell.char in DIGITS and (not style.font_digits or cell.char == "1"):
        stroke = style.digit_stroke * (1.0 if cell.field == "serial" else 0.95)
        return digit_mask(cell.char, max(2, int(w)), max(2, int(h)), stroke, style.digit_shape), 0.0, 0.0, w, h
    glyph = style.lettering.distort(glyph_mask(cell.char, style.font, style.kanji_weight), rng)
    gh, gw = glyph.shape
    if cell.char in DIGITS:  # a font's digit, full height, widened towards the cell like plate lettering
        fit_w = min(w, h * gw / gh * 1.3)
        return glyph, (w - fit_w) / 2, 0.0, fit_w, h
    if cell.field == "region" or cell.field == "class_number":
        # Region names are drawn per maker and squeezed into their cells; letters fill theirs.
        fit_h = h * (0.92 if cell.field == "region" else 1.0)
        fit_w = min(w, fit_h * gw / gh * 1.05) if cell.field == "region" else w
        if cell.field == "region" and gw > 1.6 * gh:  # a flat glyph (一) keeps its shape, not a block
            fit_w = w * 0.85
            fit_h = fit_w * gh / gw
        return glyph, (w - fit_w) / 2, (h - fit_h) / 2, fit_w, fit_h
    scale = min(w / gw, h / gh) * 0.95  # kana and US letters keep their shape
    return glyph, (w - gw * scale) / 2, (h - gh * scale) / 2, gw * scale, gh * scale


def render_plate(plate: PlateText, rng: np.random.Generator, px_per_mm: float = 2.0,
                 style: PlateStyle | None = None) -> RenderedPlate:
    """Draw ``plate`` face-on. The canvas has a margin round the plate for a frame or holder."""
    style = style or random_style(plate, rng)
    s = float(px_per_mm)
    w_mm, h_mm = style.size.mm
    margin_mm = 22.0 if style.frame else 6.0
    W, H = int(round((w_mm + 2 * margin_mm) * s)), int(round((h_mm + 2 * margin_mm) * s))
    ox = oy = margin_mm * s
    px = lambda v: v * s  # noqa: E731

    plate_alpha = _rounded_rect_alpha(H, W, ox, oy, ox + px(w_mm), oy + px(h_mm), px(CORNER_RADIUS_MM))
    labels = np.where(plate_alpha > 0.5, LABEL_IDS["plate"], 0).astype(np.uint8)

    # Background: the plate colour, a soft gradient, and a pale pattern on design plates.
    background = np.empty((H, W, 3), np.float32)
    background[:] = style.background
    background *= (0.94 + 0.1 * _low_freq_noise(rng, H, W, 3))[..., None]
    if style.pattern:
        tint = rng.uniform(0, 255, 3).astype(np.float32)
        blobs = _low_freq_noise(rng, H, W, int(rng.integers(3, 9)))
        amount = float(rng.uniform(0.1, 0.35)) * (blobs > rng.uniform(0.4, 0.7))
        amount = cv2.GaussianBlur(amount.astype(np.float32), (0, 0), px(3))
        background = background * (1 - amount[..., None]) + tint * amount[..., None]
    if style.rim is not None:
        band = px(rng.uniform(3, 5))
        inner = _rounded_rect_alpha(H, W, ox + band, oy + band, ox + px(w_mm) - band, oy + px(h_mm) - band,
                                    max(1.0, px(CORNER_RADIUS_MM) - band))
        rim = (plate_alpha - inner).clip(0, 1)[..., None]
        background = background * (1 - rim) + np.float32(style.rim) * rim

    # Characters, dots and hyphen; each field's ink becomes its label.
    ink = np.zeros((H, W), np.float32)
    shift = {f: rng.normal(0, 1.0, 2) for f in FIELDS}
    for cell in plate_cells(plate.region, plate.class_number, plate.kana, plate.serial, style.size):
        x0, y0, x1, y1 = cell.box
        jx, jy = shift[cell.field] + rng.normal(0, style.jitter_mm, 2)
        mask, dx, dy, mw, mh = _mark_mask(cell, style, px(x1 - x0), px(y1 - y0), rng)
        field_ink = np.zeros_like(ink)
        _paste(field_ink, mask, ox + px(x0 + jx) + dx, oy + px(y0 + jy) + dy, mw, mh)
        labels[field_ink > 0.5] = LABEL_IDS[cell.field]
        np.maximum(ink, field_ink, out=ink)

    ink_colour = np.float32(style.ink) * (1 - style.fade) + np.float32(style.background) * style.fade
    image = background * (1 - ink[..., None]) + ink_colour * ink[..., None]

    # Embossing: characters and the plate's edge are raised; light grazes them from one side.
    rim_height = plate_alpha - _rounded_rect_alpha(H, W, ox + px(4), oy + px(4), ox + px(w_mm - 4),
                                                   oy + px(h_mm - 4), px(CORNER_RADIUS_MM - 4))
    height = cv2.GaussianBlur(ink + 0.7 * rim_height.clip(0, 1), (0, 0), max(0.6, px(0.8)))
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    shade = 1 + style.emboss * (np.cos(style.light_angle) * gx + np.sin(style.light_angle) * gy)
    image *= shade.clip(0.4, 1.6)[..., None]

    for bx, by in bolt_centres(style.size) if style.bolt_radius_mm > 0 else ():
        centre = (int(round(ox + px(bx))), int(round(oy + px(by))))
        radius = max(1, int(round(px(style.bolt_radius_mm))))
        cv2.circle(image, centre, radius, tuple(float(c) for c in style.bolt_colour), -1, cv2.LINE_AA)
        cv2.circle(image, centre, radius, tuple(float(c) * 0.6 for c in style.bolt_colour), max(1, radius // 5),
                   cv2.LINE_AA)
        if radius > 3:
            d = int(radius * 0.6)
            cv2.line(image, (centre[0] - d, centre[1]), (centre[0] + d, centre[1]), (40.0, 40.0, 40.0),
                     max(1, radius // 4), cv2.LINE_AA)

    if style.dirt > 0:
        grime = _low_freq_noise(rng, H, W, int(rng.integers(4, 16)))
        image *= (1 - 0.45 * style.dirt * grime ** 2)[..., None]
        specks = (rng.random((H, W), dtype=np.float32) < 0.004 * style.dirt).astype(np.float32)
        image *= (1 - 0.5 * cv2.GaussianBlur(specks, (0, 0), max(0.5, px(0.6))) * 4).clip(0.3, 1)[..., None]

    alpha = plate_alpha
    if style.frame is not None:
        colour, top, side, bottom = style.frame
        outer = px(rng.uniform(3, 8))
        frame_out = _rounded_rect_alpha(H, W, ox - outer, oy - outer, ox + px(w_mm) + outer,
                                        oy + px(h_mm) + outer, px(CORNER_RADIUS_MM) + outer)
        window = _rounded_rect_alpha(H, W, ox + px(side), oy + px(top), ox + px(w_mm - side),
                                     oy + px(h_mm - bottom), px(CORNER_RADIUS_MM))
        frame = (frame_out - window).clip(0, 1)
        frame_colour = np.float32(colour) * (0.85 + 0.3 * _low_freq_noise(rng, H, W, 6))[..., None]
        image = image * (1 - frame[..., None]) + frame_colour * frame[..., None]
        alpha = np.maximum(plate_alpha, frame_out)
        labels[(frame > 0.5) & (labels > LABEL_IDS["plate"])] = LABEL_IDS["plate"]

    corners = np.float32([[ox, oy], [ox + px(w_mm), oy], [ox + px(w_mm), oy + px(h_mm)], [ox, oy + px(h_mm)]])
    return RenderedPlate(
        image=np.clip(image, 0, 255).astype(np.uint8),
        alpha=alpha.astype(np.float32),
        labels=labels,
        corners=corners,
        plate=plate,
        style=style,
        px_per_mm=s,
    )


SPECIAL_KINDS = ("diplomatic", "defense")  # out of the reader's scope, but plates all the same


def repaint_special(rendered: RenderedPlate, kind: str, rng: np.random.Generator) -> RenderedPlate:
    """The same plate repainted as an out-of-scope plate: a diplomatic plate (blue, white 外 and
    digits on one line) or a Self-Defense Force plate (white, dark digits 'NN-NNNN'). It is
    labelled plate with no fields, so the segmenter learns to find it whole without reading it."""
    if kind not in SPECIAL_KINDS:
        raise ValueError(f"special plate kind {kind!r} is not one of {', '.join(SPECIAL_KINDS)}")
    s = rendered.px_per_mm
    (x0, y0), (x1, y1) = rendered.corners[0], rendered.corners[2]
    area = _rounded_rect_alpha(*rendered.alpha.shape, x0, y0, x1, y1, CORNER_RADIUS_MM * s)
    if kind == "diplomatic":
        background, ink = (150 + rng.normal(0, 10), 70 + rng.normal(0, 10), 20 + rng.normal(0, 8)), (240, 240, 240)
        text = "外" + "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(3, 5))))
    else:
        background, ink = _WHITE[int(rng.integers(len(_WHITE)))], (40, 40, 40)
        text = f"{int(rng.integers(0, 100)):02d}-{int(rng.integers(0, 10000)):04d}"
    image = rendered.image.astype(np.float32)
    image = image * (1 - area[..., None]) + np.float32(background) * area[..., None]
    marks = np.zeros(area.shape, np.float32)
    height = (y1 - y0) * rng.uniform(0.45, 0.6)
    pitch = (x1 - x0) * 0.86 / len(text)
    left, top = x0 + (x1 - x0) * 0.07, y0 + (y1 - y0 - height) / 2
    font = rendered.style.font
    for k, char in enumerate(text):
        if char in DIGITS:
            mask = digit_mask(char, max(2, int(pitch * 0.8)), max(2, int(height)), STROKE)
        elif char == "-":
            mask = np.ones((4, 8), np.float32)
            _paste(marks, mask, left + k * pitch + pitch * 0.2, top + height * 0.45, pitch * 0.5, height * 0.1)
            continue
        else:
            mask = glyph_mask(char, font, 3)
        _paste(marks, mask, left + k * pitch + pitch * 0.1, top, pitch * 0.8, height)
    marks *= area
    image = image * (1 - marks[..., None]) + np.float32(ink) * marks[..., None]
    labels = np.where(area > 0.5, LABEL_IDS["plate"], 0).astype(np.uint8)
    return RenderedPlate(np.clip(image, 0, 255).astype(np.uint8), rendered.alpha, labels, rendered.corners,
                         rendered.plate, rendered.style, rendered.px_per_mm)
