"""General OCR engines a user might pick instead of our field classifiers, for ``anpr eval``.

They read the same rectified plate images as our classifiers; their text is split into fields
by ``fields_from_text``, which gives them every benefit of the doubt (any region name found
anywhere in the text, stray characters skipped, dots optional). They read no colour, so their
exact match counts the four printed fields only.

* Tesseract 5 with Debian's ``tesseract-ocr-jpn`` (``apt-get install tesseract-ocr tesseract-ocr-jpn``),
  run as the ``tesseract`` command, one block of text (``--psm 6``).
* RapidOCR (``rapidocr_onnxruntime`` from PyPI, its bundled PP-OCRv4 detection and recognition
  models); ``make baselines`` installs both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from edge.plates import kana_table, region_table
from edge.plates.serial import format_serial


class BaselineUnavailable(RuntimeError):
    """The engine is not installed here; the message says how to install it."""


@dataclass(frozen=True)
class BaselineFields:
    region: str | None
    class_number: str | None
    kana: str | None
    serial: str | None


@lru_cache(maxsize=1)
def _region_names() -> tuple[str, ...]:
    table = region_table()
    return tuple(sorted((*table.names(), *table.historical), key=len, reverse=True))


_CLASS = re.compile(r"[0-9][0-9A-Z]{0,2}")


def fields_from_text(text: str) -> BaselineFields:
    """The four printed fields in an OCR engine's text, as far as they can be found."""
    s = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    region = next((name for name in _region_names() if name in s), None)
    rest = s[s.index(region) + len(region):] if region else s
    m = _CLASS.search(rest)
    class_number = None
    if m and region:  # the class number follows the region on the top row
        class_number = m.group()
        rest = rest[m.end():]
    kanas = kana_table().all_kana()
    # hiragana first: a Latin letter in OCR text is far more often noise than a US-forces plate
    k = next((i for i, c in enumerate(rest) if c in kanas and not c.isascii()), None)
    if k is None:
        k = next((i for i, c in enumerate(rest) if c in kanas), None)
    kana = rest[k] if k is not None else None
    tail = rest[k + 1:] if k is not None else rest
    digits = "".join(c for c in tail if c.isdigit())  # dots and hyphens are optional: only digits count
    serial = format_serial(int(digits)) if 1 <= len(digits) <= 4 and int(digits) > 0 else None
    return BaselineFields(region, class_number, kana, serial)


class TesseractBaseline:
    name = "Tesseract 5 (jpn)"

    def __init__(self):
        exe = shutil.which("tesseract")
        if exe is None:
            raise BaselineUnavailable("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-jpn)")
        langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30).stdout.split()
        if "jpn" not in langs:
            raise BaselineUnavailable("tesseract has no Japanese data (apt-get install tesseract-ocr-jpn)")
        self.exe = exe

    def read(self, rectified: np.ndarray) -> str:
        ok, png = cv2.imencode(".png", rectified)
        try:
            done = subprocess.run([self.exe, "stdin", "stdout", "-l", "jpn", "--psm", "6"], input=png.tobytes(),
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return ""  # scored as nothing read, like any other plate it cannot read
        return done.stdout.decode("utf-8", "replace")


class RapidOcrBaseline:
    name = "RapidOCR 1.4 (PP-OCRv4)"

    def __init__(self):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise BaselineUnavailable("rapidocr_onnxruntime is not installed (make baselines)") from None
        self.engine = RapidOCR()

    def read(self, rectified: np.ndarray) -> str:
        result, _ = self.engine(rectified)
        # reading order: top row first, then left to right
        boxes = sorted(result or [], key=lambda r: (round(np.mean([p[1] for p in r[0]]) / 40), r[0][0][0]))
        return " ".join(r[1] for r in boxes)


BASELINES = (TesseractBaseline, RapidOcrBaseline)
