"""Draw what the reader found onto a copy of the image: vehicle boxes, plate outlines, and each
plate's reading in Japanese as a person would write it (``横浜 580 む 13-76``, then colour, kind
of vehicle and confidence; ``？`` for a field not read with confidence)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from edge.common.fonts import bundled_font, font_at
from edge.plates import FIELDS
from edge.plates.japanese import MISSING, describe

PLATE_COLOUR = (0, 255, 0)
VEHICLE_COLOUR = (255, 160, 0)


def caption(plate) -> tuple[str, str] | None:
    """Two lines of Japanese for a read plate; None when its fields were not read."""
    if plate.reading is None:
        return None
    return plate.spelled(MISSING, FIELDS), describe(plate.color, plate.category, plate.confidence)


def draw(image: np.ndarray, result) -> np.ndarray:
    """A copy of ``image`` with ``result`` (a ReadResult) drawn on it."""
    out = image.copy()
    thick = max(1, round(max(image.shape[:2]) / 500))
    for v in result.vehicles:
        x1, y1, x2, y2 = (int(round(c)) for c in v.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), VEHICLE_COLOUR, thick)
        cv2.putText(out, f"{v.label} {v.score:.2f}", (x1 + 2, y1 + 14 * thick), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45 * thick, VEHICLE_COLOUR, thick)
    for p in result.plates:
        cv2.polylines(out, [np.round(p.quad).astype(np.int32)], True, PLATE_COLOUR, thick + 1, cv2.LINE_AA)
    captions = [(p, caption(p)) for p in result.plates]
    if any(c for _, c in captions):
        out = write_captions(out, [(p.quad, "\n".join(c), p.valid) for p, c in captions if c],
                             size=max(14, round(max(image.shape[:2]) / 45)))
    for p, c in captions:
        if c is None:
            x1, y1 = int(p.quad[:, 0].min()), int(p.quad[:, 1].min())
            cv2.putText(out, f"plate {p.score:.2f}", (x1, max(12, y1 - 4 * thick)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.45 * thick, PLATE_COLOUR, thick)
    return out


def write_captions(image: np.ndarray, captions: list[tuple[np.ndarray, str, bool]], size: int) -> np.ndarray:
    """Each caption ``(quad, text, valid)`` on a dark box just below its plate's corners (above
    them when there is no room), green for a valid reading, amber otherwise."""
    font = font_at(str(bundled_font()), size)
    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    h, w = image.shape[:2]
    for quad, text, valid in captions:
        quad = np.asarray(quad, np.float64)
        left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font, spacing=4)
        tw, th = right - left + 8, bottom - top + 8
        x = int(np.clip(quad[:, 0].min(), 0, max(0, w - tw)))
        y = int(quad[:, 1].max()) + 4
        if y + th > h:
            y = max(0, int(quad[:, 1].min()) - th - 4)
        draw.rectangle((x, y, x + tw, y + th), fill=(20, 20, 20))
        draw.multiline_text((x + 4 - left, y + 4 - top), text, font=font, fill=(120, 255, 120) if valid else (255, 200, 80),
                            spacing=4)
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def annotate(image: np.ndarray, result, path: Path) -> Path:
    """Write the drawn image as JPEG to ``path``."""
    ok, data = cv2.imencode(".jpg", draw(image, result), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise OSError(f"could not encode {path}")
    Path(path).write_bytes(data.tobytes())
    return Path(path)
