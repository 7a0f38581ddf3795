"""Region names (地名表示): the 138 names that stand on today's plates, plus old labels.

The table lives in ``data/regions.json`` (made from ../shared/reference/jp_plate_facts.json);
this module only answers questions about it.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Region:
    """One region name as printed on current plates."""

    name: str  # kanji (or hiragana) as printed, e.g. "品川", "なにわ"
    reading: str  # hiragana reading, e.g. "しながわ"
    romaji: str  # modified Hepburn with macrons, e.g. "Kōriyama"
    romaji_ascii: str  # the same without macrons, e.g. "Koriyama"
    prefectures: tuple[str, ...]  # 富士山 is used in two
    kind: str  # "base" (office name) or "gotochi" (ご当地, local name)
    introduced: str | None
    variants: tuple[str, ...] = ()  # other spellings accepted as the same region
    uncertain: bool = False  # the reference marks something about it unverified


@dataclass(frozen=True)
class RegionMatch:
    """What a piece of text names: a current region, possibly through an old label."""

    region: Region
    written: str  # what the text said
    historical: bool  # an old one-kanji or prefecture label (e.g. 品 for 品川)


class UnknownRegion(ValueError):
    """The text names no region; ``suggestions`` holds the nearest names."""

    def __init__(self, written: str, reason: str, suggestions: tuple[str, ...] = ()):
        super().__init__(reason)
        self.written = written
        self.reason = reason
        self.suggestions = suggestions


class RegionTable:
    """All region names, with lookups by kanji, variant, reading, romaji and old label."""

    def __init__(self, data: dict):
        self.regions: tuple[Region, ...] = tuple(
            Region(
                name=r["name"],
                reading=r["reading"],
                romaji=r["romaji"],
                romaji_ascii=r["romaji_ascii"],
                prefectures=tuple(r["prefectures"]),
                kind=r["kind"],
                introduced=r["introduced"],
                variants=tuple(r["variants"]),
                uncertain=bool(r["uncertain"]),
            )
            for r in data["regions"]
        )
        self.not_issued: dict[str, str] = dict(data["not_issued"])
        self._by_key: dict[str, Region] = {}
        for region in self.regions:
            for key in (region.name, *region.variants, region.reading,
                        _fold(region.romaji), _fold(region.romaji_ascii)):
                self._by_key.setdefault(key, region)
        by_name = {r.name: r for r in self.regions}
        self.historical: dict[str, Region] = {
            label: by_name[modern] for label, modern in data["historical_labels"].items()
        }

    def __len__(self) -> int:
        return len(self.regions)

    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    def get(self, name: str) -> Region:
        """The region whose printed name (or accepted variant) is ``name``; KeyError if none."""
        region = self._by_key.get(name)
        if region is None or name not in (region.name, *region.variants):
            raise KeyError(name)
        return region

    def lookup(self, written: str) -> RegionMatch:
        """Resolve what a person or a reader wrote as the region; raise UnknownRegion if nothing fits."""
        text = written.strip()
        if not text:
            raise UnknownRegion(written, "region is missing")
        region = self._by_key.get(text)
        if region is None and _is_latin(text):
            region = self._by_key.get(_fold(text))
        if region is not None:
            return RegionMatch(region=region, written=text, historical=False)
        if text in self.historical:
            return RegionMatch(region=self.historical[text], written=text, historical=True)
        if text in self.not_issued:
            raise UnknownRegion(text, f"{text} is not a region name on any plate: {self.not_issued[text]}")
        raise UnknownRegion(
            text, f"{text!r} is not one of the {len(self.regions)} region names", self._nearest(text)
        )

    def _nearest(self, text: str) -> tuple[str, ...]:
        if _is_latin(text):
            by_romaji = {_fold(r.romaji_ascii): r.name for r in self.regions}
            close = difflib.get_close_matches(_fold(text), list(by_romaji), n=3, cutoff=0.7)
            return tuple(by_romaji[k] for k in close)
        return tuple(difflib.get_close_matches(text, self.names(), n=3, cutoff=0.5))


def _is_latin(text: str) -> bool:
    return all(unicodedata.normalize("NFKD", c)[0].isascii() for c in text)


def _fold(text: str) -> str:
    """Case- and macron-insensitive key for romaji ("Kōriyama" == "koriyama")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().replace(" ", "")


@lru_cache(maxsize=1)
def region_table() -> RegionTable:
    """The region table shipped inside the package."""
    text = resources.files("edge.plates").joinpath("data/regions.json").read_text(encoding="utf-8")
    return RegionTable(json.loads(text))
