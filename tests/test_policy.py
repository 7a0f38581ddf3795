"""The gate's decisions: fail closed, tolerances that never open for another listed plate, cooldowns."""

from dataclasses import replace

import numpy as np
import pytest

from edge.events import ListedPlate
from edge.gate.config import GateConfig
from edge.gate.policy import GatePolicy, one_character_apart
from edge.plates import PlateText
from edge.plates.reading import FieldReading, decode, vocabularies
from tests.test_store import _probs, make_event

NOW = 1_800_000_000.0


def listed(text, color=None, **kw):
    return ListedPlate(PlateText.parse(text, color), **kw)


def event(text="品川 300 さ 12-34", colour="white", sure=0.999, color_seen=True, probs=None, **unsure):
    """An event read as ``text`` (from ``probs`` when given); ``unsure`` sets fields' confidences
    (serial=0.9...; category= the category's)."""
    e = make_event(text, colour, pictures=False)
    reading = decode(probs or _probs(PlateText.parse(text, colour), sure), color_seen=color_seen)
    category = FieldReading(reading.category_reading.value, unsure.pop("category", reading.category_reading.confidence))
    fields = {**reading.fields, **{k: FieldReading(reading.fields[k].value, v) for k, v in unsure.items()}}
    return replace(e, reading=replace(reading, fields=fields, category_reading=category), color_seen=color_seen,
                   last_seen=NOW)


def policy(**kw):
    return GatePolicy(GateConfig(mode="allow-list", **kw))


def test_a_listed_plate_read_surely_opens_and_others_do_not():
    allow = [listed("品川 300 さ 12-34", label="社員A")]
    d = policy().decide(event(), allow, NOW)
    assert d.opens and "社員A" in d.reason
    assert policy().decide(event("品川 300 さ 12-84"), allow, NOW).action == "deny"
    assert "not on the allow-list" in policy().decide(event("品川 300 さ 12-84"), allow, NOW).reason


def test_any_field_under_the_threshold_keeps_it_closed():
    allow = [listed("品川 300 さ 12-34")]
    for field in ("region", "class_number", "kana", "serial", "category"):
        d = policy().decide(event(**{field: 0.9}), allow, NOW)  # category= sets what the colour says of the vehicle
        assert d.action == "deny" and field in d.reason
    withheld = event()
    fields = {**withheld.reading.fields, "kana": FieldReading(None, 0.4)}
    d = policy().decide(replace(withheld, reading=replace(withheld.reading, fields=fields)), allow, NOW)
    assert d.action == "deny" and "not read: kana" in d.reason


def test_colour_is_checked_only_where_it_could_be_seen():
    allow = [listed("品川 300 さ 12-34", "white")]
    assert policy().decide(event(), allow, NOW).opens
    # a two-digit class: yellow says kei, white says registered, another vehicle's plate
    kei_listed = [listed("品川 55 さ 12-34", "yellow")]
    assert policy().decide(event("品川 55 さ 12-34", "yellow"), kei_listed, NOW).opens
    d = policy().decide(event("品川 55 さ 12-34", "white"), kei_listed, NOW)
    assert d.action == "deny" and "another category than the registered/private read (white)" in d.reason
    grey = event("品川 100 あ 12-34", "green", color_seen=False)  # green, or a design plate's green rim
    assert grey.reading.fields["color"].value is None
    d = policy().decide(grey, [listed("品川 100 あ 12-34", "green")], NOW)
    assert d.opens and "colour not seen" in d.reason


def _rim_unseen(text: str) -> dict:
    """A kei private plate read surely, its face white or design-yellow at even odds (the rim not seen)."""
    probs = _probs(PlateText.parse(text, "design-yellow"), 0.999)
    colours = vocabularies()["color"]
    probs["color"] = np.array([0.5 if c in ("white", "design-yellow") else 0.0 for c in colours])
    return probs


def test_a_kei_plate_whose_rim_is_unseen_opens_for_its_listing_whatever_its_face():
    text = "横浜 580 む 13-76"
    e = event(text, "design-yellow", probs=_rim_unseen(text))
    assert e.reading.fields["color"].confidence < 0.9 and e.reading.category_reading.value == "kei/private"
    assert e.reading.category_reading.confidence > 0.99
    for face in ("design-yellow", "yellow", "white"):  # the design plate, the plain one it replaced, a Rugby one
        d = policy().decide(e, [listed(text, face)], NOW)
        assert d.opens, (face, d.reason)
        assert face == e.reading.fields["color"].value or f"listed {face}, face read white: both kei/private" in d.reason
    assert policy().decide(e, [listed(text)], NOW).opens
    # the face is no excuse for lettering: one character off still does not open
    assert policy().decide(e, [listed("横浜 580 む 13-78", "design-yellow")], NOW).action == "deny"


def test_validity_window():
    allow = [listed("品川 300 さ 12-34", valid_from=NOW - 10, valid_until=NOW - 1)]
    d = policy().decide(event(), allow, NOW)
    assert d.action == "deny" and "not valid now" in d.reason


def test_the_serial_tolerance_never_opens_for_another_listed_plate():
    lone = [listed("品川 300 さ 12-34")]
    tolerant = policy(tolerance="serial-digit", tolerance_floor=0.8)
    assert not policy().decide(event(serial=0.85), lone, NOW).opens  # no tolerance named: closed
    d = tolerant.decide(event(serial=0.85), lone, NOW)
    assert d.opens and "tolerance serial-digit" in d.reason
    # 12-34 and 12-84 both listed: an unsure 3 might be the 8; closed
    twins = lone + [listed("品川 300 さ 12-84")]
    assert policy(tolerance="serial-digit").decide(event(serial=0.85), twins, NOW).action == "deny"
    # under the floor, or another field unsure too: closed
    assert policy(tolerance="serial-digit").decide(event(serial=0.6), lone, NOW).action == "deny"
    assert policy(tolerance="serial-digit").decide(event(serial=0.85, kana=0.9), lone, NOW).action == "deny"


@pytest.mark.parametrize("a, b, apart", [
    ("品川 300 さ 12-34", "品川 300 さ 12-84", True), ("品川 300 さ 16-34", "品川 300 さ 19-34", True),
    ("品川 300 ま 12-34", "品川 300 よ 12-34", True), ("品川 300 ね 12-34", "品川 300 れ 12-34", True),
    ("福島 300 さ 12-34", "福山 300 さ 12-34", True), ("品川 310 さ 12-34", "品川 370 さ 12-34", True),
    ("品川 300 さ 12-34", "品川 300 さ 12-89", False), ("品川 300 さ 12-34", "横浜 300 さ 12-34", False),
    ("品川 300 さ 12-34", "品川 300 さ 12-34", False),
])
def test_one_character_apart(a, b, apart):
    assert one_character_apart(PlateText.parse(a), PlateText.parse(b)) is apart


def test_cooldowns_per_plate_and_per_gate():
    allow = [listed("品川 300 さ 12-34"), listed("横浜 580 む 13-76"), listed("足立 500 あ 12-34")]
    p = policy(cooldown_plate_seconds=20, cooldown_gate_seconds=2)
    assert p.decide(event(), allow, NOW).opens
    again = p.decide(event(), allow, NOW + 5)
    assert again.action == "skip" and "opened for 5.0 s ago" in again.reason
    other = p.decide(event("横浜 580 む 13-76", "yellow"), allow, NOW + 6)
    assert other.opens
    quick = p.decide(event("足立 500 あ 12-34", "green"), allow, NOW + 7)
    assert quick.action == "skip" and "gate pulsed 1.0 s ago" in quick.reason
    assert p.decide(event(), allow, NOW + 30).opens


def test_modes():
    anyone = event("品川 300 さ 12-84", serial=0.3)
    assert GatePolicy(GateConfig(mode="open-all")).decide(anyone, [], NOW).opens
    assert GatePolicy(GateConfig(mode="log-only")).decide(event(), [listed("品川 300 さ 12-34")], NOW).action == "log"


def test_gate_config_names_bad_keys():
    from edge.common.errors import ConfigError

    for kw, key in [({"mode": "open"}, "gate.mode"), ({"relay": "usb:/dev/x"}, "gate.relay"),
                    ({"relay": "lcus:"}, "gate.relay"), ({"tolerance": "loose"}, "gate.tolerance"),
                    ({"pulse_ms": 10}, "gate.pulse_ms"), ({"tolerance_floor": 0.99}, "gate.tolerance_floor")]:
        with pytest.raises(ConfigError, match=key):
            GateConfig(**kw)
    assert np.isclose(GateConfig().min_field_confidence, 0.95)
