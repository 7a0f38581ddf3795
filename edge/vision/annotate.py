"""Draw what the reader found onto a copy of the image: vehicle boxes, plate outlines and scores."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PLATE_COLOUR = (0, 255, 0)
VEHICLE_COLOUR = (255, 160, 0)


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
        x1, y1 = int(p.quad[:, 0].min()), int(p.quad[:, 1].min())
        cv2.putText(out, f"plate {p.score:.2f}", (x1, max(12, y1 - 4 * thick)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45 * thick, PLATE_COLOUR, thick)
    return out


def annotate(image: np.ndarray, result, path: Path) -> Path:
    """Write the drawn image as JPEG to ``path``."""
    ok, data = cv2.imencode(".jpg", draw(image, result), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise OSError(f"could not encode {path}")
    Path(path).write_bytes(data.tobytes())
    return Path(path)
