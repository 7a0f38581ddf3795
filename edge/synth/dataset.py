"""Write synthetic samples to a folder, and draw a contact sheet of them.

Layout of a dataset folder::

    meta.json           seed, kind, count, label ids, fonts, backgrounds, timing
    labels.jsonl        one record per sample, in index order (Sample.record())
    labels.csv          the same plates in the columns of real-dev's labels.csv, for `anpr eval`
    images/0000000.jpg  scenes as JPEG (quality 95), plate crops as PNG
    masks/0000000.png   uint8 label map: 0 background, 1 plate, 2 region, 3 class number, 4 kana, 5 serial

Workers render and write images; the parent writes ``labels.jsonl`` and ``labels.csv`` line by
line, so after an interruption (or a full disk) every line in them names files that are complete.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from edge import __version__
from edge.synth.backgrounds import Backgrounds
from edge.common.fonts import bundled_font, font_names
from edge.synth.plate import LABEL_IDS
from edge.synth.scene import KINDS, Overrides, Sample, make_sample
from edge.synth.stress import Level, levels_named, stress_sample
from edge.synth.texts import check_digits

DATASET_KINDS = (*KINDS, "stress")  # stress: scenes condition by condition (edge/synth/stress.py)

FIELD_COLOURS = {"region": (0, 200, 255), "class_number": (255, 160, 0), "kana": (200, 0, 255), "serial": (0, 220, 0)}


class SynthError(RuntimeError):
    """The dataset cannot be written as asked; the message says why and what is kept."""


@dataclass(frozen=True)
class DatasetSummary:
    folder: Path
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


_worker_backgrounds: Backgrounds | None = None


def _init_worker(backgrounds_dir: str | None) -> None:
    global _worker_backgrounds
    cv2.setNumThreads(1)  # one process per core does the parallel work
    _worker_backgrounds = Backgrounds(backgrounds_dir) if backgrounds_dir else None


def _make_and_write(job: tuple[int, int, str, str, tuple[Level, ...], Overrides]) -> dict:
    seed, index, kind, folder, levels, overrides = job
    sample = (stress_sample(seed, index, levels) if kind == "stress"
              else make_sample(seed, index, kind, _worker_backgrounds, overrides=overrides))
    return _write_sample(sample, Path(folder))


def _write_sample(sample: Sample, folder: Path) -> dict:
    ext = ".png" if sample.kind == "plates" else ".jpg"
    image_path = folder / "images" / f"{sample.index:07d}{ext}"
    mask_path = folder / "masks" / f"{sample.index:07d}.png"
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else []
    for path, array, extra in ((image_path, sample.image, params), (mask_path, sample.labels, [])):
        ok, data = cv2.imencode(path.suffix, array, extra)
        if not ok:
            raise SynthError(f"could not encode {path.name}")
        try:
            path.write_bytes(data.tobytes())
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise SynthError(f"cannot write {path}: {exc.strerror or exc}") from exc
    record = sample.record()
    record["image"] = f"images/{image_path.name}"
    record["mask"] = f"masks/{mask_path.name}"
    return record


def write_dataset(folder: str | Path, count: int, seed: int, kind: str = "plates",
                  backgrounds_dir: str | Path | None = None, workers: int | None = None,
                  progress: bool = True, conditions: str | None = None, shadowed: bool = False,
                  digits: str | None = None) -> DatasetSummary:
    """Make samples 0..count-1 of stream ``seed`` into ``folder`` (which must hold no dataset);
    for the stress kind, ``conditions`` keeps only the conditions whose names hold that text;
    for scenes, ``shadowed`` casts a hard shadow across each plate the sun lights, on scenes
    otherwise the same as the seed's without it (a pair for ``anpr eval``); for scenes and plates,
    ``digits`` draws every class-number and serial digit from those digits where the grammar lets it,
    lettered in the plate's own face (a set that asks about digits readers confuse)."""
    if kind not in DATASET_KINDS:
        raise SynthError(f"--kind must be one of {', '.join(DATASET_KINDS)}, not {kind!r}")
    if conditions is not None and kind != "stress":
        raise SynthError(f"--conditions picks stress conditions; it needs --kind stress, not {kind!r}")
    if shadowed and kind != "scenes":
        raise SynthError(f"--shadowed casts shadows on scenes; it needs --kind scenes, not {kind!r}")
    if digits is not None and kind not in ("scenes", "plates"):
        raise SynthError(f"--digits draws the plates' digits; it needs --kind scenes or plates, not {kind!r}")
    if digits is not None:
        try:
            check_digits(digits)
        except ValueError as exc:
            raise SynthError(f"--digits must be {exc}") from exc
    try:  # once, here: each stress job carries them
        levels = levels_named(conditions) if kind == "stress" else ()
    except ValueError as exc:
        raise SynthError(f"--conditions: {exc}") from exc
    if count < 1:
        raise SynthError(f"--count must be at least 1, not {count}")
    folder = Path(folder)
    if (folder / "labels.jsonl").exists():
        raise SynthError(f"{folder} already holds a dataset (labels.jsonl); choose an empty folder")
    if backgrounds_dir is not None:
        Backgrounds(backgrounds_dir)  # fail now, with the reason, not inside a worker
    try:
        for sub in ("images", "masks"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    workers = max(1, workers or os.cpu_count() or 1)
    meta = {
        "version": __version__, "seed": seed, "kind": kind, "count": count, "label_ids": LABEL_IDS,
        "fonts": font_names(),
        "backgrounds": str(backgrounds_dir) if backgrounds_dir else None, "conditions": conditions,
        "shadowed": shadowed, "digits": digits,
    }
    # what every scene of the set fixes (the stress kind: its levels)
    overrides = Overrides(shadow=shadowed, digits=digits, font_digits=digits is not None)
    jobs = [(seed, i, kind, str(folder), levels, overrides) for i in range(count)]
    bar = _progress(count, f"synth {kind}", progress)
    started = time.perf_counter()
    written = 0
    try:
        with (folder / "labels.jsonl").open("w", encoding="utf-8") as labels, \
                (folder / "labels.csv").open("w", newline="", encoding="utf-8") as table:
            rows = csv.writer(table)
            rows.writerow(EVAL_COLUMNS)
            if workers == 1:
                _init_worker(str(backgrounds_dir) if backgrounds_dir else None)
                records = map(_make_and_write, jobs)
                pool = None
            else:
                ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
                pool = ctx.Pool(workers, _init_worker, (str(backgrounds_dir) if backgrounds_dir else None,))
                records = pool.imap(_make_and_write, jobs, chunksize=8)
            try:
                for record in records:
                    labels.write(json.dumps(record, ensure_ascii=False) + "\n")
                    labels.flush()
                    row = eval_row(record)
                    if row is not None:
                        rows.writerow(row)
                        table.flush()
                    written += 1
                    bar.update(1)
            finally:
                if pool is not None:
                    pool.terminate()
                    pool.join()
    except OSError as exc:
        raise SynthError(f"writing {folder} stopped after {written} samples: {exc.strerror or exc}"
                         f" (labels.jsonl lists the {written} complete ones)") from exc
    except SynthError as exc:
        raise SynthError(f"{exc}; stopped after {written} samples (labels.jsonl lists the complete ones)") from exc
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    meta.update(seconds=round(seconds, 2), workers=workers)
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return DatasetSummary(folder, written, seconds)


EVAL_COLUMNS = ("file", "plate_index", "x1", "y1", "x2", "y2", "region", "class_number", "kana", "serial", "color",
                "readable", "pasted", "source_repo", "source_path", "note", "condition")


def eval_row(rec: dict) -> list | None:
    """A sample's row of ``labels.csv`` (real-dev's columns), so ``anpr eval`` scores a synthetic
    folder the same way; None when the plate lies wholly outside the frame.

    A plate cut by the frame's edge is labelled ``partial``: it is a plate, but not one recall counts.
    """
    w, h = rec["width"], rec["height"]
    x1, y1, x2, y2 = rec["bbox"]
    box = [round(max(0.0, x1)), round(max(0.0, y1)), round(min(float(w), x2)), round(min(float(h), y2))]
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        return None
    p = rec["plate"]
    if rec["conditions"].get("special"):  # out of scope: a plate, but none of the fields we read
        fields, readable = ["n/a", "n/a", "n/a", "?", "other"], "partial"
    else:
        fields = [p["region"], p["class_number"], p["kana"], p["serial"], p["color"]]
        readable = "partial" if rec["truncated"] else "yes"
    return [Path(rec["image"]).name, 0, *box, *fields, readable, "no", "synthetic", rec["image"],
            ", ".join(f"{k} {v}" for k, v in rec["conditions"].items()), rec["conditions"].get("stress", "")]


def _progress(total: int, desc: str, enabled: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True, disable=not enabled)


def read_records(folder: str | Path) -> list[dict]:
    path = Path(folder) / "labels.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SynthError(f"cannot read {path}: {exc.strerror or exc}") from exc
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SynthError(f"{path}:{number}: not a JSON record ({exc.msg})") from exc
    return records


@lru_cache(maxsize=4)
def _caption_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(bundled_font()), size)


def caption_tile(tile: np.ndarray, text: str, height: int = 26) -> np.ndarray:
    """``tile`` with a strip of Japanese text under it (OpenCV cannot draw kanji; Pillow can)."""
    strip = Image.new("RGB", (tile.shape[1], height), (255, 255, 255))
    ImageDraw.Draw(strip).text((4, height * 0.1), text, font=_caption_font(int(height * 0.7)), fill=(0, 0, 0))
    return np.vstack([tile, cv2.cvtColor(np.asarray(strip), cv2.COLOR_RGB2BGR)])


def grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    padded = [cv2.copyMakeBorder(t, 2, h - t.shape[0] + 2, 2, w - t.shape[1] + 2, cv2.BORDER_CONSTANT,
                                 value=(255, 255, 255)) for t in tiles]
    while len(padded) % columns:
        padded.append(np.full_like(padded[0], 255))
    return np.vstack([np.hstack(padded[i:i + columns]) for i in range(0, len(padded), columns)])


def write_sheet(folder: str | Path, out: str | Path, limit: int = 24, tile_width: int = 320) -> Path:
    """A contact sheet of the first ``limit`` samples with their labels drawn on: plate corners
    (red), each field's box, the vehicle box (blue)."""
    folder = Path(folder)
    tiles = []
    for record in read_records(folder)[:limit]:
        image = cv2.imread(str(folder / record["image"]), cv2.IMREAD_COLOR)
        if image is None:
            raise SynthError(f"{folder / record['image']} is missing or not an image")
        scale = tile_width / image.shape[1]
        thickness = max(1, int(round(1 / scale)))
        cv2.polylines(image, [np.round(np.float32(record["corners"])).astype(np.int32)], True, (0, 0, 255),
                      thickness, cv2.LINE_AA)
        for name, box in record["fields"].items():
            if box:
                cv2.rectangle(image, tuple(box[:2]), tuple(box[2:]), FIELD_COLOURS[name], thickness)
        if record.get("vehicle"):
            v = record["vehicle"]
            cv2.rectangle(image, tuple(v[:2]), tuple(v[2:]), (255, 0, 0), thickness * 2)
        tile = cv2.resize(image, (tile_width, max(1, int(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
        text = f"{record['index']}: {record['plate']['text']} ({record['plate']['color']})"
        tiles.append(caption_tile(tile, text))
    if not tiles:
        raise SynthError(f"{folder} has no samples to draw")
    out = Path(out)
    if not cv2.imwrite(str(out), grid(tiles, 4)):
        raise SynthError(f"cannot write {out}")
    return out
