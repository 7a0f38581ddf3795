"""The class number (分類番号): its grammar, and what it says about the vehicle.

Three forms are on the road: 1 digit (1955-1967), 2 digits (registered 1967-1999, kei 1973-2005)
and 3 characters (since 1999, kei since 2005). In the 3-character form the 2nd and 3rd places
may hold one of ten Latin letters (since 2018). Kei 3-character classes have 8, 9, P, X or Y in
the 2nd place, so registered and kei ranges never collide.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from edge.plates.kana import VehicleClass


@dataclass(frozen=True)
class ClassNumberRules:
    letters: frozenset[str]  # A C F H K L M P X Y
    kei_first_digits: frozenset[str]  # 4 5 6 7 8
    kei_second_characters: frozenset[str]  # 8 9 P X Y (3-character form)
    unverified_registered_second_letters: frozenset[str]  # P X Y after a 4-8 first digit
    registered_kinds: dict[str, str]  # first digit → kind of vehicle
    kei_kinds: dict[str, str]

    @classmethod
    def from_data(cls, data: dict) -> ClassNumberRules:
        return cls(
            letters=frozenset(data["letters"]),
            kei_first_digits=frozenset(data["kei_first_digits"]),
            kei_second_characters=frozenset(data["kei_second_characters"]),
            unverified_registered_second_letters=frozenset(
                data["registered_second_letters_unverified_for_4_to_8"]
            ),
            registered_kinds=dict(data["first_digit_registered"]),
            kei_kinds=dict(data["first_digit_kei"]),
        )

    def grammar_error(self, class_number: str) -> str | None:
        """None for a well-formed class number of any era; otherwise the rule it breaks."""
        n = len(class_number)
        if n == 0:
            return "class number is missing"
        if n > 3:
            return f"{class_number} has {n} characters; a class number has 1 to 3"
        if not ("0" <= class_number[0] <= "9"):
            return f"{class_number} starts with {class_number[0]!r}; the first character is always a digit"
        for ch in class_number[1:]:
            if "0" <= ch <= "9":
                continue
            if ch in self.letters:
                if n < 3:
                    return f"{class_number}: letters appear only in 3-character class numbers"
                continue
            allowed = " ".join(sorted(self.letters))
            return f"{class_number}: {ch!r} is not allowed; only digits and the letters {allowed}"
        return None

    def implied_class(self, class_number: str) -> VehicleClass | None:
        """The numbering system a well-formed class number belongs to, when it alone tells."""
        first = class_number[0]
        if first not in self.kei_first_digits:
            return VehicleClass.REGISTERED
        if len(class_number) < 3:
            return None  # old 2-digit kei and registered classes overlap (e.g. 40, 55)
        if class_number[1] in self.kei_second_characters:
            return VehicleClass.KEI
        return VehicleClass.REGISTERED

    def conflict(self, class_number: str, vehicle_class: VehicleClass) -> str | None:
        """Why a well-formed class number cannot be on a plate of ``vehicle_class``, or None."""
        first = class_number[0]
        if vehicle_class is VehicleClass.KEI:
            if first not in self.kei_first_digits:
                return (f"{class_number} is a registered-vehicle class ({self.registered_kinds[first]});"
                        " kei class numbers start with 4 to 8")
            if len(class_number) == 3 and class_number[1] not in self.kei_second_characters:
                return (f"{class_number} is in a registered range; kei 3-character class numbers have"
                        " 8, 9, P, X or Y in the 2nd place")
            return None
        if len(class_number) == 3 and first in self.kei_first_digits and class_number[1] in "89":
            return (f"{class_number} is in the kei range (x80-x99); registered classes starting"
                    f" with {first} stop at {first}79")
        return None

    def doubt(self, class_number: str, vehicle_class: VehicleClass) -> str | None:
        """A soft rule the class number breaks (not proof of a fake), or None."""
        if len(class_number) == 3 and class_number[1:] == "99" and vehicle_class is VehicleClass.REGISTERED:
            return f"{class_number}: x99 is reserved for deregistration records and not issued on plates"
        if (vehicle_class is VehicleClass.REGISTERED and len(class_number) == 3
                and class_number[0] in self.kei_first_digits
                and class_number[1] in self.unverified_registered_second_letters):
            return (f"{class_number}: P, X and Y in the 2nd place are reported for kei classes only"
                    " (unverified for registered vehicles)")
        return None

    def kind(self, class_number: str, vehicle_class: VehicleClass | None) -> str | None:
        """What the first digit says about the vehicle (e.g. "ordinary-size passenger car")."""
        if vehicle_class is VehicleClass.KEI:
            return self.kei_kinds.get(class_number[0])
        if vehicle_class is VehicleClass.REGISTERED:
            return self.registered_kinds.get(class_number[0])
        return None


def has_letter(class_number: str) -> bool:
    """Whether a class number carries a Latin letter (30A, 4PA...: issued since 2018)."""
    return any(c.isalpha() for c in class_number)


@lru_cache(maxsize=1)
def class_number_rules() -> ClassNumberRules:
    """The class-number rules shipped inside the package."""
    text = resources.files("edge.plates").joinpath("data/class_number.json").read_text(encoding="utf-8")
    return ClassNumberRules.from_data(json.loads(text))
