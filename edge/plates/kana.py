"""The kana (用途 character): which characters stand in that place, and what use each marks.

Registered vehicles (登録自動車) and kei vehicles (軽自動車) use the same 42 hiragana with different
meanings, plus a few Latin letters for US-forces personnel. The sets live in ``data/kana.json``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources


class VehicleClass(str, Enum):
    """Which numbering system a plate belongs to."""

    REGISTERED = "registered"  # 登録自動車: white or green plates
    KEI = "kei"  # 軽自動車: yellow or black plates


class Use(str, Enum):
    """What the vehicle is used for, as the kana and the colour say."""

    PRIVATE = "private"  # 自家用
    COMMERCIAL = "commercial"  # 事業用
    RENTAL = "rental"  # 貸渡
    US_FORCES = "us_forces"  # 駐留軍人軍属私有車両等


@dataclass(frozen=True)
class KanaTable:
    """The kana sets by vehicle class and use."""

    sets: dict[VehicleClass, dict[Use, frozenset[str]]]
    never_used: dict[str, str]  # kana → why it is never on a plate
    uncertain: dict[tuple[VehicleClass, str], str]  # (class, kana) → what the reference doubts

    @classmethod
    def from_data(cls, data: dict) -> KanaTable:
        sets = {
            vc: {Use(use): frozenset(chars) for use, chars in data[vc.value].items()}
            for vc in VehicleClass
        }
        uncertain = {}
        for key, why in data["uncertain"].items():
            vc, kana = key.split(":")
            uncertain[(VehicleClass(vc), kana)] = why
        return cls(sets=sets, never_used=dict(data["never_used"]), uncertain=uncertain)

    def all_kana(self) -> frozenset[str]:
        """Every character that can stand in the kana place on some plate."""
        return frozenset().union(*(s for by_use in self.sets.values() for s in by_use.values()))

    def use_of(self, kana: str, vehicle_class: VehicleClass) -> Use | None:
        """The use ``kana`` marks on a plate of ``vehicle_class``; None if it is not used there."""
        for use, chars in self.sets[vehicle_class].items():
            if kana in chars:
                return use
        return None

    def classes_using(self, kana: str) -> tuple[VehicleClass, ...]:
        return tuple(vc for vc in VehicleClass if self.use_of(kana, vc) is not None)

    def why_not_kana(self, kana: str) -> str | None:
        """None when ``kana`` is used on some plate; otherwise a sentence saying why it is not."""
        if kana in self.all_kana():
            return None
        if len(kana) != 1:
            return f"{kana!r} is not one character"
        if kana in self.never_used:
            return f"{kana} is never used on plates ({self.never_used[kana]})"
        name = unicodedata.name(kana, "")
        if name.startswith("KATAKANA LETTER"):
            hira = chr(ord(kana) - 0x60)
            if hira in self.all_kana():
                return f"{kana} is katakana; plates use hiragana ({hira})"
            return f"{kana} is katakana; plates use hiragana"
        if name.startswith("HIRAGANA LETTER SMALL"):
            return f"{kana} is a small kana; plates never use small kana"
        if name.startswith("HIRAGANA LETTER"):
            base = unicodedata.normalize("NFD", kana)
            if len(base) > 1:
                return f"{kana} carries a (han)dakuten mark; plates never use voiced kana"
            return f"{kana} is not among the 42 plate hiragana"
        if kana.isascii() and kana.isalpha():
            return f"{kana} is not a letter used in the kana place (registered E H K M T Y, kei A B)"
        return f"{kana!r} is not a plate kana"


@lru_cache(maxsize=1)
def kana_table() -> KanaTable:
    """The kana table shipped inside the package."""
    text = resources.files("edge.plates").joinpath("data/kana.json").read_text(encoding="utf-8")
    return KanaTable.from_data(json.loads(text))
