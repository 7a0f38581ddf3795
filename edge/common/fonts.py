"""Japanese fonts for the region names, kana and letters, and glyph masks cut from them.

IPAex Gothic ships inside the PyPI package matplotlib-fontja (always installed); Debian's
Japanese font packages (the Makefile's ``JP_FONTS``: 20 families, about 80 faces) add variety where
present (``make fonts`` installs them; ``make train`` tries it first). Plates have no single font for region names, so
rendering with several is closer to the road than rendering with one.
"""

from __future__ import annotations

import glob
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Debian's Japanese fonts (``make fonts`` installs the Makefile's JP_FONTS), family by family:
# gothic, rounded and mincho faces at every weight they come in. Brush, handwriting, bitmap and
# display fonts are left out: no plate is lettered like them. A plate's font is drawn family
# first, so a family of nine weights is not nine times as common as a family of one.
DEBIAN_FONT_FAMILIES = {
    "ipa-gothic": "/usr/share/fonts/opentype/ipafont-gothic/ipag*.ttf",
    "ipa-mincho": "/usr/share/fonts/opentype/ipafont-mincho/ipam*.ttf",
    "ipaex-gothic": "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "ipaex-mincho": "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
    "takao-gothic": "/usr/share/fonts/truetype/takao-gothic/Takao*Gothic.ttf",
    "vl-gothic": "/usr/share/fonts/truetype/vlgothic/VL-*Gothic-Regular.ttf",
    "noto-sans-cjk": "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc",
    "noto-serif-cjk": "/usr/share/fonts/opentype/noto/NotoSerifCJK-*.ttc",
    "mplus-1": "/usr/share/fonts/opentype/mplus/Mplus1-*.otf",
    "mplus-2": "/usr/share/fonts/opentype/mplus/Mplus2-*.otf",
    "migmix": "/usr/share/fonts/truetype/migmix/migmix-*.ttf",
    "migu": "/usr/share/fonts/truetype/migmix/migu-*.ttf",
    "motoya-cedar": "/usr/share/fonts/truetype/motoya-l-cedar/MTLc3m.ttf",
    "motoya-maruberi": "/usr/share/fonts/truetype/motoya-l-maruberi/MTLmr3m.ttf",
    "sawarabi-gothic": "/usr/share/fonts/truetype/sawarabi-gothic/sawarabi-gothic-*.ttf",
    "sawarabi-mincho": "/usr/share/fonts/truetype/sawarabi-mincho/sawarabi-mincho-*.ttf",
    "komatuna": "/usr/share/fonts/truetype/komatuna/komatuna*.ttf",
    "konatu": "/usr/share/fonts/truetype/konatu/Konatu*.ttf",
    "ume-gothic": "/usr/share/fonts/truetype/horai-umefont/ume-*g*.ttf",
    "ume-mincho": "/usr/share/fonts/truetype/horai-umefont/ume-*m*.ttf",
}
GLYPH_PX = 96  # glyphs are cut at this em size and shrunk into their cells

# Faces no model here is taught on (outside DEBIAN_FONT_FAMILIES): since stop 58 the deciding sets are lettered
# in them (`anpr synth --lettering unseen`), standing in for the makers' dies real plates are stamped with,
# which no desktop font is. From Debian's fonts-morisawa-bizud-gothic and fonts-monapo (`make unseen-fonts`).
UNSEEN_FACES = (
    "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf",
    "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Bold.ttf",
    "/usr/share/fonts/truetype/monapo/monapo.ttf",
)
UNSEEN_FONT_PACKAGES = ("fonts-morisawa-bizud-gothic", "fonts-monapo")
LETTERINGS = ("installed", "bundled", "unseen")  # what `--lettering` may name


class NoFontError(RuntimeError):
    """No Japanese font could be found."""


def bundled_font() -> Path:
    """IPAex Gothic from the matplotlib-fontja package."""
    try:
        import matplotlib_fontja  # noqa: F401 - located through its package folder only
    except ImportError as exc:
        raise NoFontError("matplotlib-fontja is not installed (pip install matplotlib-fontja)") from exc
    path = Path(matplotlib_fontja.__file__).parent / "fonts" / "ipaexg.ttf"
    if not path.is_file():
        raise NoFontError(f"matplotlib-fontja has no {path.name}")
    return path


@lru_cache(maxsize=1)
def _families() -> dict[str, str]:
    """Font path -> family, for the fonts on this machine, the bundled one first.

    ``ANPR_FONTS`` (paths separated by ':') replaces the list, for a fixed, reproducible set;
    each of its files is a family of its own.
    """
    override = os.environ.get("ANPR_FONTS")
    if override:
        paths = [p for p in override.split(":") if p]
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise NoFontError(f"ANPR_FONTS names missing files: {', '.join(missing)}")
        return {p: p for p in paths}
    found = {str(bundled_font()): "ipaex-gothic"}
    for family, pattern in DEBIAN_FONT_FAMILIES.items():
        for path in sorted(glob.glob(pattern)):
            if _drawable(path):
                found.setdefault(path, family)
    return found


def _drawable(path: str) -> bool:
    """Whether FreeType draws this font's kana and kanji (some faces' hinting programs fail:
    "invalid opcode"); a font that cannot be drawn is left out, not fallen over later."""
    return all(_has_glyph(path, c) for c in "あ品A")


def use_lettering(lettering: str) -> tuple[str, ...]:
    """Letter this process's plates (and those of the workers it starts, which inherit ``ANPR_FONTS``) in
    one of LETTERINGS: "installed", every face found (the default); "bundled", IPAex Gothic alone (the
    deciding sets' face through stop 57); "unseen", UNSEEN_FACES. Returns the fonts now available."""
    if lettering not in LETTERINGS:
        raise NoFontError(f"lettering {lettering!r}: expected one of {', '.join(LETTERINGS)}")
    if lettering != "installed":
        if os.environ.get("ANPR_FONTS"):
            raise NoFontError(f"lettering {lettering!r} and ANPR_FONTS both name the fonts: unset one")
        if lettering == "unseen" and not all(Path(p).is_file() for p in UNSEEN_FACES):
            raise NoFontError(f"lettering 'unseen' needs {' '.join(UNSEEN_FONT_PACKAGES)} (make unseen-fonts)")
        os.environ["ANPR_FONTS"] = ":".join(UNSEEN_FACES if lettering == "unseen" else (str(bundled_font()),))
        _families.cache_clear()
    return available_fonts()


def font_names() -> list[str]:
    """The available fonts' file names, in the order plates draw from them: what a dataset's
    ``meta.json`` records, since the same seed letters other plates with other fonts installed."""
    return [Path(f).name for f in available_fonts()]


def available_fonts() -> tuple[str, ...]:
    """Paths of the Japanese fonts on this machine, the bundled one first."""
    return tuple(_families())


def pick_font(fonts: tuple[str, ...], rng: np.random.Generator) -> str:
    """One of ``fonts``: a family drawn evenly among theirs, then one of its faces."""
    families: dict[str, list[str]] = {}
    for path in fonts:
        families.setdefault(_families().get(path, path), []).append(path)
    faces = list(families.values())[int(rng.integers(len(families)))]
    return faces[int(rng.integers(len(faces)))]


@lru_cache(maxsize=16)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, GLYPH_PX)


@lru_cache(maxsize=256)
def font_at(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font at ``path`` in ``size`` pixels (cached)."""
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=16384)
def glyph_mask(char: str, font_path: str, weight: int = 0) -> np.ndarray:
    """Coverage (float32 0..1) of ``char``, cropped to its ink; ``weight`` adds pixels of stroke
    (at GLYPH_PX) to make a regular font as heavy as plate lettering."""
    font = _font(font_path)
    pad = GLYPH_PX // 4 + weight
    size = GLYPH_PX + 2 * pad
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).text((pad, pad), char, font=font, fill=255, stroke_width=weight, stroke_fill=255)
    ink = np.asarray(image, np.float32) / 255.0
    ys, xs = np.nonzero(ink > 0.05)
    if len(xs) == 0:
        raise KeyError(f"{Path(font_path).name} has no glyph for {char!r}")
    return ink[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def fonts_with(chars: str, fonts: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The fonts among ``fonts`` (default: all available) that draw every one of ``chars``."""
    return tuple(path for path in fonts or available_fonts()
                 if all(_has_glyph(path, c) for c in chars if not c.isspace()))


@lru_cache(maxsize=16384)
def _has_glyph(font_path: str, char: str) -> bool:
    try:
        return _font(font_path).getmask(char).getbbox() is not None
    except OSError:  # a glyph FreeType cannot draw (a broken hinting program) is a missing one
        return False
