"""The temperature for the readings of plates in a band of widths, fitted on a labelled tuning set.

    python -m engines.width_temperature SET [SET ...] [--from 30] [--to 50] [--json]

How `vision.narrow_plate_temperature` was chosen (README, lever 61; lever 47's small-plate
temperature the same way, by a script of then). Each SET is a folder `anpr synth` writes
(images/ and labels.csv, e.g. `--kind stress --conditions "width 45"`), never real-dev. Every image
is read by the pipeline with the default `vision` settings, except that no band is tempered
(`small_plate_width` and `narrow_plate_width` 0); each field of a found plate (matched and scored
as `anpr eval` does: `edge.evaluate.match`, `scored_fields`) whose outline is `--from` to under
`--to` pixels wide and whose confidence is above 0.5 is a sample: its confidence and whether its
value is the label's. The temperature is the one on a grid of 1.00 to 3.00 by 0.05 with the least
negative log-likelihood of right and wrong under `edge.plates.reading.tempered_confidence`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from edge.evaluate import image_files, match, read_labels, scored_fields
from edge.field_score import SURE
from edge.plates.reading import tempered_confidence
from edge.vision.config import VisionConfig
from edge.vision.pipeline import Pipeline, load_image

GRID = tuple(round(1 + 0.05 * i, 2) for i in range(41))
SHOWN = (1.0, 1.1, 1.25, 1.5, 2.0)


@dataclass(frozen=True)
class FieldSample:
    width: float  # the found outline's width, image pixels
    confidence: float
    right: bool


def field_samples(pipeline: Pipeline, folder: Path) -> list[FieldSample]:
    """Every field read on a found plate of ``folder`` that has a label, untempered."""
    labels = read_labels(folder / "labels.csv")
    base, names = image_files(folder, labels)
    out = []
    for name in names:
        wanted = labels.get(name, [])
        plates = pipeline.read_image(load_image(base / name)).plates
        for i, j, _ in match([p.bbox for p in plates], wanted):
            plate, label = plates[i], wanted[j]
            if plate.reading is None:
                continue
            out.extend(FieldSample(plate.width, confidence, right)
                       for _, confidence, _, right in scored_fields(label, plate.reading))
    return out


def negative_log_likelihood(samples: list[FieldSample], temperature: float) -> float:
    """Mean -log P(right or wrong as it was) with each confidence tempered."""
    total = 0.0
    for s in samples:
        q = min(max(tempered_confidence(s.confidence, temperature), 1e-9), 1 - 1e-9)
        total -= math.log(q if s.right else 1 - q)
    return total / len(samples)


def fit_temperature(samples: list[FieldSample]) -> float:
    """The grid's temperature with the least negative log-likelihood (the smallest on a tie)."""
    if not samples:
        raise ValueError("no fields to fit on: no plate of the band was found and read")
    return min(GRID, key=lambda t: (negative_log_likelihood(samples, t), t))


def summary(samples: list[FieldSample], temperature: float) -> dict:
    """The band's figures with ``temperature``: likelihood, fields at 0.99 or more and how many wrong."""
    tempered = [tempered_confidence(s.confidence, temperature) for s in samples]
    sure = [s.right for s, q in zip(samples, tempered) if q >= SURE]
    return {"temperature": temperature,
            "negative_log_likelihood": round(negative_log_likelihood(samples, temperature), 4),
            "sure": len(sure), "sure_wrong": sure.count(False),
            "mean_confidence": round(sum(tempered) / len(tempered), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m engines.width_temperature", description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path, metavar="SET", help="folders with images/ and labels.csv")
    ap.add_argument("--from", dest="low", type=float, default=30.0, help="narrowest plate, px (default 30)")
    ap.add_argument("--to", dest="high", type=float, default=50.0, help="plates narrower than this, px (default 50)")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = ap.parse_args(argv)
    for folder in args.sets:
        if not (folder / "labels.csv").is_file():
            print(f"{folder}: no labels.csv (a folder `anpr synth` writes)", file=sys.stderr)
            return 2
    pipeline = Pipeline(replace(VisionConfig(), small_plate_width=0.0, narrow_plate_width=0.0))
    samples = [s for folder in args.sets for s in field_samples(pipeline, folder)
               if args.low <= s.width < args.high and s.confidence > 0.5]
    try:
        best = fit_temperature(samples)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    rows = [summary(samples, t) for t in sorted({*SHOWN, best})]
    result = {"band_px": [args.low, args.high], "fields": len(samples), "right": sum(s.right for s in samples),
              "temperature": best, "rows": rows}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{len(samples)} fields above 0.5 on plates {args.low:g}-{args.high:g} px, "
          f"right {result['right'] / len(samples):.3f}; fitted temperature {best:.2f}")
    for r in rows:
        print(f"  t {r['temperature']:.2f}: NLL {r['negative_log_likelihood']:.4f}, at 0.99 or more "
              f"{r['sure']} ({r['sure_wrong']} wrong), mean confidence {r['mean_confidence']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
