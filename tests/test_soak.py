"""The safety soak's vehicles: near misses really are one confusable character from a listed plate."""

import numpy as np

from edge.gate.policy import one_character_apart
from edge.soak import near_misses, plan
from edge.plates import PlateText


def test_near_misses_are_valid_plates_one_character_away():
    rng = np.random.default_rng(0)
    plate = PlateText.parse("品川 330 ま 38-69", "white")
    misses = near_misses(plate, rng)
    texts = {m.format() for m in misses}
    assert {"品川 330 よ 38-69", "品川 330 ま 88-69", "品川 330 ま 33-69", "品川 330 ま 38-99", "品川 330 ま 38-66"} <= texts
    assert all(one_character_apart(plate, m) for m in misses)


def test_the_plan_is_mostly_near_misses_with_some_listed():
    allow, fleet = plan(300, 20, seed=5)
    assert len(allow) == 20 and len({e.plate.format() for e in allow}) == 20
    kinds = [v.kind for v in fleet]
    assert kinds.count("near miss") > 150 and 15 < kinds.count("listed") < 60
    listed = {e.plate.format() for e in allow}
    for v in fleet:
        assert (v.plate.format() in listed) == (v.kind == "listed")
        if v.kind == "near miss":
            assert one_character_apart(PlateText.parse(v.near), v.plate)
    assert plan(300, 20, seed=5)[1] == fleet  # the same seed, the same vehicles


def test_listed_vehicles_may_show_another_face_of_their_category():
    from edge.soak import other_faces

    kei = PlateText.parse("横浜 580 む 13-76", "yellow")
    assert {p.color.value for p in other_faces(kei)} == {"design-yellow", "white"}
    assert {p.color.value for p in other_faces(PlateText.parse("品川 100 あ 12-34", "green"))} == {"design-green"}
    assert other_faces(PlateText.parse("品川 300 さ 12-34", "white")) == []  # a design plate of it is white too
    assert other_faces(PlateText.parse("品川 55 さ 12-34", "yellow")) == []  # no design plate for a 2-digit class
    allow, fleet = plan(600, 20, seed=5)
    listed = {e.plate.format(): e.plate for e in allow}
    swapped = [v for v in fleet if v.other_face]
    assert swapped and all(v.kind == "listed" and v.plate.color != listed[v.plate.format()].color
                           and v.plate.meaning.category == listed[v.plate.format()].meaning.category for v in swapped)
