"""Score the reader against a labelled folder: ``anpr eval DIR --labels labels.csv``.

Finding: recall and false plates (below). Reading, on the readable real plates: per-field
accuracy, exact match (four fields and colour), the commonest mistakes, a reliability table
of the field confidences (on every labelled field of every plate found), grammar checks of
every plate output, and the same rectified plates read by general OCR engines for comparison
(edge/baselines.py).

The folder holds the images (in ``DIR/images/`` or ``DIR`` itself) and a CSV with one row per
plate, in the columns of ../shared/data/real-dev/labels.csv. A predicted plate *finds* a
labelled one when their boxes overlap with IoU >= 0.5 (one to one, best overlap first); a
prediction that finds no labelled plate is a *false plate*. Recall counts real plates labelled
readable (``readable=yes``, ``pasted=no``); every labelled plate, legible or not, pasted or
not, is a plate, so finding one is never false.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.baselines import fields_from_text
from edge.field_score import (GATE_THRESHOLD, SURE, CategoryTally, FieldTally, GateTally, Reliability, grammar_problems,
                               known, labelled_category, rounded, same)
from edge.plates import FIELDS
from edge.plates.reading import READ_FIELDS, Reading
from edge.common.boxes import iou
from edge.vision.pipeline import ImageError, Pipeline, ReadResult, load_image

REQUIRED = ("file", "plate_index", "x1", "y1", "x2", "y2", "region", "class_number", "kana", "serial", "color",
            "readable", "pasted")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MATCH_IOU = 0.5


class LabelError(ValueError):
    """The labels file is malformed; the message names the line and the column."""


@dataclass(frozen=True)
class LabelledPlate:
    file: str
    index: int
    box: tuple[float, float, float, float]
    region: str
    class_number: str
    kana: str
    serial: str
    color: str
    readable: str  # yes | partial | no
    pasted: bool
    condition: str = ""  # a stress suite's condition (optional column ``condition``)

    @property
    def counts_for_recall(self) -> bool:
        """A real plate (not pasted) with every field legible."""
        return self.readable == "yes" and not self.pasted

    @property
    def fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in READ_FIELDS}


def read_labels(path: Path) -> dict[str, list[LabelledPlate]]:
    """Labelled plates by image file name."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise LabelError(f"{path}: missing column(s) {', '.join(missing)}")
            labels: dict[str, list[LabelledPlate]] = {}
            for line, row in enumerate(reader, 2):
                labels.setdefault(row["file"], []).append(_plate(path, line, row))
    except OSError as exc:
        raise LabelError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LabelError(f"{path}: not UTF-8 text") from None
    return labels


def _plate(path: Path, line: int, row: dict) -> LabelledPlate:
    def fail(column, why):
        raise LabelError(f"{path} line {line}, column {column}: {why} (got {row.get(column)!r})")

    if not row.get("file"):
        fail("file", "empty")
    try:
        box = tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2"))
    except (TypeError, ValueError):
        fail("x1", "x1, y1, x2, y2 must be numbers")
    if not (box[2] > box[0] and box[3] > box[1]):
        fail("x2", "the box must have x2 > x1 and y2 > y1")
    try:
        index = int(row["plate_index"])
    except (TypeError, ValueError):
        fail("plate_index", "must be an integer")
    if row["readable"] not in ("yes", "partial", "no"):
        fail("readable", "must be yes, partial or no")
    if row["pasted"] not in ("yes", "no"):
        fail("pasted", "must be yes or no")
    return LabelledPlate(row["file"], index, box, row["region"], row["class_number"], row["kana"], row["serial"],
                         row["color"], row["readable"], row["pasted"] == "yes", (row.get("condition") or "").strip())


def match(predicted: list[list[float]], labelled: list[LabelledPlate]) -> list[tuple[int, int, float]]:
    """(prediction, label, IoU) pairs, one to one, best overlap first, IoU >= MATCH_IOU."""
    pairs = sorted(((iou(p, l.box), i, j) for i, p in enumerate(predicted) for j, l in enumerate(labelled)),
                   reverse=True)
    used_p, used_l, out = set(), set(), []
    for overlap, i, j in pairs:
        if overlap < MATCH_IOU:
            break
        if i not in used_p and j not in used_l:
            used_p.add(i)
            used_l.add(j)
            out.append((i, j, overlap))
    return out


def scored_fields(label: LabelledPlate, reading: Reading) -> list[tuple[str, float, str | None, bool]]:
    """Each field of ``label`` that is known, as read: (field, confidence, best value, right), the
    samples of `anpr eval`'s reliability (a withheld field counts with its best value)."""
    return [(f, reading.fields[f].confidence, reading.best[f], same(f, getattr(label, f), reading.best[f]))
            for f in READ_FIELDS if known(getattr(label, f))]


def corner_error(predicted: list[float], label: tuple[float, ...]) -> float:
    """Mean distance, in pixels, between the four corners of the predicted and labelled boxes.

    The labels give axis-aligned boxes only, so this compares the plate quad's bounding box.
    """
    p = np.float64(predicted)
    q = np.float64(label)
    corners = lambda b: np.array([[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]])
    return float(np.linalg.norm(corners(p) - corners(q), axis=1).mean())


@dataclass
class ImageResult:
    file: str
    plates: list[dict]  # the read contract's plate objects
    found: list[int]  # plate_index of labelled plates found
    missed: list[int]
    false_plates: list[list[float]]
    timing_ms: dict[str, float]
    error: str | None = None
    exact: list[int] = field(default_factory=list)  # plate_index of readable plates read right in every field
    elapsed_ms: float | None = None  # decoding and reading it, as timed here


@dataclass
class ConditionScore:
    """Finding and reading the readable plates of one condition of a stress suite."""

    plates: int = 0
    found: int = 0
    reading: FieldTally = field(default_factory=FieldTally)
    corner_errors: list[float] = field(default_factory=list)  # of each found plate, as a share of its width

    def to_dict(self) -> dict:
        t = self.reading
        wrong = sum(t.given_wrong(name) for name in t.fields)
        return {"plates": self.plates, "recall": rounded(self.found / self.plates if self.plates else None),
                "exact_match": rounded(t.exact_match), **{name: rounded(t.accuracy(name)) for name in READ_FIELDS},
                "fields_wrong": wrong, "fields_withheld": sum(t.withheld.values()),
                "corner_error_of_width": rounded(float(np.mean(self.corner_errors)) if self.corner_errors else None)}


@dataclass
class Report:
    folder: str
    images: int
    failed_images: int
    readable_plates: int
    readable_found: int
    labelled_plates: int
    labelled_found: int
    false_plates: int
    misplaced: int  # false plates that overlap a labelled plate (0.1 < IoU < 0.5): found, but badly outlined
    corner_error_px: float | None
    corner_error_rel: float | None
    time_ms_mean: float
    time_ms_p95: float
    stage_ms_mean: dict[str, float]
    per_image: list[ImageResult] = field(default_factory=list)
    labels: dict[str, list[LabelledPlate]] = field(default_factory=dict, repr=False)
    reading: FieldTally = field(default_factory=FieldTally)  # ours, on the readable real plates
    baselines: dict[str, FieldTally | str] = field(default_factory=dict)  # name -> tally, or why not run
    reliability: Reliability = field(default_factory=Reliability)
    plates_output: int = 0
    invalid: list[str] = field(default_factory=list)  # "file: problem" for grammar-invalid outputs
    conditions: dict[str, ConditionScore] = field(default_factory=dict)  # a stress suite's, in label order
    sure_mistakes: list[dict] = field(default_factory=list)  # fields read wrong at >= SURE confidence (each one listed)
    category: CategoryTally = field(default_factory=CategoryTally)  # what the gate checks of the colour
    gate: GateTally = field(default_factory=GateTally)  # readable plates' readings the gate would take, and wrongly
    gate_mistakes: list[dict] = field(default_factory=list)  # each reading taken wrong

    @property
    def recall(self) -> float | None:
        return self.readable_found / self.readable_plates if self.readable_plates else None

    @property
    def false_per_image(self) -> float:
        return self.false_plates / max(self.images - self.failed_images, 1)

    def to_dict(self) -> dict:
        return {
            "folder": self.folder, "images": self.images, "failed_images": self.failed_images,
            "recall_readable": rounded(self.recall), "readable_plates": self.readable_plates,
            "readable_found": self.readable_found, "labelled_plates": self.labelled_plates,
            "labelled_found": self.labelled_found, "false_plates": self.false_plates,
            "false_plates_on_a_labelled_plate": self.misplaced,
            "false_plates_per_image": rounded(self.false_per_image),
            "corner_error_px": rounded(self.corner_error_px, 1), "corner_error_of_width": rounded(self.corner_error_rel),
            "time_ms_mean": round(self.time_ms_mean, 1), "time_ms_p95": round(self.time_ms_p95, 1),
            "stage_ms_mean": self.stage_ms_mean,
            "reading": self.reading.to_dict(),
            "baselines": {name: t if isinstance(t, str) else t.to_dict() for name, t in self.baselines.items()},
            "reliability": self.reliability.rows(),
            "calibration_error": self.reliability.calibration_error(),
            "plates_output": self.plates_output, "grammar_invalid_outputs": len(self.invalid),
            "grammar_invalid": self.invalid,
            "sure_mistakes": self.sure_mistakes,
            "category": self.category.to_dict(),
            "gate": {**self.gate.to_dict(), "mistakes": self.gate_mistakes},
            "conditions": {name: c.to_dict() for name, c in self.conditions.items()},
            "per_image": [{"file": r.file, "found": r.found, "missed": r.missed, "exact": r.exact,
                           "false_plates": r.false_plates, "error": r.error, "timing_ms": r.timing_ms,
                           "plates": r.plates} for r in self.per_image],
        }

    def table(self) -> str:
        def pct(v):
            return "n/a" if v is None else f"{v:.3f}"

        rows = [
            ("images", f"{self.images}" + (f" ({self.failed_images} unreadable)" if self.failed_images else "")),
            ("plate recall, readable real plates (IoU >= 0.5)",
             f"{pct(self.recall)}  ({self.readable_found}/{self.readable_plates})"),
            ("plates found, all labelled", f"{self.labelled_found}/{self.labelled_plates}"),
            ("false plates per image", f"{self.false_per_image:.3f}  ({self.false_plates} in all, "
                                       f"{self.misplaced} of them on a labelled plate but badly outlined)"),
            ("mean corner error, readable plates found",
             "n/a" if self.corner_error_px is None else
             f"{self.corner_error_px:.1f} px  ({self.corner_error_rel:.3f} of plate width)"),
            ("time per image", f"{self.time_ms_mean:.0f} ms mean, {self.time_ms_p95:.0f} ms p95  ("
             + ", ".join(f"{k} {v:.0f}" for k, v in self.stage_ms_mean.items() if k != "total") + ")"),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        misses = [f"{r.file}#{i}" for r in self.per_image for i in r.missed
                  if any(l.index == i and l.counts_for_recall for l in self.labels.get(r.file, []))]
        if misses:
            lines.append("missed readable plates: " + ", ".join(misses))
        falses = [f"{r.file} {[round(v) for v in b]}" for r in self.per_image for b in r.false_plates]
        if falses:
            lines.append("false plates: " + "; ".join(falses))
        failed = [f"{r.file}: {r.error}" for r in self.per_image if r.error]
        if failed:
            lines.append("unreadable images: " + "; ".join(failed))
        if self.reading.plates:
            lines += ["", self.reading_table()]
        if self.conditions:
            lines += ["", self.condition_table()]
        return "\n".join(lines)

    CONDITION_COLUMNS = ("plates", "recall", "exact_match", *READ_FIELDS, "fields_wrong", "fields_withheld",
                         "corner_error_of_width")
    CONDITION_RATES = ("recall", "exact_match", *READ_FIELDS)  # the columns that are shares, 0 to 1

    def condition_rows(self) -> list[list[str]]:
        """The stress suite condition by condition: header, then one row each."""
        def fmt(v, key):
            if v is None:
                return "n/a"
            if isinstance(v, int):
                return str(v)
            return f"{v:.3f}" if key == "corner_error_of_width" else f"{v:.2f}"
        rows = [["condition", *(c.replace("_", " ") for c in self.CONDITION_COLUMNS)]]
        for name, c in self.conditions.items():
            d = c.to_dict()
            rows.append([name, *(fmt(d[k], k) for k in self.CONDITION_COLUMNS)])
        return rows

    def condition_table(self) -> str:
        rows = self.condition_rows()
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
        lines = ["by condition (readable plates of each; recall at IoU >= 0.5, fields over all of them):"]
        lines += ["  " + "  ".join(f"{v:<{widths[k]}}" for k, v in enumerate(r)).rstrip() for r in rows]
        return "\n".join(lines)

    def reading_table(self) -> str:
        """Per-field accuracy, exact match and time per plate, ours beside each baseline."""
        readers = {"ours": self.reading, **self.baselines}
        def cell(t, f):
            return t if isinstance(t, str) else f(t)

        def fmt(v, digits=3):
            return "n/a" if v is None else f"{v:.{digits}f}"

        rows = [(f"reading {self.reading.plates} readable real plates", *readers)]
        for name in READ_FIELDS:
            rows.append((f"  {name}", *(cell(t, lambda t: fmt(t.accuracy(name)) if name in t.fields else "not read")
                                       for t in readers.values())))
        rows.append(("  exact match", *(cell(t, lambda t: fmt(t.exact_match) + ("" if "color" in t.fields
                                                                                  else " (4 fields)"))
                                        for t in readers.values())))
        rows.append(("  time per plate, ms", *(cell(t, lambda t: fmt(t.ms_per_plate, 1)) for t in readers.values())))
        widths = [max(len(str(r[k])) for r in rows if len(r) > k) for k in range(len(rows[0]))]
        lines = ["  ".join(f"{str(v):<{widths[k]}}" for k, v in enumerate(r)).rstrip() for r in rows]
        withheld = ", ".join(f"{k} {v}" for k, v in self.reading.withheld.items())
        lines.append(f"fields withheld (null) on readable plates: {withheld or 'none'}")
        lines.append(f"grammar-invalid outputs: {len(self.invalid)} of {self.plates_output} plates output"
                     + ("".join(f"\n  {p}" for p in self.invalid[:10])))
        mistakes = self.reading.commonest(8)
        lines.append("commonest mistakes: " + ("; ".join(f"{f} {label} -> {value} ({c})"
                                                       for f, label, value, c in mistakes) or "none"))
        lines.append(f"reliability of field confidences ({len(self.reliability.samples)} labelled fields of found "
                     f"plates; calibration error {fmt(self.reliability.calibration_error())}):")
        lines += [f"  confidence {r['confidence']}: {r['fields']:>5} fields, mean {r['mean_confidence']:.3f}, "
                  f"right {r['accuracy']:.3f}" for r in self.reliability.rows()]
        c = self.category
        lines.append(f"category (kei/private...: what the gate checks of the colour): right {c.right} of {c.scored}, "
                     f"withheld {c.withheld}, wrong at >= {GATE_THRESHOLD} {c.wrong_at_gate} (>= {SURE}: {c.wrong_sure})")
        pasted = sum(m["pasted"] for m in self.sure_mistakes)  # a plate pasted onto the photo is no real plate
        lines.append(f"fields read wrong at >= {SURE} confidence: {len(self.sure_mistakes)}"
                     + (f" ({pasted} of them on pasted plates)" if pasted else "")
                     + "".join(f"\n  {m['file']}#{m['plate_index']} {m['field']}: {m['label']} read as {m['read']} "
                               f"at {m['confidence']:.4f}" + (" (pasted plate)" if m["pasted"] else "")
                               for m in self.sure_mistakes))
        g = self.gate
        lines.append(f"readings the gate would take (every printed field, and the category where the colour was seen, "
                     f"at >= {GATE_THRESHOLD}): {g.taken} of {g.plates} readable plates found; taken wrong: {g.taken_wrong}"
                     + "".join(f"\n  {m['file']}#{m['plate_index']} {m['label']} read as {m['read']} "
                               f"({', '.join(m['fields'])} wrong)" for m in self.gate_mistakes))
        return "\n".join(lines)


def image_files(folder: Path, labels: dict[str, list[LabelledPlate]]) -> tuple[Path, list[str]]:
    """The folder holding the images and every image name to score: those present and those labelled."""
    base = folder / "images" if (folder / "images").is_dir() else folder
    present = {p.name for p in base.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES} if base.is_dir() else set()
    return base, sorted(present | set(labels))


def evaluate(pipeline: Pipeline, folder: Path, labels: dict[str, list[LabelledPlate]], progress=None,
             baselines: dict[str, object] | None = None) -> Report:
    """Run the pipeline on every image of ``folder`` and score it against ``labels``.

    ``baselines``: name -> an OCR engine with ``read(rectified) -> text`` (edge/baselines.py),
    or a string saying why it is not run.
    """
    base, names = image_files(folder, labels)
    scoring = _Scoring(labels, baselines)
    for name in names:
        start = time.perf_counter()
        try:
            result = pipeline.read_image(load_image(base / name))
        except ImageError as exc:
            scoring.failed(name, exc)
            continue
        scoring.add(name, result, (time.perf_counter() - start) * 1e3)
        if progress:
            progress(scoring.results[-1])
    return scoring.report(folder)


def compare(first: Pipeline, second: Pipeline, folder: Path, labels: dict[str, list[LabelledPlate]]) -> Comparison:
    """Both pipelines over the same images, scored apart, taking turns image by image (the first
    reads first on even images, the second on odd ones), so that their times are taken under the
    same load and any drift in it falls on both. Each image is decoded once; its decoding time
    counts in both times, as in ``evaluate``. No baselines."""
    base, names = image_files(folder, labels)
    scorings = (_Scoring(labels, None), _Scoring(labels, None))
    for k, name in enumerate(names):
        start = time.perf_counter()
        try:
            image = load_image(base / name)
        except ImageError as exc:
            for scoring in scorings:
                scoring.failed(name, exc)
            continue
        decode_ms = (time.perf_counter() - start) * 1e3
        for which in ((0, 1) if k % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            result = (first, second)[which].read_image(image)
            scorings[which].add(name, result, decode_ms + (time.perf_counter() - start) * 1e3)
    return Comparison(*(s.report(folder) for s in scorings))


@dataclass(frozen=True)
class Comparison:
    """Two model folders' reports on the same images (``compare``), and where they differ."""

    first: Report
    second: Report

    def time_ratio(self) -> float | None:
        """The median over images of the second's time over the first's."""
        ratios = [b.elapsed_ms / a.elapsed_ms for a, b in zip(self.first.per_image, self.second.per_image)
                  if a.elapsed_ms and b.elapsed_ms]
        return float(np.median(ratios)) if ratios else None

    def changed(self, what: str) -> dict[str, list[str]]:
        """Readable plates (``file#index``) the second finds (``what="found"``) or reads exactly
        (``"exact"``) and the first does not (gained), and the other way round (lost)."""
        def plates(report):
            readable = {(f, l.index) for f, ls in report.labels.items() for l in ls if l.counts_for_recall}
            return {(r.file, i) for r in report.per_image for i in getattr(r, what) if (r.file, i) in readable}

        a, b = plates(self.first), plates(self.second)
        return {"gained": [f"{f}#{i}" for f, i in sorted(b - a)], "lost": [f"{f}#{i}" for f, i in sorted(a - b)]}

    def condition_changes(self) -> dict[str, dict[str, list[int]]]:
        """Stress conditions whose found or exact counts differ: name -> {"found": [first, second], "exact": [...]}."""
        out = {}
        for name, a in self.first.conditions.items():
            b = self.second.conditions.get(name, ConditionScore())
            pair = {"found": [a.found, b.found], "exact": [a.reading.exact, b.reading.exact]}
            if pair["found"][0] != pair["found"][1] or pair["exact"][0] != pair["exact"][1]:
                out[name] = pair
        return out

    def rows(self) -> list[tuple[str, str, str]]:
        """Figure, first, second: the figures a change is decided on."""
        def fmt(v, digits=4):
            return "n/a" if v is None else f"{v:.{digits}f}"

        def share(n, of):
            return f"{n}/{of}" + ("" if not of else f" ({n / of:.3f})")

        rows = [("readable plates found", *(share(r.readable_found, r.readable_plates) for r in self.reports)),
                ("read exactly", *(share(r.reading.exact, r.reading.plates) for r in self.reports))]
        rows += [(f"  {name}", *(fmt(r.reading.accuracy(name)) for r in self.reports)) for name in READ_FIELDS]
        rows += [(f"  {name}: right / withheld / given wrong",
                  *(f"{r.reading.right[name]} / {r.reading.withheld[name]} / {r.reading.given_wrong(name)}"
                    for r in self.reports)) for name in READ_FIELDS]
        rows += [("false plates per image", *(f"{r.false_per_image:.3f}" for r in self.reports)),
                 (f"fields wrong at >= {SURE}", *(str(len(r.sure_mistakes)) for r in self.reports)),
                 (f"category wrong at >= {GATE_THRESHOLD}", *(str(r.category.wrong_at_gate) for r in self.reports)),
                 ("readings the gate would take, wrong", *(f"{r.gate.taken_wrong} of {r.gate.taken}" for r in self.reports)),
                 ("calibration error", *(fmt(r.reliability.calibration_error()) for r in self.reports)),
                 ("grammar-invalid outputs", *(str(len(r.invalid)) for r in self.reports)),
                 ("time per image, mean ms", *(f"{r.time_ms_mean:.1f}" for r in self.reports))]
        return rows

    @property
    def reports(self) -> tuple[Report, Report]:
        return self.first, self.second

    def to_dict(self) -> dict:
        ratio = self.time_ratio()
        return {"first": self.first.to_dict(), "second": self.second.to_dict(),
                "time_ratio_median": None if ratio is None else round(ratio, 3),
                "found": self.changed("found"), "exact": self.changed("exact"),
                "conditions_changed": self.condition_changes()}

    def table(self, names: tuple[str, str]) -> str:
        """Side by side, then the plates and conditions that differ. ``names``: how to call the two."""
        rows = [("", *names), *self.rows()]
        widths = [max(len(r[k]) for r in rows) for k in range(3)]
        lines = ["  ".join(f"{v:<{widths[k]}}" for k, v in enumerate(r)).rstrip() for r in rows]
        ratio = self.time_ratio()
        lines.append("time per image, second over first (median over images, read in turns): "
                     + ("n/a" if ratio is None else f"{ratio:.3f}"))
        for what, verb in (("found", "found"), ("exact", "read exactly")):
            change = self.changed(what)
            for way, who in (("gained", "the second"), ("lost", "the first")):
                if change[way]:
                    lines.append(f"{verb} by {who} only ({len(change[way])}): " + ", ".join(change[way]))
        for name, pair in self.condition_changes().items():
            lines.append(f"condition {name}: found {pair['found'][0]} -> {pair['found'][1]}, "
                         f"exact {pair['exact'][0]} -> {pair['exact'][1]}")
        return "\n".join(lines)


class _Scoring:
    """One reader's tallies over a labelled folder, image by image."""

    def __init__(self, labels: dict[str, list[LabelledPlate]], baselines: dict[str, object] | None):
        self.labels = labels
        self.reading, self.reliability = FieldTally(), Reliability()
        self.engines = {k: v for k, v in (baselines or {}).items() if not isinstance(v, str)}
        self.tallies: dict[str, FieldTally | str] = {k: v if isinstance(v, str) else FieldTally(fields=READ_FIELDS[:4])
                                                     for k, v in (baselines or {}).items()}
        self.plates_output, self.invalid, self.sure_mistakes, self.category = 0, [], [], CategoryTally()
        self.gate, self.gate_mistakes = GateTally(), []
        self.conditions: dict[str, ConditionScore] = {}
        self.results: list[ImageResult] = []
        self.stages = {}
        self.found_r = self.total_r = self.found_all = self.total_all = self.false = self.misplaced = 0
        self.errors_px, self.errors_rel = [], []

    def _wanted(self, name: str) -> list[LabelledPlate]:
        """Image ``name``'s labelled plates, counted into the totals."""
        wanted = self.labels.get(name, [])
        self.total_r += sum(l.counts_for_recall for l in wanted)
        self.total_all += len(wanted)
        return wanted

    def failed(self, name: str, exc: ImageError) -> None:
        """An image that could not be read: its plates are missed."""
        wanted = self._wanted(name)
        self.results.append(ImageResult(name, [], [], [l.index for l in wanted], [], {}, error=str(exc)))

    def add(self, name: str, result: ReadResult, elapsed_ms: float) -> None:
        """What the pipeline read in image ``name``, in ``elapsed_ms``."""
        wanted = self._wanted(name)
        for k, v in result.timing_ms.items():
            self.stages.setdefault(k, []).append(v)
        boxes = [p.bbox for p in result.plates]
        pairs = match(boxes, wanted)
        matched_p = {i for i, _, _ in pairs}
        error_of_width = {}  # label index -> its found plate's corner error as a share of its width
        for i, j, _ in pairs:
            label, plate = wanted[j], result.plates[i]
            if label.counts_for_recall:
                self.found_r += 1
                err = corner_error(boxes[i], label.box)
                self.errors_px.append(err)
                error_of_width[j] = err / (label.box[2] - label.box[0])
                self.errors_rel.append(error_of_width[j])
            if plate.reading is not None:
                for f, confidence, value, right in scored_fields(label, plate.reading):
                    self.reliability.add(confidence, right)
                    if confidence >= SURE and not right:
                        self.sure_mistakes.append({"file": name, "plate_index": label.index, "field": f,
                                                   "label": getattr(label, f), "read": value,
                                                   "confidence": round(float(confidence), 4),
                                                   "condition": label.condition or None, "pasted": label.pasted})
                if (truth := labelled_category(label.fields)) is not None:
                    read = plate.reading.category_reading
                    self.category.add(truth, read.value, read.confidence)
                if label.counts_for_recall and (wrong := self.gate.add(label.fields, plate.reading, plate.color_seen)):
                    self.gate_mistakes.append({"file": name, "plate_index": label.index, "fields": wrong,
                                               "label": " ".join(getattr(label, f) for f in FIELDS),
                                               "read": plate.reading.spelled("?"), "condition": label.condition or None})
        by_label = {j: result.plates[i] for i, j, _ in pairs}
        exact = []
        for j, label in enumerate(wanted):
            if not label.counts_for_recall:
                continue
            plate = by_label.get(j)
            read = {f: getattr(plate, f) for f in READ_FIELDS} if plate is not None and plate.reading else None
            if self.reading.add(label.fields, read):
                exact.append(label.index)
            if read is not None:
                self.reading.timed(result.timing_ms.get("read", 0.0) / 1e3 / len(result.plates))
            if label.condition:
                score = self.conditions.setdefault(label.condition, ConditionScore())
                score.plates += 1
                score.found += plate is not None
                if plate is not None:
                    score.corner_errors.append(error_of_width[j])
                score.reading.add(label.fields, read)
            for engine_name, engine in self.engines.items():
                tally = self.tallies[engine_name]
                if plate is None:
                    tally.add(label.fields, None)
                    continue
                t = time.perf_counter()
                text = engine.read(plate.rectified)
                tally.timed(time.perf_counter() - t)
                tally.add(label.fields, vars(fields_from_text(text)))
        for p in result.plates:
            if p.reading is not None:
                self.plates_output += 1
                self.invalid += [f"{name}: {why}" for why in grammar_problems(p.to_dict())]
        self.found_all += len(pairs)
        falses = [b for i, b in enumerate(boxes) if i not in matched_p]
        self.false += len(falses)
        self.misplaced += sum(any(iou(b, l.box) > 0.1 for l in wanted) for b in falses)
        found = sorted(wanted[j].index for _, j, _ in pairs)
        self.results.append(ImageResult(name, [p.to_dict() for p in result.plates], found,
                                        sorted({l.index for l in wanted} - set(found)), falses, result.timing_ms,
                                        exact=sorted(exact), elapsed_ms=elapsed_ms))

    def report(self, folder: Path) -> Report:
        """The report of every image added or failed so far."""
        totals = [r.elapsed_ms for r in self.results if r.error is None]
        return Report(
            folder=str(folder), images=len(self.results), failed_images=sum(r.error is not None for r in self.results),
            readable_plates=self.total_r, readable_found=self.found_r, labelled_plates=self.total_all,
            labelled_found=self.found_all, false_plates=self.false, misplaced=self.misplaced,
            corner_error_px=float(np.mean(self.errors_px)) if self.errors_px else None,
            corner_error_rel=float(np.mean(self.errors_rel)) if self.errors_rel else None,
            time_ms_mean=float(np.mean(totals)) if totals else 0.0,
            time_ms_p95=float(np.percentile(totals, 95)) if totals else 0.0,
            stage_ms_mean={k: round(float(np.mean(v)), 1) for k, v in self.stages.items()}, per_image=self.results,
            labels=self.labels, reading=self.reading, baselines=self.tallies, reliability=self.reliability,
            plates_output=self.plates_output, invalid=self.invalid, sure_mistakes=self.sure_mistakes,
            category=self.category, gate=self.gate, gate_mistakes=self.gate_mistakes,
            conditions=dict(sorted(self.conditions.items(), key=lambda kv: _level_order(kv[0]))))


def _level_order(name: str) -> tuple[int, str]:
    """A stress suite's conditions in the suite's own order, others after them by name."""
    from edge.synth.stress import LEVELS  # noqa: PLC0415 - the suite's order, only when there is one

    names = [level.name for level in LEVELS]
    return (names.index(name), "") if name in names else (len(names), name)
