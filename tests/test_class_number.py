import pytest

from edge.plates import VehicleClass, class_number_rules

REG, KEI = VehicleClass.REGISTERED, VehicleClass.KEI


@pytest.mark.parametrize("class_number", ["1", "5", "0", "33", "40", "300", "999", "30A", "32H", "34P", "31Y",
                                          "3P0", "3X0", "58A", "59C", "4PA", "5XC", "480"])
def test_well_formed(class_number):
    assert class_number_rules().grammar_error(class_number) is None


@pytest.mark.parametrize("class_number,fragment", [
    ("", "missing"), ("3000", "1 to 3"), ("A30", "first character is always a digit"),
    ("3A", "only in 3-character"), ("30B", "'B' is not allowed"), ("3O0", "'O' is not allowed"),
    ("30I", "'I' is not allowed"), ("3-0", "'-' is not allowed"), ("30a", "'a' is not allowed"),
])
def test_malformed(class_number, fragment):
    assert fragment in class_number_rules().grammar_error(class_number)


@pytest.mark.parametrize("class_number,implied", [
    ("300", REG), ("30A", REG), ("3P0", REG), ("101", REG), ("999", REG), ("3", REG), ("33", REG),
    ("580", KEI), ("4PA", KEI), ("59C", KEI), ("5XC", KEI), ("500", REG), ("57A", REG),
    # short forms starting 4 to 8 were used by both systems
    ("40", None), ("55", None), ("5", None),
])
def test_implied_numbering_system(class_number, implied):
    assert class_number_rules().implied_class(class_number) is implied


@pytest.mark.parametrize("class_number,vehicle_class", [
    ("300", KEI), ("101", KEI), ("500", KEI), ("9", KEI), ("580", REG), ("490", REG),
])
def test_conflicts_with_numbering_system(class_number, vehicle_class):
    assert class_number_rules().conflict(class_number, vehicle_class)


@pytest.mark.parametrize("class_number,vehicle_class", [
    ("300", REG), ("580", KEI), ("40", KEI), ("40", REG), ("4PA", KEI), ("5P0", REG),
])
def test_no_conflict(class_number, vehicle_class):
    assert class_number_rules().conflict(class_number, vehicle_class) is None


def test_soft_doubts():
    rules = class_number_rules()
    assert "x99" in rules.doubt("399", REG)
    assert rules.doubt("599", KEI) is None  # kei 599 has been issued
    assert "unverified" in rules.doubt("5P0", REG)
    assert rules.doubt("3P0", REG) is None


def test_kind_of_vehicle():
    rules = class_number_rules()
    assert "passenger" in rules.kind("300", REG)
    assert "kei goods" in rules.kind("480", KEI)
    assert rules.kind("40", None) is None
