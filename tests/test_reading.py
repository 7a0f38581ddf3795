"""Grammar-constrained decoding: from field probabilities to a valid plate or null fields."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.field_score import grammar_problems
from edge.plates import PlateText
from edge.plates.reading import (LETTER_CLASS_SHARE_TRAINED, PLACES, READ_FIELDS, RIM_FACE_CONFIDENCE, RIM_FACES,
                                 FieldReading, decode, plate_labels, tempered, vocabularies)
from edge.synth.texts import random_plate_text


def probs_for(labels: dict[str, list[int]], sure: float = 0.97) -> dict[str, np.ndarray]:
    """Probabilities that put ``sure`` on each labelled class and spread the rest evenly."""
    out = {}
    for name, indices in labels.items():
        n = len(vocabularies()[name])
        p = np.full((len(indices), n), (1 - sure) / (n - 1))
        p[np.arange(len(indices)), indices] = sure
        out[name] = p[0] if PLACES[name] == 1 else p
    return out


def as_output(reading) -> dict:
    return {**{k: f.value for k, f in reading.fields.items()}, "valid": reading.plate is not None}


@pytest.mark.parametrize("seed", range(40))
def test_a_confident_reading_decodes_to_that_plate(seed):
    plate = random_plate_text(np.random.default_rng(seed))
    reading = decode(probs_for(plate_labels(plate)))
    assert reading.plate == plate and reading.plate.color == plate.color
    assert all(f.confidence > 0.8 for f in reading.fields.values()  # a string of places: the product
               if f is not reading.fields["color"] or f.value not in RIM_FACES or not plate.meaning.kei)
    if plate.meaning.kei and plate.color.value in RIM_FACES:  # a face only a rim tells (a kei design plate)
        assert 0.7 < reading.fields["color"].confidence <= RIM_FACE_CONFIDENCE + 1e-9
    assert reading.number == plate.number
    assert reading.category == plate.meaning.category


def test_places_that_spell_no_class_number_give_the_likeliest_one_that_does():
    plate = PlateText.parse("品川 300 さ 12-34", "white")
    probs = probs_for(plate_labels(plate))
    symbols = vocabularies()["class_number"]
    places = probs["class_number"]
    places[0] = 0.01 / len(symbols)
    places[0, symbols.index("A")] = 0.6  # a letter can never come first...
    places[0, symbols.index("3")] = 0.39  # ...so the digit behind it wins
    reading = decode(probs)
    assert reading.fields["class_number"].value == "300"


def test_a_letter_class_number_needs_the_evidence_its_rarity_on_the_road_asks_for():
    plate = PlateText.parse("品川 301 さ 12-34", "white")
    probs = probs_for(plate_labels(plate))
    symbols = vocabularies()["class_number"]
    third = probs["class_number"][2]
    third[:] = 0.01 / len(symbols)
    third[symbols.index("Y")] = 0.6  # a blurred 1 that looks a little more like a Y...
    third[symbols.index("1")] = 0.3
    assert decode(probs).fields["class_number"].value == "301"  # ...is a 1: letters are rare
    lettered = PlateText.parse("品川 30A さ 12-34", "white")
    assert decode(probs_for(plate_labels(lettered))).plate == lettered  # a clear letter is read


def test_the_letter_share_the_decoder_divides_out_is_the_training_plates_share():
    rng = np.random.default_rng(5)
    plates = [random_plate_text(rng) for _ in range(20000)]
    share = np.mean([any(c.isalpha() for c in p.class_number) for p in plates])
    assert abs(share - LETTER_CLASS_SHARE_TRAINED) < 0.01, "edge.synth.texts changed: update the decoder's prior"


def test_serial_dots_only_lead_and_the_hyphen_needs_four_digits():
    plate = PlateText.parse("品川 300 さ ・・12", "white")
    probs = probs_for(plate_labels(plate))
    symbols = vocabularies()["serial"]
    serial = probs["serial"]
    serial[2] = 0.001
    serial[2, symbols.index("・")] = 0.55  # a dot after a dot before digits: "・・・2" is allowed...
    serial[2, symbols.index("1")] = 0.44
    reading = decode(probs)
    assert reading.fields["serial"].value in ("・・12", "・・・2")
    serial[3] = 0.001
    serial[3, symbols.index("・")] = 0.9  # ...but never a dot after digits
    serial[3, symbols.index("2")] = 0.099
    assert decode(probs).fields["serial"].value in ("・・12", "・・・2", "・・・1")


def test_kana_and_colour_that_disagree_are_decoded_into_ones_that_agree():
    plate = PlateText.parse("横浜 580 り 13-76", "black")  # り: kei commercial, so black
    probs = probs_for(plate_labels(plate))
    colors = vocabularies()["color"]
    probs["color"] = np.full(len(colors), 0.01)
    probs["color"][colors.index("yellow")] = 0.6  # the light made it look yellow
    probs["color"][colors.index("black")] = 0.35
    reading = decode(probs)
    assert (reading.fields["kana"].value, reading.fields["color"].value) == ("り", "black")
    assert grammar_problems(as_output(reading)) == []


def test_a_colour_seen_surely_is_weighed_with_the_class_numbers_of_its_kind_however_unlikely_they_are():
    # lever 120: a small yellow plate whose class number is a blur (越谷 888 な 21-23 seen 57 px
    # wide): the places prefer 3x3 so strongly that the 40 likeliest class numbers are all
    # registered ones, none of which a yellow plate can carry; the colour classifier is sure of yellow
    plate = PlateText.parse("越谷 888 な 21-23", "yellow")
    probs = probs_for(plate_labels(plate), sure=0.999)
    symbols, colors = vocabularies()["class_number"], vocabularies()["color"]
    places = np.full((3, len(symbols)), 1e-5)
    for place, spread in enumerate((  # the places as read, to three figures
            {"3": 0.851, "8": 0.0714, "5": 0.0439, "0": 0.0124, "9": 0.0087, "1": 0.0078, "2": 0.0022, "7": 0.001},
            {"1": 0.471, "0": 0.376, "L": 0.0504, "8": 0.0423, "6": 0.0099, "X": 0.0099, "A": 0.0074, "3": 0.0071},
            {"3": 0.531, "8": 0.22, "0": 0.136, "2": 0.0559, "1": 0.0278, "4": 0.0058, "5": 0.0053, "X": 0.0033})):
        for symbol, p in spread.items():
            places[place, symbols.index(symbol)] = p
    probs["class_number"] = places / places.sum(axis=1, keepdims=True)
    probs["color"] = np.full(len(colors), 1e-7)
    probs["color"][colors.index("yellow")] = 1.0
    reading = decode(probs)
    assert reading.fields["color"].value == "yellow"
    assert reading.best["class_number"][0] in "58"  # a kei class, not the registered 313
    assert grammar_problems(as_output(reading)) == []


def test_a_colour_is_no_surer_than_the_plates_lettering():
    plate = PlateText.parse("品川 300 さ 12-34", "white")
    probs = probs_for(plate_labels(plate), sure=0.999)
    sure_colour = decode(probs).fields["color"]
    assert sure_colour.value == "white" and sure_colour.confidence > 0.99
    flat = {name: np.full_like(probs[name], 1 / probs[name].shape[-1]) for name in ("region", "class_number", "serial")}
    # a plate none of whose lettering reads as a plate's (a diplomatic or SDF plate, a sign): its
    # colour classifier's certainty stands on nothing, so the colour is withheld
    unread = decode({**probs, **flat}, min_confidence=0.5)
    assert all(unread.fields[name].value is None for name in ("region", "class_number", "serial", "color"))
    assert unread.fields["color"].confidence <= max(unread.fields[n].confidence for n in ("region", "class_number", "serial"))
    # one field of lettering read at 0.8: the colour is given, but at no more than 0.8
    region = np.full_like(probs["region"], 0.2 / (len(probs["region"]) - 1))
    region[vocabularies()["region"].index("品川")] = 0.8
    partly = decode({**probs, **flat, "region": region})
    assert partly.fields["color"].value == "white"
    assert partly.fields["color"].confidence == pytest.approx(partly.fields["region"].confidence)
    assert partly.fields["color"].confidence < 0.81


def test_an_unsure_field_is_null_with_its_confidence():
    plate = PlateText.parse("品川 300 さ 12-34", "white")
    probs = probs_for(plate_labels(plate))
    probs["kana"] = np.full(len(vocabularies()["kana"]), 1 / len(vocabularies()["kana"]))
    reading = decode(probs, min_confidence=0.5)
    assert reading.fields["kana"].value is None
    assert 0 < reading.fields["kana"].confidence < 0.5
    assert reading.plate is None and reading.category is None
    assert reading.fields["serial"].value == "12-34"


def test_an_old_label_is_an_unknown_region():
    plate = PlateText.parse("品 5 ひ 38-19", "white")
    labels = plate_labels(plate)
    assert vocabularies()["region"][labels["region"][0]] == "?"
    reading = decode(probs_for(labels))
    assert reading.fields["region"].value is None
    assert reading.fields["class_number"].value == "5"


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.floats(0.05, 3.0), st.floats(0.0, 0.9))
def test_whatever_the_classifiers_say_the_output_is_never_impossible(seed, concentration, threshold):
    rng = np.random.default_rng(seed)
    probs = {}
    for name in READ_FIELDS:
        n = len(vocabularies()[name])
        p = rng.dirichlet(np.full(n, concentration), PLACES[name])
        probs[name] = p[0] if PLACES[name] == 1 else p
    reading = decode(probs, min_confidence=threshold)
    assert grammar_problems(as_output(reading)) == []
    for f in reading.fields.values():
        assert 0.0 <= f.confidence <= 1.0 + 1e-9
    if reading.plate is not None:
        assert all(f.value is not None for f in reading.fields.values())


def test_the_agreement_table_matches_the_full_plate_check():
    from edge.plates import Color, PlateTextError
    from edge.plates.reading import _agreement, _class_number_table

    classes, _ = _class_number_table()
    of_class, table, kinds = _agreement()
    v = vocabularies()
    for i in range(0, len(classes), 37):
        for k, kana in enumerate(v["kana"]):
            for o, color in enumerate(v["color"]):
                try:
                    said = PlateText("品川", classes[i], kana, 1, Color(color)).meaning.category
                except PlateTextError:
                    said = None
                cell = table[of_class[i], k, o]
                assert (kinds[cell] if cell >= 0 else None) == said, (classes[i], kana, color)


def test_a_reading_contradicts_another_plate_but_not_its_own_misread():
    def read(text: str, withheld: tuple[str, ...] = ()):
        probs = probs_for(plate_labels(PlateText.parse(text, "white")), sure=0.99)
        for name in withheld:  # far away: the field not read
            probs[name] = np.full_like(probs[name], 1 / len(vocabularies()[name]))
        return decode(probs)

    plate = read("旭川 891 み ・・・1")
    assert not plate.contradicts(read("旭川 897 み ・・・1"))  # one field misread: the same plate
    assert plate.contradicts(read("旭川 891 せ 12-34"))  # two fields apart: another plate
    assert plate.contradicts(read("浜松 325 ら 11-56")) and read("浜松 325 ら 11-56").contradicts(plate)
    # only fields read in both count: a plate read in part contradicts only what it shows
    assert not plate.contradicts(read("浜松 325 ら ・・・1", withheld=("region", "class_number")))
    assert plate.contradicts(read("浜松 325 ら 11-56", withheld=("region", "class_number")))


def test_a_kei_plates_category_is_sure_where_its_face_is_not():
    plate = PlateText.parse("横浜 580 む 13-76", "design-yellow")
    probs = probs_for(plate_labels(plate))
    colours = vocabularies()["color"]
    probs["color"] = np.array([0.55 if c == "white" else 0.45 if c == "design-yellow" else 0.0 for c in colours])
    reading = decode(probs)
    assert reading.fields["color"].value == "white" and reading.fields["color"].confidence < 0.6  # the rim unseen
    assert reading.category == "kei/private"  # as sure as the class number and kana that tell it
    assert reading.category_reading.confidence == pytest.approx(min(reading.fields[n].confidence
                                                                    for n in ("class_number", "kana")))
    assert reading.category_reading.confidence > 0.95
    assert reading.category == plate.meaning.category == PlateText.parse("横浜 580 む 13-76", "white").meaning.category
    # a category is no surer than the kana it rests on
    probs["kana"] = np.full(len(vocabularies()["kana"]), 1 / len(vocabularies()["kana"]))
    assert decode(probs).category is None


def test_a_face_only_a_rim_tells_is_given_no_surer_than_the_colour_classifier_has_been_on_it():
    for text, color, capped in (("横浜 580 む 13-76", "design-yellow", True), ("横浜 580 む 13-76", "white", True),
                                ("横浜 580 む 13-76", "yellow", False), ("品川 300 さ 12-34", "white", False),
                                ("品川 100 あ 12-34", "design-green", False)):
        reading = decode(probs_for(plate_labels(PlateText.parse(text, color)), sure=0.9999))
        face = reading.fields["color"]
        assert face.value == color
        assert (face.confidence == pytest.approx(RIM_FACE_CONFIDENCE, abs=0.001)) if capped else face.confidence > 0.99, \
            (text, color)
        assert reading.category_reading.confidence > 0.99  # what the gate checks stays sure


def test_between_rim_faces_of_two_categories_the_kana_decides_not_the_colour_classifier():
    plate = PlateText.parse("品川 100 あ 12-34", "design-green")  # commercial: a green rim on a white face
    probs = probs_for(plate_labels(plate), sure=0.9999)
    colours, kana = vocabularies()["color"], vocabularies()["kana"]
    probs["color"] = np.array([0.998 if c == "white" else 0.002 if c == "design-green" else 0.0 for c in colours])
    probs["kana"] = np.array([0.9 if k == "あ" else 0.1 if k == "さ" else 0.0 for k in kana])
    reading = decode(probs)  # the kana's word outweighs the colour classifier's on the rim
    assert reading.plate == plate and reading.category == "registered/commercial"
    assert reading.fields["color"].confidence < 0.9
    probs["kana"] = np.array([0.5 if k in "あさ" else 0.0 for k in kana])  # the kana torn: so is the face
    reading = decode(probs)
    assert reading.fields["color"].value == "white" and reading.fields["color"].confidence < 0.8
    assert reading.category is None or reading.category_reading.confidence < 0.8


def test_a_tempered_reading_is_less_sure_keeps_its_order_and_withholds_what_falls_under_the_floor():
    reading = decode(probs_for(plate_labels(PlateText.parse("品川 300 さ 12-34", "white")), sure=0.99))
    assert reading.plate is not None
    calm = tempered(reading, 2.0)
    before = {name: f.confidence for name, f in reading.fields.items()}
    after = {name: f.confidence for name, f in calm.fields.items()}
    assert all(after[n] <= before[n] for n in before) and calm.plate == reading.plate
    assert sorted(before, key=before.get) == sorted(after, key=after.get)
    assert calm.category_reading.confidence <= reading.category_reading.confidence
    # a temperature cannot move a confidence of 1.0; the cap does
    sure = replace(reading, fields={**reading.fields, "serial": FieldReading("12-34", 1.0)})
    assert tempered(sure, 2.0).fields["serial"].confidence == 1.0
    assert tempered(sure, 2.0, most=0.9).fields["serial"].confidence == 0.9
    assert tempered(sure, 1.0, most=1.0).fields == sure.fields
    # under the floor: withheld, and the plate with it
    unsure = replace(reading, fields={**reading.fields, "kana": FieldReading("さ", 0.7)})
    low = tempered(unsure, 3.0, min_confidence=0.65)
    assert low.fields["kana"].value is None and low.plate is None
    assert 0.5 < low.fields["kana"].confidence < 0.65
