"""Config sections as frozen dataclasses: built from a TOML table, unknown keys refused, every
bad value named by its full key (``stream.settle_reads``) with what is allowed."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from edge.common.errors import ConfigError


def section_from_dict(cls, data, name: str):
    """An instance of the dataclass ``cls`` from the table ``data`` of section ``name``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a table of keys, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values = {}
    for key, value in data.items():
        default = known[key].default
        if isinstance(value, list) and not is_dataclass(default):
            value = tuple(value)
        values[key] = value
    return cls(**values)


def check(ok: bool, key: str, value, allowed: str) -> None:
    """ConfigError ``key = value: expected allowed`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key} = {value!r}: expected {allowed}")


def is_number(v, low: float | None = None, high: float | None = None) -> bool:
    """A real number (not a bool) within [low, high] where given."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and (low is None or v >= low) and (high is None or v <= high))


def is_count(v, low: int = 0) -> bool:
    """An integer (not a bool) of at least ``low``."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= low
