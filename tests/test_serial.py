import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.plates import SerialError, format_serial, parse_serial

PRINTED = re.compile(r"^(・・・[1-9]|・・[1-9][0-9]|・[1-9][0-9]{2}|[1-9][0-9]-[0-9]{2})$")


@pytest.mark.parametrize("number,printed", [(1, "・・・1"), (12, "・・12"), (123, "・123"), (1234, "12-34"),
                                            (9999, "99-99"), (1000, "10-00"), (80, "・・80")])
def test_printed_form(number, printed):
    assert format_serial(number) == printed
    assert parse_serial(printed) == number


def test_every_number_round_trips_through_its_printed_form():
    for number in range(1, 10000):
        printed = format_serial(number)
        assert PRINTED.match(printed), printed
        assert parse_serial(printed) == number


@pytest.mark.parametrize("written,number", [
    ("1234", 1234), ("12", 12), ("1", 1), ("１２－３４", 1234), ("12ー34", 1234), ("12−34", 1234),
    ("··12", 12), ("･･12", 12), ("..12", 12), (" ・123 ", 123),
])
def test_what_people_type(written, number):
    import unicodedata
    assert parse_serial(unicodedata.normalize("NFKC", written)) == number


@pytest.mark.parametrize("written,fragment", [
    ("", "missing"), ("0", "zero"), ("0000", "zero"), ("・・・0", "zero"), ("12345", "5 digits"),
    ("0012", "leading zero"), ("・1234", "no dots"), ("12-3", "only with 4 digits"), ("1-234", "expected 12-34"),
    ("123-4", "expected 12-34"), ("・・123", "expected ・123"), ("12・34", "expected 12-34"), ("--", "no digits"),
    ("12a4", "'a' is not a digit"), ("٣", "not a digit"), ("12 34", "' ' is not a digit"),
])
def test_malformed(written, fragment):
    with pytest.raises(SerialError, match=re.escape(fragment)):
        parse_serial(written)


@pytest.mark.parametrize("number", [0, -1, 10000, 1.5, "12", True, None])
def test_format_rejects_what_is_not_a_serial(number):
    with pytest.raises(SerialError):
        format_serial(number)


@given(st.text(max_size=12))
def test_parse_never_fails_any_other_way(text):
    try:
        number = parse_serial(text)
    except SerialError:
        return
    assert 1 <= number <= 9999
