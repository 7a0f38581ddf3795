"""The field classifiers at run time: from rectified plates to calibrated probabilities per field.

Five small networks (engines/reader), one per field: region name, class number (3 places),
kana, serial (4 places) and colour (each file may hold an ensemble, engines/reader/ensemble.py,
read the same way). Each reads its own cut of the rectified plate
(edge/vision/fields.py); its logits are divided by the temperature in its manifest, so the
probabilities are calibrated. Decoding them into a plate is edge/plates/reading.py's job.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.common.workers import pool
from edge.plates.reading import PLACES, READ_FIELDS, vocabularies
from edge.vision.backend import OnnxRuntimeBackend, default_threads, load_backend
from edge.vision.fields import FIELD_CROPS, FieldCrop, cut, to_input
from edge.vision.manifest import DEFAULT_MODELS_DIR, ModelError, load_manifest, model_file

# How much colour a plate must show to count as seen in colour: the mean spread between its
# colour channels on a 48 x 24 copy (the averaging removes sensor noise). Measured here: real
# colour photographs' plates 3.5 to 134, the same photos turned grey 0, synthetic infrared
# frames (grey plus per-channel noise) up to 1.4.
GREY_CHROMA = 2.5


def shows_color(view: np.ndarray) -> bool:
    """Whether a rectified plate (BGR) was seen in colour, not by an infrared or monochrome camera."""
    small = cv2.resize(view, (48, 24), interpolation=cv2.INTER_AREA).astype(np.float32)
    return float((small.max(axis=2) - small.min(axis=2)).mean()) > GREY_CHROMA


MODEL_NAMES = {"region": "read-region", "class_number": "read-class-number", "kana": "read-kana",
               "serial": "read-serial", "color": "read-color"}


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def side_by_side_workers(setting: str | bool, precision: str, threads: int | None) -> int:
    """Workers that run the five field classifiers at once, each on one thread of its own
    (``vision.side_by_side``), or 0: one after another, each on all ``threads``. "auto" means at
    once for INT8 copies, where it was measured faster on ONNX Runtime (README, lever 50: between
    two runs of one small model the others have run, its second thread has gone to sleep, and
    waking it costs more than it saves; in FP32 it was slower); ``FieldReader`` keeps "auto" to
    ONNX Runtime. The same results come out either way."""
    workers = threads or default_threads()
    wanted = precision == "int8" if setting == "auto" else bool(setting)
    return workers if wanted and workers > 1 else 0


class FieldClassifier:
    """One field's network, checked against this version's crops and plate vocabularies."""

    def __init__(self, field: str, models_dir: Path, backend: str = "auto", threads: int | None = None,
                 precision: str = "fp32", plans_dir: str | Path | None = None):
        self.field = field
        self.manifest = load_manifest(model_file(models_dir, MODEL_NAMES[field], precision))
        data = self.manifest.data
        expected = list(vocabularies()[field])
        if self.manifest.classes != expected:
            raise ModelError(f"{self.manifest.path.name} was trained on other {field} classes than this version's "
                             "plate rules: retrain it (`make train-reader`)")
        crop = FIELD_CROPS[field]
        cut_spec = data["input"].get("cut", {})
        if FieldCrop(tuple(cut_spec.get("box", ())), tuple(cut_spec.get("size", ())),
                     bool(cut_spec.get("color"))) != crop:
            raise ModelError(f"{self.manifest.path.name} was trained on another cut of the plate than "
                             f"edge/vision/fields.py makes: retrain it (`make train-reader`)")
        self.temperature = float(data.get("calibration", {}).get("temperature", 1.0))
        if not 0.05 <= self.temperature <= 20:
            raise ModelError(f"{self.manifest.path.name}: calibration temperature {self.temperature} is implausible")
        self.crop = crop
        self.input, self.output = data["input"]["name"], data["output"]["name"]
        self.backend = load_backend(self.manifest.path, backend, threads, plans_dir)

    def probabilities(self, rectified: list[np.ndarray]) -> np.ndarray:
        """N x places x classes calibrated probabilities for N rectified plates."""
        return self.of_cuts(np.stack([cut(r, self.crop) for r in rectified]))

    def of_cuts(self, cuts: np.ndarray) -> np.ndarray:
        """The same for N cuts already made (``edge.vision.fields.cut``)."""
        logits = self.backend.run({self.input: to_input(cuts)})[self.output].astype(np.float64) / self.temperature
        return softmax(logits)


class FieldReader:
    """All five classifiers; ``read`` gives each plate's probabilities in the form ``decode`` takes.

    ``side_by_side`` (``vision.side_by_side``, ``side_by_side_workers`` above): the five run at once on a
    pool of workers, each on one thread of its own, the largest cut first, instead of one after
    another on all the threads ("auto": INT8 copies on ONNX Runtime; the same probabilities)."""

    def __init__(self, models_dir: str | Path | None = None, backend: str = "auto", threads: int | None = None,
                 precision: str = "fp32", plans_dir: str | Path | None = None, side_by_side: str | bool = "auto"):
        models = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
        self.workers = side_by_side_workers(side_by_side, precision, threads)
        self.classifiers = {field: FieldClassifier(field, models, backend, 1 if self.workers else threads, precision,
                                                   plans_dir)
                            for field in READ_FIELDS}
        if side_by_side == "auto" and not all(isinstance(c.backend, OnnxRuntimeBackend)
                                              for c in self.classifiers.values()):
            self.workers = 0
        # the largest cut first, so that the workers finish together
        self.order = sorted(READ_FIELDS, key=lambda f: -np.prod(self.classifiers[f].crop.size))

    def read(self, rectified: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        if not rectified:
            return []
        if self.workers:
            workers = pool(f"field-classifiers-{self.workers}", self.workers)
            running = [(field, workers.submit(self.classifiers[field].probabilities, rectified)) for field in self.order]
            probs = {field: job.result() for field, job in running}
        else:
            probs = {field: c.probabilities(rectified) for field, c in self.classifiers.items()}
        # a field of one place hands over its distribution itself, the others one row per place
        return [{field: probs[field][i, 0] if PLACES[field] == 1 else probs[field][i] for field in READ_FIELDS}
                for i in range(len(rectified))]

    def read_views(self, views: list[list[np.ndarray]]) -> list[dict[str, np.ndarray]]:
        """Each plate read from several rectified views of it (one batch), probabilities averaged."""
        flat = self.read([view for plate in views for view in plate])
        out, start = [], 0
        for plate in views:
            mine = flat[start:start + len(plate)]
            out.append({field: np.mean([p[field] for p in mine], axis=0) for field in READ_FIELDS})
            start += len(plate)
        return out
