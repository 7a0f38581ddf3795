"""Training examples for the field classifiers: synthetic plates, photographed and rectified the
way the runtime rectifies a found plate, cut into field inputs with the runtime's own code.

Each example is a ``make_sample(kind="plates")`` photograph (real road frames or procedural
backgrounds, perspective, light, blur, noise, JPEG) of a plate 40-360 px wide, rectified from
its true corners moved by the kind of error the segmenter makes on real photographs (1.6 % of
the plate width per corner coordinate, 3 % for one plate in seven, and a quad up to 7 % smaller
or 6 % larger: real-dev's corner error is 1.8 % of the plate width against 1.4 % on synthetic
scenes, and a plate edge lost in a dark holder shrinks the quad). Old one-kanji region labels (品, 神...)
appear in 5 % of plates, as what the region classifier must call unknown.

    python -m engines.reader.data OUT_DIR --count 48000 --seed 21 --workers 2

With ``--letter-classes``, every plate's class number has a Latin letter in it (30A, 4PA...):
more of the letters that are about one plate in twelve otherwise, for the class-number
classifier (``python -m engines.reader.train --letter-share`` keeps their share of its batches).

With ``--outlines MODELS_DIR``, each plate is instead drawn in a whole scene and rectified from
the outline that MODELS_DIR's segmenter gives it (the refine pass round its true box,
``Pipeline.follow``): the errors a given segmenter really makes, for a reader fine-tuned to it.
Where that outline loses the plate (or its box overlaps the true one by IoU < 0.5), or the scene
drew a special plate or cut the plate off, the plate is taken as above. ``outlined`` in each
shard says which were.

writes ``OUT_DIR/shard-NNNN.npz``: one uint8 array per field (the classifier inputs, see
``edge.vision.fields``) and ``labels`` (N x 10 class indices, in ``LABEL_COLUMNS`` order).
Examples are a pure function of (seed, index).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from edge.common.boxes import iou
from edge.plates import PlateText, has_letter, region_table
from edge.plates.reading import PLACES, READ_FIELDS, plate_labels
from edge.synth.backgrounds import Backgrounds, default_backgrounds_dir
from edge.synth.scene import make_sample
from edge.synth.texts import random_plate_text
from edge.vision.config import VisionConfig
from edge.vision.fields import FIELD_CROPS, cut
from edge.vision.geometry import rectify, scaled
from edge.vision.pipeline import Pipeline

# label columns: region, class number places 1-3, kana, serial places 1-4, colour
LABEL_COLUMNS = tuple((name, PLACES[name]) for name in READ_FIELDS)
SHARD = 1000
_backgrounds: Backgrounds | None = None
_outliner: Pipeline | None = None
_letter_classes = False


def _old_label(plate: PlateText, rng: np.random.Generator) -> PlateText:
    """The same plate with an old one-kanji label for its region, where one exists."""
    old = [label for label, region in region_table().historical.items() if len(label) == 1]
    return PlateText(old[int(rng.integers(len(old)))], plate.class_number, plate.kana, plate.number, plate.color)


def _plate_text(rng: np.random.Generator, letter_classes: bool) -> PlateText:
    """A random plate; with ``letter_classes``, drawn again until its class number has a letter
    (the texts' own mix among lettered ones)."""
    while True:
        plate = random_plate_text(rng, design_rate=0.1)
        if not letter_classes or has_letter(plate.class_number):
            return plate


def example(seed: int, index: int, backgrounds: Backgrounds | None,
            outliner: Pipeline | None = None, letter_classes: bool = False) -> tuple[np.ndarray, PlateText, bool]:
    """One rectified synthetic plate (336 x 168 BGR), its text, and whether ``outliner``'s
    segmenter outlined it (else its true corners, moved as the module's docstring says)."""
    rng = np.random.default_rng([seed, index, 11])
    plate = _plate_text(rng, letter_classes)
    if rng.random() < 0.05:
        plate = _old_label(plate, rng)
    width = float(np.exp(rng.uniform(np.log(40), np.log(360))))
    if outliner is not None:
        scene = make_sample(seed, index, kind="scenes", backgrounds=backgrounds, plate=plate, width_px=width)
        if not scene.conditions.get("special") and not scene.record()["truncated"]:
            truth = (*scene.corners.min(axis=0), *scene.corners.max(axis=0))
            found = outliner.follow(scene.image, truth)
            if found is not None and iou(truth, found.bbox) >= 0.5:
                return found.rectified, plate, True
    sample = make_sample(seed, index, kind="plates", backgrounds=backgrounds, plate=plate, width_px=width)
    corners = scaled(sample.corners, rng.uniform(0.93, 1.06))
    corners += rng.normal(0, (0.016 if rng.random() < 0.85 else 0.03) * width, corners.shape)
    return rectify(sample.image, corners), plate, False


def labels_row(plate: PlateText) -> list[int]:
    labels = plate_labels(plate)
    return [i for name, _ in LABEL_COLUMNS for i in labels[name]]


def _init(backgrounds_dir: str | None, outlines_dir: str | None = None, letter_classes: bool = False) -> None:
    global _backgrounds, _outliner, _letter_classes
    _letter_classes = letter_classes
    _backgrounds = Backgrounds(backgrounds_dir) if backgrounds_dir else None
    # only ``follow`` is asked (the refine pass round the true plate): no second route, no text detector
    _outliner = (Pipeline(VisionConfig(models_dir=outlines_dir, vehicle_detector=False, read_fields=False,
                                       text_route=False, threads=1)) if outlines_dir else None)


def _shard(job: tuple[str, int, int, int]) -> str:
    out, seed, start, count = job
    path = Path(out) / f"shard-{start // SHARD:04d}.npz"
    if path.exists():
        return str(path)
    cuts: dict[str, list[np.ndarray]] = {name: [] for name in READ_FIELDS}
    rows, texts, outlined = [], [], []
    for index in range(start, start + count):
        rectified, plate, by_outline = example(seed, index, _backgrounds, _outliner, _letter_classes)
        for name in READ_FIELDS:
            cuts[name].append(cut(rectified, FIELD_CROPS[name]))
        rows.append(labels_row(plate))
        texts.append(f"{plate} {plate.color.value}")
        outlined.append(by_outline)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, labels=np.array(rows, np.int16), texts=np.array(texts), outlined=np.array(outlined),
             **{name: np.stack(v) for name, v in cuts.items()})
    tmp.rename(path)  # a shard exists only when complete
    return str(path)


def write_examples(out: Path, count: int, seed: int, workers: int = 2, backgrounds_dir: str | None = None,
                   outlines_dir: str | None = None, letter_classes: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(str(out), seed, start, min(SHARD, count - start)) for start in range(0, count, SHARD)]
    (out / "meta.json").unlink(missing_ok=True)
    t0 = time.time()
    with mp.get_context("spawn").Pool(workers, _init, (backgrounds_dir, outlines_dir, letter_classes)) as pool:
        for k, path in enumerate(pool.imap_unordered(_shard, jobs), 1):
            print(f"{k}/{len(jobs)} {path} {time.time() - t0:.0f}s", flush=True)
    (out / "meta.json").write_text(json.dumps({"count": count, "seed": seed, "backgrounds": backgrounds_dir,
                                               "outlines": outlines_dir, "letter_classes": letter_classes,
                                               "seconds": round(time.time() - t0)}) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=48000)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backgrounds", default=None, help="real road frames (default: ../shared/data/backgrounds)")
    ap.add_argument("--outlines", metavar="MODELS_DIR", default=None,
                    help="rectify each plate from the outline MODELS_DIR's segmenter gives it, in a whole scene")
    ap.add_argument("--letter-classes", action="store_true",
                    help="only plates whose class number has a Latin letter (30A, 4PA...)")
    a = ap.parse_args(argv)
    backgrounds = a.backgrounds or default_backgrounds_dir()
    if a.outlines:
        Pipeline(VisionConfig(models_dir=a.outlines, vehicle_detector=False, read_fields=False,
                              text_route=False))  # fail here, not in a worker; the workers load no text detector either
    write_examples(a.out, a.count, a.seed, a.workers, str(backgrounds) if backgrounds else None, a.outlines,
                   a.letter_classes)


if __name__ == "__main__":
    main()
