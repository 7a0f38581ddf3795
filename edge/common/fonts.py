"""Japanese fonts for the region names, kana and letters, and glyph masks cut from them.

IPAex Gothic ships inside the PyPI package matplotlib-fontja (always installed); Debian's
fonts-ipafont-gothic, fonts-takao-gothic, fonts-vlgothic and fonts-noto-cjk add variety where
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

DEBIAN_FONT_GLOBS = (
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf",
    "/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Black.ttc",
)
GLYPH_PX = 96  # glyphs are cut at this em size and shrunk into their cells


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
def available_fonts() -> tuple[str, ...]:
    """Paths of the Japanese fonts on this machine, the bundled one first.

    ``ANPR_FONTS`` (paths separated by ':') replaces the list, for a fixed, reproducible set.
    """
    override = os.environ.get("ANPR_FONTS")
    if override:
        paths = [p for p in override.split(":") if p]
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise NoFontError(f"ANPR_FONTS names missing files: {', '.join(missing)}")
        return tuple(paths)
    found = [str(bundled_font())]
    for pattern in DEBIAN_FONT_GLOBS:
        found += sorted(glob.glob(pattern))
    return tuple(dict.fromkeys(found))


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
    return _font(font_path).getmask(char).getbbox() is not None
