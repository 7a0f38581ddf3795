"""A second opinion on the region name (地名) from a recogniser trained on real text: the PP-OCRv4
text recogniser that ships inside the RapidOCR wheel (`make models` takes it out, as
``engines/models/ppocr-rec.onnx`` with its manifest).

Its text is never used. Its per-column character probabilities are scored against each of the
138 region names with the CTC forward algorithm (how likely the recogniser is to spell exactly
that name), which turns them into a distribution over the names; where our own region
classifier is unsure (its best name under ``vision.second_opinion_below``), the two are combined
log-linearly (``vision.second_opinion_weight``). The recogniser was trained on Chinese text: a
Japanese kanji it does not know is scored as the simplified or look-alike forms it does know
(``_ALTERNATIVES``), and a character with none (hiragana) as "some character", at a penalty, so
a name it cannot spell is neither favoured nor ruled out.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import cv2
import numpy as np

from edge.plates.regions import region_table
from edge.vision.backend import load_backend
from edge.vision.fields import FieldCrop, cut
from edge.vision.manifest import load_manifest

WILDCARD_PENALTY = 0.05  # a character the recogniser cannot spell: any character, at this share
HEIGHT = 48  # the recogniser's input height
MIN_WIDTH = 320  # its usual padded width
# The region cell of the rectified plate, in colour, at about the recogniser's height: the
# region classifier's cut (edge/vision/fields.py) without most of its margin into the class number.
REGION_CROP = FieldCrop((0.15, 0.02, 0.53, 0.40), (128, 64), color=True)


def _is_mark(ch: str) -> bool:
    """Punctuation, symbols and spaces: on a plate, bolts, rivets and the seal, not letters."""
    return unicodedata.category(ch)[0] in "PSZ"


def greedy_text(probs: np.ndarray, characters: list[str]) -> str:
    """The recogniser's best path, collapsed (for building the alternatives, never for reading)."""
    out, prev = [], 0
    for k in probs.argmax(axis=1):
        if k != prev and k != 0 and not _is_mark(characters[k]):
            out.append(characters[k])
        prev = k
    return "".join(out)


def ctc_log_likelihood(log_probs: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """log P(sequence n | frames) under CTC (the forward algorithm), for N sequences at once.

    ``log_probs``: N x T x (L+1), per frame the log-probability of the blank (column 0) and of
    sequence n's i-th character (column i). ``labels``: N x L ids, only compared with each other
    (a character repeated next to itself needs a blank between). ``lengths``: each sequence's length.
    """
    n, t_len, _ = log_probs.shape
    max_len = labels.shape[1]
    s_len = 2 * max_len + 1
    # extended sequence: blank, c1, blank, c2, ..., blank; column index into log_probs
    ext = np.zeros((n, s_len), dtype=np.int64)
    ext[:, 1::2] = np.arange(1, max_len + 1)
    # a skip from s-2 to s is allowed when s is a character different from s-2 (always true
    # here except for a repeated character)
    same = np.zeros((n, s_len), dtype=bool)
    same[:, 3::2] = labels[:, 1:] == labels[:, :-1]
    valid = np.arange(s_len)[None, :] < (2 * lengths[:, None] + 1)
    neg = -1e30
    emit = np.take_along_axis(log_probs, np.broadcast_to(ext[:, None, :], (n, t_len, s_len)), axis=2)
    alpha = np.full((n, s_len), neg)
    alpha[:, 0] = emit[:, 0, 0]
    alpha[:, 1] = np.where(lengths > 0, emit[:, 0, 1], neg)
    for t in range(1, t_len):
        prev1 = np.concatenate([np.full((n, 1), neg), alpha[:, :-1]], axis=1)
        prev2 = np.concatenate([np.full((n, 2), neg), alpha[:, :-2]], axis=1)
        skip_ok = (np.arange(s_len)[None, :] % 2 == 1) & ~same
        prev2 = np.where(skip_ok, prev2, neg)
        alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + emit[:, t, :]
        alpha = np.where(valid, alpha, neg)
    last = 2 * lengths
    end = np.take_along_axis(alpha, last[:, None], axis=1)[:, 0]
    before = np.take_along_axis(alpha, np.maximum(last - 1, 0)[:, None], axis=1)[:, 0]
    return np.logaddexp(end, np.where(lengths > 0, before, neg))


class RegionSecondOpinion:
    """``distribution(rectified plates) -> N x 138`` probabilities over the region names."""

    def __init__(self, model: str | Path, backend: str = "auto", threads: int | None = None,
                 temperature: float = 1.0, alternatives: dict[str, list[str]] | None = None):
        self.manifest = load_manifest(model)
        self.backend = load_backend(self.manifest.path, backend, threads)
        self.input, self.output = self.manifest.input["name"], self.manifest.data["output"]["name"]
        self.temperature = temperature
        self.characters = self.manifest.classes  # column 0 is CTC's blank
        self.marks = np.array([i for i, c in enumerate(self.characters) if i > 0 and _is_mark(c)])
        index = {c: i for i, c in enumerate(self.characters) if i > 0 and not _is_mark(c)}
        other = self.manifest.data.get("alternatives", {}) if alternatives is None else alternatives
        self.names = region_table().names()
        self.spellings: list[list[list[int]]] = []  # per name, per character: the columns it may be read as
        for name in self.names:
            spelled = []
            for ch in name:
                forms = dict.fromkeys([ch, *other.get(ch, [])])
                spelled.append([index[c] for c in forms if c in index])  # [] : a wildcard
            self.spellings.append(spelled)
        self.max_len = max(len(s) for s in self.spellings)
        # names it can spell in full (no wildcard): the only ones its opinion moves
        self.spelled = np.array([all(cols for cols in spelled) for spelled in self.spellings])

    def _input(self, crops: list[np.ndarray]) -> np.ndarray:
        widths = [max(8, math.ceil(HEIGHT * c.shape[1] / c.shape[0])) for c in crops]
        width = max(MIN_WIDTH, *widths)
        batch = np.zeros((len(crops), 3, HEIGHT, width), np.float32)
        for i, (crop, w) in enumerate(zip(crops, widths)):
            rgb = crop if crop.ndim == 3 else cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
            x = cv2.resize(rgb, (w, HEIGHT), interpolation=cv2.INTER_AREA).astype(np.float32)
            batch[i, :, :, :w] = ((x / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        return batch

    def frames(self, crops: list[np.ndarray]) -> np.ndarray:
        """N x T x C per-frame character probabilities of the recogniser; marks (a bolt read as
        a dot) count as blank."""
        probs = self.backend.run({self.input: self._input(crops)})[self.output].astype(np.float64)
        if self.marks.size:
            probs[:, :, 0] += probs[:, :, self.marks].sum(axis=2)
            probs[:, :, self.marks] = 0.0
        return probs

    def log_likelihoods(self, probs: np.ndarray) -> np.ndarray:
        """138 log-likelihoods for one crop's T x C frame probabilities."""
        t_len = probs.shape[0]
        names = len(self.spellings)
        per = np.full((names, t_len, self.max_len + 1), 1e-30)
        per[:, :, 0] = probs[:, 0]
        non_blank = 1.0 - probs[:, 0]
        for n, spelled in enumerate(self.spellings):
            for i, cols in enumerate(spelled):
                per[n, :, i + 1] = probs[:, cols].sum(axis=1) if cols else non_blank * WILDCARD_PENALTY
        lengths = np.array([len(s) for s in self.spellings])
        labels = np.zeros((names, self.max_len), np.int64)
        for n, spelled in enumerate(self.spellings):  # a repeated character needs a blank between
            for i, cols in enumerate(spelled):
                labels[n, i] = cols[0] if cols else -1 - i
        return ctc_log_likelihood(np.log(np.maximum(per, 1e-30)), labels, lengths)

    def distribution(self, rectified: list[np.ndarray]) -> np.ndarray:
        """N x 138 for N rectified plates: the recogniser's belief in each name it can spell in
        full (0 for the others), from its spelling likelihoods."""
        out = []
        for probs in self.frames([cut(r, REGION_CROP) for r in rectified]):
            ll = np.where(self.spelled, self.log_likelihoods(probs) / self.temperature, -np.inf)
            e = np.exp(ll - ll.max())
            out.append(e / e.sum())
        return np.array(out)

    def rescore(self, region_probs: list[np.ndarray], rectified: list[np.ndarray], below: float,
                weight: float) -> list[np.ndarray]:
        """Each plate's region probabilities (138 names + unknown), with the second opinion
        combined where our best name is under ``below``; the others unchanged (and not read)."""
        unsure = [i for i, p in enumerate(region_probs) if p.max() < below]
        out = list(region_probs)
        if unsure:
            for i, second in zip(unsure, self.distribution([rectified[i] for i in unsure])):
                out[i] = combine(region_probs[i], second, self.spelled, weight)
        return out


def combine(ours: np.ndarray, second: np.ndarray, spelled: np.ndarray, weight: float) -> np.ndarray:
    """Our region probabilities (138 names + unknown) times the second opinion's, to the power
    ``weight``, over the names it can spell (scaled so that a flat opinion changes nothing);
    the names it cannot spell, and "unknown", keep their share. Renormalised."""
    factor = np.ones_like(ours)
    names = second.shape[0]
    factor[:names][spelled] = (second[spelled] * spelled.sum()) ** weight
    out = ours * factor
    return out / out.sum()
