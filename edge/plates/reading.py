"""From the field classifiers' probabilities to a plate the rules allow (or fields marked null).

The classifiers (edge/vision/reader.py) give, for one plate, a probability per class for the
region name and the kana, per place for the class number (3 places) and serial (4 places), and
per colour. Decoding keeps only what the grammar in ``edge.plates`` allows:

* the class number is one of the well-formed strings of 1 to 3 characters, the serial one of
  the printed forms of 1..9999; each string is scored by its places' probabilities and the
  scores are renormalised over the allowed strings; a class number with a letter is weighted
  by how much rarer such class numbers are on the road than in the training plates;
* class number, kana and colour must agree (kei or registered, which kana on which colour):
  the best combinations are scored jointly and renormalised over the combinations that agree;
* each field's confidence is the probability, under that joint model, of the value chosen;
  a field under ``min_confidence`` is returned as null with its confidence;
* the plate's category (``kei/private``, ``registered/commercial``...: what colour, class number
  and kana say of the vehicle) is given with its own confidence, the joint's mass over every
  colour of that category: a kei plate's yellow, design-yellow and white faces differ by a face
  colour or only by a 3-5 mm rim, but all say "kei, private", so the category can be sure where
  the face is not (the gate checks the category, edge/gate/policy.py).

So the output is always a valid ``PlateText`` or a set of fields some of which are null, and
the fields that are given always agree with each other.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from edge.plates.class_number import class_number_rules, has_letter
from edge.plates.color import Color
from edge.plates.kana import VehicleClass, kana_table
from edge.plates.regions import region_table
from edge.plates.serial import DOT, format_serial, parse_serial
from edge.plates.text import FIELDS, PlateText, PlateTextError

UNKNOWN_REGION = "?"  # a region label outside the 138 names (old one-kanji labels, new names)
BLANK = ""  # an empty class-number place
READ_FIELDS = (*FIELDS, "color")
LETTERING = ("region", "class_number", "serial")  # the fields that spell a plate, apart from its colour
PLACES = {"region": 1, "class_number": 3, "kana": 1, "serial": 4, "color": 1}  # classified places per field
# Class numbers and kana tried jointly with every colour: the likeliest class numbers, and besides
# the likeliest few of each kind (numbering system, ``_agreement``), so that the combination the
# colour classifier backs is among them (a kei class for a yellow plate, say) even when the
# class-number places alone prefer a registered one by far (lever 120: a clear yellow plate whose
# 40 likeliest class numbers were all registered was read white at 1.00).
TOP_CLASS_NUMBERS, TOP_OF_EACH_KIND, TOP_KANA = 40, 3, 10
# Class numbers with a Latin letter (30A, 4PA...) are issued only for the most sought-after hope
# numbers once every digit class for them is used up: since 2018, and mostly at the busiest
# offices (JP_PLATES.md section 4). On the road they are about 1 plate in 100; that is an
# estimate, as no count is published. The reader's training plates carry one in 12
# (edge.synth.texts draws more, so that every letter is seen often enough), and the class-number
# classifier learned that share; decoding divides it out and puts the road's in, so a blurred 1
# is not read as a Y on a plate the letters were never issued to.
LETTER_CLASS_SHARE_TRAINED = 0.081
LETTER_CLASS_SHARE_ROAD = 0.01
# A plate seen without colour (an infrared or monochrome camera) has its colour given only where
# the class number and kana leave one colour possible: the colour classifier's guess from grey
# levels is not evidence (a yellow kei plate in grey read as white at 0.976 on real photos).
UNSEEN_COLOR_CONFIDENCE = 0.99
# White, design-green and design-yellow plates show one white face told apart only by a 3-5 mm
# rim (none, green, yellow), which the colour classifier cannot see at its 64 x 32 input (README:
# lever 14); its choice between them rests on the class number and the light. On 150 kei private
# plates drawn twice in the same scenes, white and design-yellow (seed 30001, README: lever 30),
# its choices given at 0.95 or more were right 37 times of 48. So before decoding no rim face is
# given worse odds than 23 : 77 against another on the colour classifier's word: where two faces
# say the same of the vehicle (a kei private plate's white and design-yellow) the face is given no
# surer than 0.77; where they do not (white is private, design-green commercial) the kana decides.
RIM_FACES = ("white", "design-green", "design-yellow")
RIM_FACE_CONFIDENCE = 0.77


@lru_cache(maxsize=1)
def vocabularies() -> dict[str, tuple[str, ...]]:
    """The classes each field classifier outputs, in output order (also written in its manifest)."""
    letters = tuple(sorted(class_number_rules().letters))
    return {
        "region": (*region_table().names(), UNKNOWN_REGION),
        "class_number": (BLANK, *"0123456789", *letters),
        "kana": tuple(sorted(kana_table().all_kana())),
        "serial": (DOT, *"0123456789"),
        "color": tuple(c.value for c in Color),
    }


def plate_labels(plate: PlateText) -> dict[str, list[int]]:
    """The class indices a plate is trained as: one per region, kana and colour, one per place
    for class number and serial. Old labels (品, 神...) train the region as unknown."""
    v = vocabularies()
    region = plate.region if plate.region in v["region"] else UNKNOWN_REGION
    if plate.color is None:
        raise ValueError(f"{plate}: the colour is needed to train on it")
    places = list(plate.class_number) + [BLANK] * (PLACES["class_number"] - len(plate.class_number))
    return {
        "region": [v["region"].index(region)],
        "class_number": [v["class_number"].index(c) for c in places],
        "kana": [v["kana"].index(plate.kana)],
        "serial": [v["serial"].index(c) for c in plate.serial.replace("-", "")],
        "color": [v["color"].index(plate.color.value)],
    }


@dataclass(frozen=True)
class FieldReading:
    value: str | None  # None: not read with enough confidence
    confidence: float  # probability that the best value (given or withheld) is right

    def to_dict(self) -> dict:
        return {"value": self.value, "confidence": round(self.confidence, 3)}


@dataclass(frozen=True)
class Reading:
    """One plate's decoded fields; ``plate`` is the full PlateText when every field was read."""

    fields: dict[str, FieldReading]  # READ_FIELDS
    plate: PlateText | None
    best: dict[str, str]  # the best value of every field, withheld or not (for diagnostics)
    # ``registered/private``, ``kei/commercial``...: the category the chosen class number, kana and
    # colour give, with the probability of every colour of that category; null under min_confidence
    category_reading: FieldReading = FieldReading(None, 0.0)

    @property
    def confidence(self) -> float:
        """The chance that every field is right (product of the field confidences)."""
        return float(np.prod([f.confidence for f in self.fields.values()]))

    def contradicts(self, other: Reading) -> bool:
        """``other`` is another plate's reading, not this plate misread: two or more of the
        printed fields read in both and different (a frame misreads one field; a different
        plate differs in nearly all)."""
        mine, theirs = self.fields, other.fields
        return sum(mine[n].value is not None and theirs[n].value is not None and mine[n].value != theirs[n].value
                   for n in FIELDS) >= 2

    def unsure(self, threshold: float, color_seen: bool = True) -> dict[str, float]:
        """What keeps the gate from taking this reading as read (edge/gate/policy.py, and what
        ``anpr eval`` counts of it): each printed field withheld or read under ``threshold`` and,
        where the colour was seen, the category likewise; name (``category`` for the category)
        -> confidence, in plate order."""
        out = {name: self.fields[name].confidence for name in FIELDS
               if self.fields[name].value is None or self.fields[name].confidence < threshold}
        category = self.category_reading
        if color_seen and (category.value is None or category.confidence < threshold):
            out["category"] = category.confidence
        return out

    def spelled(self, missing: str, names: tuple[str, ...] = FIELDS) -> str:
        """The fields in plate order as a person reads them (``品川 300 さ 12-34``), ``missing``
        standing for one withheld."""
        return " ".join(self.fields[name].value or missing for name in names)

    @property
    def number(self) -> int | None:
        serial = self.fields["serial"].value
        return None if serial is None else parse_serial(serial)

    @property
    def category(self) -> str | None:
        """``registered/private``, ``kei/commercial``...: what colour, class number and kana say
        of the vehicle, when decoding is sure enough of it (the face itself may be withheld)."""
        return self.category_reading.value


@lru_cache(maxsize=1)
def _class_number_table() -> tuple[tuple[str, ...], np.ndarray]:
    """Every well-formed class number and its places as symbol indices (N x 3)."""
    rules, symbols = class_number_rules(), vocabularies()["class_number"]
    chars = [c for c in symbols if c]
    found = []
    for n in (1, 2, 3):
        for combo in itertools.product(chars, repeat=n):
            text = "".join(combo)
            if rules.grammar_error(text) is None:
                found.append(text)
    places = np.array([[symbols.index(c) for c in t] + [0] * (PLACES["class_number"] - len(t)) for t in found])
    return tuple(found), places


@lru_cache(maxsize=1)
def _serial_table() -> tuple[tuple[str, ...], np.ndarray]:
    """Every printed serial (1..9999) and its four places as symbol indices (9999 x 4)."""
    symbols = vocabularies()["serial"]
    printed = tuple(format_serial(n) for n in range(1, 10000))
    places = np.array([[symbols.index(c) for c in s.replace("-", "")] for s in printed])
    return printed, places


@lru_cache(maxsize=1)
def _class_number_prior() -> np.ndarray:
    """Log of the road's share over the training share, per well-formed class number: a class
    number with a letter in it is rarer on the road than in the training plates."""
    lettered = np.array([has_letter(text) for text in _class_number_table()[0]])
    return np.where(lettered, np.log(LETTER_CLASS_SHARE_ROAD / LETTER_CLASS_SHARE_TRAINED),
                    np.log((1 - LETTER_CLASS_SHARE_ROAD) / (1 - LETTER_CLASS_SHARE_TRAINED)))


def _string_posterior(place_probs: np.ndarray, table: tuple[tuple[str, ...], np.ndarray],
                      log_prior: np.ndarray | float = 0.0) -> tuple[tuple[str, ...], np.ndarray]:
    """Probability of each allowed string: the product of its places times its prior weight,
    renormalised over the table."""
    strings, places = table
    logp = np.log(np.clip(place_probs, 1e-12, 1.0))
    score = logp[np.arange(places.shape[1]), places].sum(axis=1) + log_prior
    p = np.exp(score - score.max())
    return strings, p / p.sum()


def class_number_strings() -> tuple[tuple[str, ...], np.ndarray]:
    """Every well-formed class number, and its places as symbol indices (N x 3, blanks after)."""
    return _class_number_table()


def class_number_posterior(place_probs: np.ndarray) -> np.ndarray:
    """The probability of each well-formed class number (``class_number_strings`` order), as
    ``decode`` weighs them before agreement with the kana and colour."""
    return _string_posterior(np.asarray(place_probs), _class_number_table(), _class_number_prior())[1]


def serial_posterior(place_probs: np.ndarray) -> np.ndarray:
    """The probability of each printed serial (1..9999, ``format_serial`` order), as ``decode``
    weighs them."""
    return _string_posterior(np.asarray(place_probs), _serial_table())[1]


@lru_cache(maxsize=1)
def _agreement() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Which well-formed class numbers, kana and colours can stand together on one plate, and what
    they say: for each class number (``class_number_strings`` order) its kind's row of a table
    kind x kana x colour of category indices (into the names returned third; -1 where the three
    cannot stand together). ``category_of`` through one class of each kind (``_class_kinds``)."""
    v = vocabularies()
    kinds, classes = _class_kinds(), _class_number_table()[0]
    firsts = list(dict.fromkeys(kinds[c] for c in classes))
    names: list[str] = []
    table = np.full((len(firsts), len(v["kana"]), len(v["color"])), -1, np.int16)
    for r, first in enumerate(firsts):
        for k, kana in enumerate(v["kana"]):
            for o, color in enumerate(v["color"]):
                if (kind := category_of(first, kana, color)) is not None:
                    names += [kind] if kind not in names else []
                    table[r, k, o] = names.index(kind)
    row = {first: r for r, first in enumerate(firsts)}
    return np.array([row[kinds[c]] for c in classes]), table, tuple(names)


@lru_cache(maxsize=1)
def _class_kinds() -> dict[str, str]:
    """Each well-formed class number -> the first one of its kind. Agreement with kana and colour,
    and the category they give, depend only on the numbering system a class implies, the systems
    it conflicts with and whether it has the 3 characters of a design plate's, so one of each kind
    stands for all."""
    rules, first = class_number_rules(), {}
    out = {}
    for class_number in _class_number_table()[0]:
        key = (rules.implied_class(class_number), len(class_number) == 3,
               *(rules.conflict(class_number, vc) is None for vc in VehicleClass))
        out[class_number] = first.setdefault(key, class_number)
    return out


@lru_cache(maxsize=4096)
def category_of(class_number: str, kana: str, color: str) -> str | None:
    """What a plate with this class number, kana and colour says of its vehicle (``kei/private``...;
    a white plate with a kei class is kei); None when the three cannot stand together on one plate."""
    try:
        return PlateText("品川", class_number, kana, 1, Color(color)).meaning.category
    except (PlateTextError, ValueError):  # ValueError: not a colour
        return None


@lru_cache(maxsize=1)
def _rim_indices() -> list[int]:
    return [vocabularies()["color"].index(face) for face in RIM_FACES]


def rim_faces_evened(p_color: np.ndarray) -> np.ndarray:
    """The colour classifier's probabilities with every rim face raised to at least
    (1 - RIM_FACE_CONFIDENCE) / RIM_FACE_CONFIDENCE of the likeliest rim face's: its word on a rim
    is worth those odds and no more (the joint renormalises)."""
    rim = _rim_indices()
    out = np.array(p_color, np.float64)
    out[rim] = np.maximum(out[rim], out[rim].max() * (1 - RIM_FACE_CONFIDENCE) / RIM_FACE_CONFIDENCE)
    return out


def yellow_rim_weighed(p_color: np.ndarray, odds: float) -> np.ndarray:
    """The colour probabilities with design-yellow's multiplied by ``odds`` (a yellow rim seen
    against none, edge/vision/rim.py), renormalised: what the frame shows of the rim weighed
    with what the colour classifier says."""
    out = np.array(p_color, np.float64)
    out[vocabularies()["color"].index("design-yellow")] *= odds
    return out / out.sum()


def colorless(probs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``probs`` with the colour classifier's output replaced by "any colour": what a plate seen
    without colour (infrared, monochrome) tells of its colour."""
    n = len(vocabularies()["color"])
    return {**probs, "color": np.full(n, 1.0 / n)}


def tempered_confidence(p: float, temperature: float) -> float:
    """p^(1/t) / (p^(1/t) + (1 - p)^(1/t)) for p above 0.5, p itself at or under 0.5 (``tempered``)."""
    p = min(max(float(p), 0.0), 1.0)
    if p <= 0.5:
        return p
    a, b = p ** (1 / temperature), (1 - p) ** (1 / temperature)
    return a / (a + b)


def tempered(reading: Reading, temperature: float, most: float = 1.0, min_confidence: float = 0.5) -> Reading:
    """``reading`` with every confidence p above 0.5 (each field's and the category's) made
    p^(1/t) / (p^(1/t) + (1 - p)^(1/t)) for t = ``temperature`` (above 1: less sure, down towards
    0.5; the order of confidences stays), and then at most ``most`` (a temperature cannot move a
    confidence of 1.0). Confidences of 0.5 or less stay: "less sure" of a value already more
    likely wrong than right is not a higher confidence. A value falling under ``min_confidence``
    is withheld, as ``decode`` withholds it, and the plate with it."""

    def temper(field: FieldReading) -> FieldReading:
        q = min(tempered_confidence(field.confidence, temperature), most)
        return FieldReading(field.value if q >= min_confidence else None, float(q))

    fields = {name: temper(f) for name, f in reading.fields.items()}
    withheld = any(f.value is None and reading.fields[name].value is not None for name, f in fields.items())
    return replace(reading, fields=fields, plate=None if withheld else reading.plate,
                   category_reading=temper(reading.category_reading))


def _candidates(p_class: np.ndarray, of_class: np.ndarray, n_kinds: int) -> np.ndarray:
    """The class numbers ``decode`` weighs with kana and colour, likeliest first: the
    ``TOP_CLASS_NUMBERS`` likeliest and the ``TOP_OF_EACH_KIND`` likeliest of each of the
    ``n_kinds`` kinds (``of_class``: each class number's kind, ``_agreement``)."""
    order = np.argsort(-p_class, kind="stable")
    keep = np.zeros(len(order), bool)
    keep[:TOP_CLASS_NUMBERS] = True
    kind_in_order = of_class[order]
    for kind in range(n_kinds):
        keep[np.flatnonzero(kind_in_order == kind)[:TOP_OF_EACH_KIND]] = True
    return order[keep]


def decode(probs: dict[str, np.ndarray], min_confidence: float = 0.5, color_seen: bool = True) -> Reading:
    """The reading the grammar allows that the classifiers find likeliest.

    ``probs``: ``region`` (R,), ``kana`` (K,), ``color`` (C,), ``class_number`` (3 x S) and
    ``serial`` (4 x 11), each row a probability distribution over ``vocabularies()``.
    ``color_seen`` False (a frame without colour): the colour classifier is ignored, the colour
    is given only when class number and kana imply it, and the plate is complete without it.
    """
    v = vocabularies()
    if not color_seen:
        probs = colorless(probs)
    classes, p_class = _string_posterior(np.asarray(probs["class_number"]), _class_number_table(),
                                         _class_number_prior())
    serials, p_serial = _string_posterior(np.asarray(probs["serial"]), _serial_table())
    p_kana, p_color = np.asarray(probs["kana"], np.float64), rim_faces_evened(probs["color"])
    p_region = np.asarray(probs["region"], np.float64)

    # class number x kana x colour: the combinations that agree, renormalised
    of_class, table, kinds = _agreement()
    top_class = _candidates(p_class, of_class, len(table))
    top_kana = np.argsort(-p_kana)[:TOP_KANA]
    categories = table[of_class[top_class]][:, top_kana]  # top class x top kana x colour; -1: they disagree
    agree = categories >= 0
    joint = np.where(agree, p_class[top_class, None, None] * p_kana[None, top_kana, None] * p_color, 0.0)
    best: dict[str, str] = {}
    fields: dict[str, FieldReading] = {}
    category = FieldReading(None, 0.0)
    if agree.any():
        total = joint.sum()
        a, b, oi = np.unravel_index(np.argmax(np.where(agree, joint, -1.0)), joint.shape)  # the first likeliest
        ci, ki = top_class[a], top_kana[b]
        for name, mass, value in (("class_number", joint[a].sum(), classes[ci]),
                                  ("kana", joint[:, b].sum(), v["kana"][ki]),
                                  ("color", joint[:, :, oi].sum(), v["color"][oi])):
            best[name], fields[name] = value, FieldReading(value, float(mass / total))
        # the category: the mass of every combination that gives it, and no surer than the class
        # number and kana it rests on (the joint holds only the likeliest of them)
        kind = categories[a, b, oi]
        category = FieldReading(kinds[kind], min(float(joint[categories == kind].sum() / total),
                                                 fields["class_number"].confidence, fields["kana"].confidence))
    else:  # nothing among the likeliest agrees: no trustworthy value for any of the three
        for name, p, labels in (("class_number", p_class, classes), ("kana", p_kana, v["kana"]),
                                ("color", p_color, v["color"])):
            i = int(np.argmax(p))
            best[name], fields[name] = labels[i], FieldReading(None, float(p[i]))

    known = p_region[:-1]
    ri = int(np.argmax(known))
    best["region"] = v["region"][ri]
    unknown = p_region[-1] > known[ri]
    fields["region"] = FieldReading(None if unknown else v["region"][ri], float(p_region[ri]))
    si = int(np.argmax(p_serial))
    best["serial"] = serials[si]
    fields["serial"] = FieldReading(serials[si], float(p_serial[si]))

    # The colour classes presume an ordinary plate, and the lettering read under the grammar is what
    # says it is one: the colour is no surer than the surest of region, class number and serial (a
    # diplomatic or SDF plate, a sign or a sticker reads as none of them). Where the lettering clears
    # the gate's threshold, so does a colour that cleared it before. The category is told by the
    # colour too, so the same holds for it.
    lettering = max(fields[name].confidence for name in LETTERING)
    if fields["color"].confidence > lettering:
        fields["color"] = replace(fields["color"], confidence=lettering)
    category = replace(category, confidence=min(category.confidence, lettering))
    floor = {name: min_confidence for name in READ_FIELDS}
    if not color_seen:
        floor["color"] = max(min_confidence, UNSEEN_COLOR_CONFIDENCE)
    fields = {name: fields[name] if fields[name].value is None or fields[name].confidence >= floor[name]
              else FieldReading(None, fields[name].confidence) for name in READ_FIELDS}
    if category.value is not None and category.confidence < min_confidence:
        category = FieldReading(None, category.confidence)
    plate = None
    printed = all(fields[name].value is not None for name in FIELDS)
    if printed and (fields["color"].value is not None or not color_seen):
        color = fields["color"].value
        plate = PlateText(fields["region"].value, fields["class_number"].value, fields["kana"].value,
                          parse_serial(fields["serial"].value), Color(color) if color else None)
    return Reading(fields=fields, plate=plate, best=best, category_reading=category)
