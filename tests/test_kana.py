import json

import pytest

from edge.plates import Use, VehicleClass, kana_table

REG, KEI = VehicleClass.REGISTERED, VehicleClass.KEI


def test_42_hiragana_and_the_latin_letters():
    all_kana = kana_table().all_kana()
    hiragana = {k for k in all_kana if not k.isascii()}
    assert len(hiragana) == 42
    assert {k for k in all_kana if k.isascii()} == set("EHKMTYAB")
    assert not hiragana & set("おしへんゐゑ")


@pytest.mark.parametrize("vehicle_class,use,size", [
    (REG, Use.PRIVATE, 29), (REG, Use.COMMERCIAL, 10), (REG, Use.RENTAL, 2), (REG, Use.US_FORCES, 7),
    (KEI, Use.PRIVATE, 39), (KEI, Use.COMMERCIAL, 2), (KEI, Use.RENTAL, 1), (KEI, Use.US_FORCES, 2),
])
def test_set_sizes(vehicle_class, use, size):
    assert len(kana_table().sets[vehicle_class][use]) == size


@pytest.mark.parametrize("kana,registered,kei", [
    ("さ", Use.PRIVATE, Use.PRIVATE), ("あ", Use.COMMERCIAL, Use.PRIVATE), ("を", Use.COMMERCIAL, Use.PRIVATE),
    ("わ", Use.RENTAL, Use.RENTAL), ("れ", Use.RENTAL, Use.COMMERCIAL), ("り", Use.PRIVATE, Use.COMMERCIAL),
    ("よ", Use.US_FORCES, Use.PRIVATE), ("Y", Use.US_FORCES, None), ("E", Use.US_FORCES, None),
    ("A", None, Use.US_FORCES), ("B", None, Use.US_FORCES),
])
def test_use_depends_on_the_numbering_system(kana, registered, kei):
    table = kana_table()
    assert table.use_of(kana, REG) is registered
    assert table.use_of(kana, KEI) is kei


def test_each_system_uses_all_42_hiragana_exactly_once():
    table = kana_table()
    for vehicle_class in VehicleClass:
        chars = [k for s in table.sets[vehicle_class].values() for k in s if not k.isascii()]
        assert len(chars) == len(set(chars)) == 42


@pytest.mark.parametrize("kana,fragment", [
    ("お", "never used"), ("し", "never used"), ("へ", "never used"), ("ん", "never used"),
    ("ア", "katakana"), ("サ", "hiragana (さ)"), ("ざ", "dakuten"), ("ぱ", "dakuten"), ("ゃ", "small kana"),
    ("Z", "not a letter used"), ("1", "not a plate kana"), ("漢", "not a plate kana"), ("さす", "not one character"),
])
def test_why_a_character_is_not_a_kana(kana, fragment):
    assert fragment in kana_table().why_not_kana(kana)


def test_data_file_matches_the_shared_reference(shared_dir):
    facts = json.loads((shared_dir / "reference" / "jp_plate_facts.json").read_text(encoding="utf-8"))
    ref = facts["kana"]
    table = kana_table()
    reg = ref["registered_vehicles_自動車登録番号標"]
    kei = ref["kei_vehicles_車両番号標(検査対象軽自動車)"]
    assert table.sets[REG][Use.PRIVATE] == set(reg["private_自家用"])
    assert table.sets[REG][Use.COMMERCIAL] == set(reg["commercial_事業用"])
    assert table.sets[REG][Use.US_FORCES] == set(reg["us_forces_駐留軍人軍属私有車両等"])
    assert table.sets[KEI][Use.PRIVATE] == set(kei["private_自家用"])
    assert table.sets[KEI][Use.US_FORCES] == set(kei["us_forces"])
