"""How a person in Japan says what a plate is: colour, kind of vehicle and use, in Japanese.
Shared by the annotated pictures and the daemon's event lines."""

from __future__ import annotations

COLOR_JA = {"white": "白", "green": "緑", "yellow": "黄", "black": "黒", "design-green": "図柄・緑縁",
            "design-yellow": "図柄・黄縁"}
CLASS_JA = {"registered": "登録車", "kei": "軽自動車"}
USE_JA = {"private": "自家用", "commercial": "事業用", "rental": "レンタカー", "us_forces": "駐留軍"}
MISSING = "？"


def describe(color: str | None, category: str | None, confidence: float) -> str:
    """``黄ナンバー  軽自動車 自家用  確度 97%``: the plate's colour, what it means, the confidence."""
    parts = [f"{COLOR_JA[color]}ナンバー" if color else f"色{MISSING}"]
    if category:
        vehicle_class, use = category.split("/")
        parts.append(f"{CLASS_JA[vehicle_class]} {USE_JA[use]}")
    parts.append(f"確度 {round(100 * confidence)}%")
    return "  ".join(parts)
