"""The realism check: real plate crops from a labelled folder beside synthetic ones of the same
text and colour, in one picture anyone can look at.

Each real plate of ``labels.csv`` whose text is fully readable and valid (pasted sample plates
excluded) is cropped from its photograph with a margin; beside it goes a synthetic ``plates``
sample of the same plate, cropped the same way. The side of the real crop is drawn at random
per row and written to a key file, so a reviewer can test themselves before reading it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.plates import PlateText, PlateTextError
from edge.synth.backgrounds import Backgrounds
from edge.synth.dataset import SynthError, caption_tile, grid
from edge.synth.scene import make_sample

CROP_HEIGHT = 110
MARGIN = 0.12  # of the plate's box, on every side


@dataclass(frozen=True)
class RealPlate:
    file: str
    box: tuple[float, float, float, float]
    plate: PlateText


def real_plates(folder: Path) -> list[RealPlate]:
    """The fully readable, real (not pasted) plates of a labelled folder."""
    table = folder / "labels.csv"
    try:
        rows = list(csv.DictReader(table.open(encoding="utf-8")))
    except OSError as exc:
        raise SynthError(f"cannot read {table}: {exc.strerror or exc}") from exc
    plates = []
    for line, row in enumerate(rows, start=2):
        try:
            if row["readable"] != "yes" or row["pasted"] != "no":
                continue
            box = tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2"))
            text = f"{row['region']} {row['class_number']} {row['kana']} {row['serial']}"
        except (KeyError, TypeError, ValueError) as exc:
            raise SynthError(f"{table}:{line}: malformed row ({exc})") from exc
        try:
            plates.append(RealPlate(row["file"], box, PlateText.parse(text, row["color"])))
        except PlateTextError:
            continue  # e.g. a non-standard plate labelled readable: nothing to render
    if not plates:
        raise SynthError(f"{table} has no fully readable real plate")
    return plates


def _crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * MARGIN, (y2 - y1) * MARGIN
    h, w = image.shape[:2]
    X1, Y1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
    X2, Y2 = int(min(w, x2 + mx)), int(min(h, y2 + my))
    crop = image[Y1:Y2, X1:X2]
    width = max(1, int(round(crop.shape[1] * CROP_HEIGHT / max(1, crop.shape[0]))))
    return cv2.resize(crop, (width, CROP_HEIGHT), interpolation=cv2.INTER_AREA)


def compare_sheet(real_folder: str | Path, out: str | Path, seed: int = 0,
                  backgrounds: Backgrounds | None = None) -> tuple[Path, Path]:
    """Write the comparison picture and its key (which side is real in each row)."""
    real_folder, out = Path(real_folder), Path(out)
    rng = np.random.default_rng(seed)
    tiles, key = [], []
    for i, real in enumerate(real_plates(real_folder)):
        photo = cv2.imread(str(real_folder / "images" / real.file), cv2.IMREAD_COLOR)
        if photo is None:
            raise SynthError(f"{real_folder / 'images' / real.file} is missing or not an image")
        # same plate, same pixel size, in daylight (or the real frame's own light)
        sample = make_sample(seed, i, "plates", backgrounds, plate=real.plate,
                             width_px=max(16.0, real.box[2] - real.box[0]), lighting="day")
        pair = [_crop(photo, real.box), _crop(sample.image, tuple(sample.plate_box))]
        real_on_left = bool(rng.random() < 0.5)
        if not real_on_left:
            pair.reverse()
        key.append(f"row {i + 1}: {real.plate.format()} ({real.plate.color.value}): real on the "
                   f"{'left' if real_on_left else 'right'} ({real.file})")
        tiles += [caption_tile(crop, f"{i + 1}{side}") for crop, side in zip(pair, "ab")]
    if not cv2.imwrite(str(out), grid(tiles, 2)):
        raise SynthError(f"cannot write {out}")
    key_path = out.with_suffix(".key.txt")
    key_path.write_text("\n".join(key) + "\n", encoding="utf-8")
    return out, key_path
