"""The serial (一連指定番号 / 車両番号): 1 to 9999, printed right-aligned in four places.

Empty leading places show a centred dot (・, U+30FB), and a hyphen stands between the 2nd and
3rd digit only when all four are digits: ``・・・1``, ``・・12``, ``・123``, ``12-34``.
"""

from __future__ import annotations

import re

DOT = "\u30fb"  # KATAKANA MIDDLE DOT, the dot used in labels
# What people type for the centred dot and for the hyphen; folded before parsing.
DOT_LOOKALIKES = "\u30fb\uff65\u00b7\u2022\u2027\u22c5."
HYPHEN_LOOKALIKES = "-\u2010\u2011\u2012\u2013\u2014\u2212\u30fc\uff0d"

_PRINTED = re.compile(r"^(・・・[1-9]|・・[1-9][0-9]|・[1-9][0-9]{2}|[1-9][0-9]-[0-9]{2})$")


class SerialError(ValueError):
    """The text is not a serial; the message says which rule it breaks."""


def format_serial(number: int) -> str:
    """The printed form of ``number`` (1..9999): ``12-34``, ``・123``, ``・・12``, ``・・・1``."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise SerialError(f"serial number must be an integer, not {type(number).__name__}")
    if not 1 <= number <= 9999:
        raise SerialError(f"serial number {number} is outside 1-9999")
    digits = str(number)
    if len(digits) == 4:
        return f"{digits[:2]}-{digits[2:]}"
    return DOT * (4 - len(digits)) + digits


def parse_serial(text: str) -> int:
    """The number a written serial stands for.

    Accepts the printed form (``12-34``, ``・・12``) and plain digits (``1234``, ``12``); dot and
    hyphen look-alikes are folded first. Raises SerialError naming the rule broken.
    """
    folded = "".join(DOT if c in DOT_LOOKALIKES else "-" if c in HYPHEN_LOOKALIKES else c for c in text)
    folded = folded.strip()
    if not folded:
        raise SerialError("serial is missing")
    bad = [c for c in folded if not (c in "0123456789-" or c == DOT)]
    if bad:
        raise SerialError(f"serial {text!r}: {bad[0]!r} is not a digit, centred dot or hyphen")
    digits = folded.replace(DOT, "").replace("-", "")
    if not digits:
        raise SerialError(f"serial {text!r} has no digits")
    if len(digits) > 4:
        raise SerialError(f"serial {text!r} has {len(digits)} digits; a serial has at most 4")
    number = int(digits)
    if number == 0:
        raise SerialError(f"serial {text!r} is zero; serials run from 1 to 9999")
    if folded == digits:  # plain digits, as people type them
        if digits[0] == "0":
            raise SerialError(
                f"serial {text!r} has a leading zero; write {format_serial(number)} (dots fill empty places)"
            )
        return number
    if not _PRINTED.match(folded):
        expected = format_serial(number)
        if "-" in folded and len(digits) < 4:
            rule = "the hyphen appears only with 4 digits"
        elif DOT in folded and len(digits) == 4:
            rule = "4-digit serials have no dots"
        else:
            rule = "dots fill the empty places and the hyphen stands between 2nd and 3rd of 4 digits"
        raise SerialError(f"serial {text!r} is not printed that way: {rule} (expected {expected})")
    return number
