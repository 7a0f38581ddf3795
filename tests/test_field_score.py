"""Scoring readings: field comparison, tallies, reliability, grammar checks, baseline text parsing."""

import pytest

from edge.baselines import fields_from_text
from edge.field_score import FieldTally, Reliability, grammar_problems, known, same

LABEL = {"region": "横浜", "class_number": "580", "kana": "む", "serial": "13-76", "color": "yellow"}


def test_which_labels_are_scored():
    assert known("横浜") and known("・・80")
    assert not known("?") and not known("n/a") and not known("10-1?") and not known("")


def test_serials_compare_as_numbers_and_other_fields_as_text():
    assert same("serial", "・・80", "・・80") and same("serial", "13-76", "1376")
    assert not same("serial", "13-76", "13-78") and not same("serial", "13-76", None)
    assert same("region", "横浜", "横浜") and not same("kana", "む", "ま")


def test_tally_counts_right_withheld_missed_and_mistakes():
    t = FieldTally()
    t.add(LABEL, dict(LABEL))
    t.add(LABEL, {**LABEL, "kana": None, "serial": "13-78"})
    t.add(LABEL, None)  # plate not found
    t.add({**LABEL, "kana": "?"}, dict(LABEL))  # kana not scored
    assert t.plates == 4 and t.exact == 2
    assert t.accuracy("region") == 3 / 4
    assert t.accuracy("kana") == 1 / 3 and t.scored["kana"] == 3
    assert t.withheld["kana"] == 1
    mistakes = {(f, label, read) for f, label, read, _ in t.commonest()}
    assert ("serial", "13-76", "13-78") in mistakes and ("kana", "む", "null") in mistakes
    assert ("region", "横浜", "not found") in mistakes
    assert t.to_dict()["field_accuracy"]["color"] == 0.75
    # given wrong: neither withheld nor on a plate not found
    assert t.given_wrong("serial") == 1 and t.given_wrong("kana") == 0 and t.given_wrong("region") == 0
    assert t.to_dict()["given_wrong"]["serial"] == 1


def test_reliability_bins_and_calibration_error():
    r = Reliability()
    for k in range(100):
        r.add(0.95, k < 95)
        r.add(0.6, k < 30)
    rows = {row["confidence"]: row for row in r.rows()}
    assert rows["0.95-0.99"]["accuracy"] == 0.95 and rows["0.95-0.99"]["fields"] == 100
    assert rows["0.50-0.70"]["accuracy"] == 0.3
    assert r.calibration_error() == pytest.approx(0.5 * 0 + 0.5 * 0.3, abs=1e-6)


@pytest.mark.parametrize("plate, bad", [
    ({**LABEL}, None),
    ({**LABEL, "kana": None, "color": None}, None),
    ({**LABEL, "region": "横濱濱"}, "region"),
    ({**LABEL, "class_number": "5A"}, "class_number"),
    ({**LABEL, "kana": "し"}, "kana"),
    ({**LABEL, "serial": "1-376"}, "serial"),
    ({**LABEL, "color": "green"}, "kei"),  # 580 is a kei class, green a registered colour
    ({**LABEL, "kana": "り"}, "kana"),  # り on a yellow plate: a kei commercial kana on a private colour
    ({**LABEL, "region": None, "valid": True}, "valid"),
])
def test_grammar_problems_find_every_impossible_output(plate, bad):
    problems = grammar_problems(plate)
    if bad is None:
        assert problems == []
    else:
        assert problems and any(bad in p for p in problems), problems


@pytest.mark.parametrize("text, fields", [
    ("横浜332\nぬ・・80", ("横浜", "332", "ぬ", "・・80")),
    ("横浜 580\nむ 13-76", ("横浜", "580", "む", "13-76")),
    ("RE\nああ・・ 80", (None, None, "あ", "・・80")),
    ("品川 3OO さ 12ー34", ("品川", "3OO", "さ", "12-34")),  # O is no class-number letter: scored wrong
    ("", (None, None, None, None)),
])
def test_baseline_text_is_split_into_fields(text, fields):
    got = fields_from_text(text)
    assert (got.region, got.class_number, got.kana, got.serial) == fields


def test_the_category_is_scored_as_the_gate_uses_it():
    from edge.field_score import CategoryTally, labelled_category

    fields = {"region": "横浜", "class_number": "580", "kana": "む", "serial": "13-76"}
    assert labelled_category({**fields, "color": "design-yellow"}) == "kei/private"
    assert labelled_category({**fields, "color": "white"}) == "kei/private"  # a Rugby World Cup plate
    assert labelled_category({**fields, "color": "?"}) is None
    assert labelled_category({**fields, "class_number": "300", "color": "yellow"}) is None  # no such plate (a dummy)
    tally = CategoryTally()
    for label, value, confidence in (("kei/private", "kei/private", 0.99), ("kei/private", None, 0.4),
                                     ("kei/private", "registered/private", 0.96),
                                     ("kei/private", "registered/private", 0.995)):
        tally.add(label, value, confidence)
    assert tally.to_dict() == {"scored": 4, "right": 1, "withheld": 1, "wrong_at_0.95": 2, "wrong_at_0.99": 1}


def test_the_gate_takes_a_reading_only_where_every_printed_field_and_the_category_clear_its_threshold():
    from edge.field_score import GateTally
    from edge.plates import FIELDS
    from edge.plates.reading import FieldReading, Reading

    labels = {"region": "横浜", "class_number": "580", "kana": "む", "serial": "13-76", "color": "yellow"}

    def reading(category="kei/private", category_confidence=0.99, **changed):
        """The label read at 0.99, with ``changed`` fields as (value, confidence)."""
        fields = {name: FieldReading(*changed.get(name, (labels[name], 0.99))) for name in (*FIELDS, "color")}
        return Reading(fields=fields, best={name: f.value for name, f in fields.items()}, plate=None,
                       category_reading=FieldReading(category, category_confidence))

    tally = GateTally()
    assert tally.add(labels, reading(), color_seen=True) == []  # taken, right
    assert tally.add(labels, reading(serial=("13-78", 0.96)), color_seen=True) == ["serial"]  # taken, wrong
    assert tally.add(labels, reading(serial=("13-78", 0.94)), color_seen=True) == []  # not taken: unsure
    assert tally.add(labels, reading(kana=(None, 0.6)), color_seen=True) == []  # not taken: withheld
    assert tally.add(labels, reading(category_confidence=0.9), color_seen=True) == []  # not taken: category unsure
    assert tally.add(labels, reading(category="registered/private"), color_seen=True) == ["category"]
    # a colour nobody could see is neither asked for nor scored (the gate does not check it)
    assert tally.add(labels, reading(category=None, category_confidence=0.3), color_seen=False) == []
    assert tally.add({**labels, "serial": "13-7?"}, reading(serial=("13-78", 0.99)), color_seen=True) == []  # not counted
    assert tally.to_dict() == {"plates": 7, "taken": 4, "taken_wrong": 2}
