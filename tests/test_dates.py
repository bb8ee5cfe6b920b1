"""Tests for eligimatch.knowledge._dates: partial dates, calendar arithmetic, windows and ages."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eligimatch.knowledge import (
    PartialDate,
    PartialDateField,
    add_months,
    add_years,
    completed_months,
    completed_years,
    completed_years_range,
    in_window,
    shift,
    window_start,
)

D = date

# Dates far enough from the ends of the calendar that +-100 years stays valid.
dates = st.dates(min_value=D(1200, 1, 1), max_value=D(8800, 12, 31))


# --------------------------------------------------------------------------- PartialDate.parse


@pytest.mark.parametrize(
    ("text", "earliest", "latest", "exact", "precision"),
    [
        ("2025", D(2025, 1, 1), D(2025, 12, 31), False, "year"),
        ("2025-03", D(2025, 3, 1), D(2025, 3, 31), False, "month"),
        ("2025-03-14", D(2025, 3, 14), D(2025, 3, 14), True, "day"),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29), False, "month"),
        ("2023-02", D(2023, 2, 1), D(2023, 2, 28), False, "month"),
        ("1900-02", D(1900, 2, 1), D(1900, 2, 28), False, "month"),
        ("2000-02-29", D(2000, 2, 29), D(2000, 2, 29), True, "day"),
    ],
)
def test_parse_text_forms(text, earliest, latest, exact, precision):
    pd = PartialDate.parse(text)
    assert (pd.earliest, pd.latest, pd.text) == (earliest, latest, text)
    assert pd.exact is exact
    assert pd.precision == precision
    assert str(pd) == text


def test_parse_strips_surrounding_whitespace():
    assert PartialDate.parse("  2025-03\n").text == "2025-03"


@pytest.mark.parametrize(
    "bad",
    ["2025-13", "2025-00", "2025-02-30", "2023-02-29", "0000", "25", "20250", "2025/03/01", "2025-3",
     "2025-03-1", "", "abc", "2025-03-14T10:00", "14/03/2025"],
)
def test_parse_rejects_malformed_text(bad):
    with pytest.raises(ValueError):
        PartialDate.parse(bad)


def test_parse_error_names_accepted_forms():
    with pytest.raises(ValueError, match=r"YYYY, YYYY-MM or YYYY-MM-DD"):
        PartialDate.parse("14/03/2025")


def test_parse_error_explains_impossible_day():
    with pytest.raises(ValueError, match="February 2025 has days 01 to 28"):
        PartialDate.parse("2025-02-29")


@pytest.mark.parametrize("bad", [2025, 2025.5, None, ["2025"], b"2025"])
def test_parse_rejects_other_types_with_value_error(bad):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        PartialDate.parse(bad)


def test_parse_date_and_naive_datetime():
    assert PartialDate.parse(D(2025, 3, 14)) == PartialDate.parse("2025-03-14")
    from_dt = PartialDate.parse(datetime(2025, 3, 14, 23, 59))
    assert from_dt.text == "2025-03-14" and from_dt.exact


def test_parse_rejects_aware_datetime():
    with pytest.raises(ValueError, match="time zone"):
        PartialDate.parse(datetime(2025, 3, 14, 23, 0, tzinfo=timezone.utc))


def test_parse_returns_partial_date_unchanged():
    pd = PartialDate.parse("2025-03")
    assert PartialDate.parse(pd) is pd


def test_direct_construction_must_match_text():
    assert PartialDate(D(2025, 3, 1), D(2025, 3, 31), "2025-03") == PartialDate.parse("2025-03")
    with pytest.raises(ValueError, match="do not match"):
        PartialDate(D(2025, 3, 1), D(2025, 3, 30), "2025-03")
    with pytest.raises(TypeError):
        PartialDate(datetime(2025, 3, 14), datetime(2025, 3, 14), "2025-03-14")


def test_partial_dates_are_hashable_and_not_ordered():
    a, b = PartialDate.parse("2025"), PartialDate.parse("2025")
    assert a == b and hash(a) == hash(b)
    assert PartialDate.parse("2025") != PartialDate.parse("2025-01")
    with pytest.raises(TypeError):
        _ = PartialDate.parse("2025") < PartialDate.parse("2026")  # type: ignore[operator]


def test_partial_date_is_frozen():
    pd = PartialDate.parse("2025")
    with pytest.raises(AttributeError):
        pd.text = "2026"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "start", "end", "expected"),
    [
        ("2025-03", D(2025, 3, 1), D(2025, 3, 31), True),
        ("2025-03", D(2025, 2, 1), D(2025, 4, 30), True),
        ("2025-03", D(2025, 3, 10), D(2025, 4, 30), None),
        ("2025-03", D(2025, 4, 1), D(2025, 4, 30), False),
        ("2025-03", D(2025, 1, 1), D(2025, 2, 28), False),
        ("2025-03-10", D(2025, 3, 10), D(2025, 3, 10), True),
        ("2025", D(2025, 6, 1), D(2026, 6, 1), None),
    ],
)
def test_within_is_three_valued(value, start, end, expected):
    assert PartialDate.parse(value).within(start, end) is expected


def test_within_rejects_empty_window():
    with pytest.raises(ValueError):
        PartialDate.parse("2025").within(D(2025, 2, 1), D(2025, 1, 1))


# --------------------------------------------------------------------------- pydantic


class Record(pydantic.BaseModel):
    onset: PartialDateField
    resolved: PartialDate | None = None


def test_pydantic_field_accepts_str_date_and_partial_date():
    assert Record(onset="2025-03").onset == PartialDate.parse("2025-03")
    assert Record(onset=D(2025, 3, 14)).onset.exact
    pd = PartialDate.parse("2024")
    assert Record(onset=pd).onset is pd
    assert Record(onset="2025", resolved="2025-06").resolved == PartialDate.parse("2025-06")


def test_pydantic_serializes_back_to_text():
    rec = Record(onset="2025-03", resolved=D(2025, 4, 2))
    assert rec.model_dump() == {"onset": "2025-03", "resolved": "2025-04-02"}
    assert rec.model_dump_json() == '{"onset":"2025-03","resolved":"2025-04-02"}'
    assert Record.model_validate_json(rec.model_dump_json()) == rec


@pytest.mark.parametrize("bad", ["2025-13", "March 2025", 2025, datetime(2025, 1, 1, tzinfo=timezone.utc)])
def test_pydantic_invalid_values_raise_validation_error(bad):
    with pytest.raises(pydantic.ValidationError) as info:
        Record(onset=bad)
    errors = info.value.errors()
    assert errors[0]["loc"] == ("onset",)


def test_pydantic_json_input_must_be_a_string():
    with pytest.raises(pydantic.ValidationError):
        Record.model_validate_json('{"onset": 2025}')
    assert Record.model_validate_json('{"onset": "2025-03-14"}').onset.exact


def test_pydantic_json_schema_is_a_patterned_string():
    schema = Record.model_json_schema()["properties"]["onset"]
    assert schema["type"] == "string"
    assert schema["pattern"] == r"^\d{4}(-\d{2}(-\d{2})?)?$"


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2024, 8, 31), 6, D(2025, 2, 28)),
        (D(2023, 8, 31), 6, D(2024, 2, 29)),
        (D(2027, 2, 28), -6, D(2026, 8, 28)),
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2025, 3, 31), -1, D(2025, 2, 28)),
        (D(2025, 11, 30), 3, D(2026, 2, 28)),
        (D(2025, 1, 15), -1, D(2024, 12, 15)),
        (D(2025, 1, 15), -13, D(2023, 12, 15)),
        (D(2025, 5, 31), 1, D(2025, 6, 30)),
        (D(2025, 5, 20), 0, D(2025, 5, 20)),
        (D(2025, 12, 31), 12, D(2026, 12, 31)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (D(2024, 2, 29), 1, D(2025, 2, 28)),
        (D(2024, 2, 29), 4, D(2028, 2, 29)),
        (D(2024, 2, 29), -1, D(2023, 2, 28)),
        (D(2025, 7, 4), -10, D(2015, 7, 4)),
    ],
)
def test_add_years(start, years, expected):
    assert add_years(start, years) == expected


def test_arithmetic_out_of_range_raises_overflow():
    with pytest.raises(OverflowError):
        add_months(D(9999, 12, 1), 1)
    with pytest.raises(OverflowError):
        add_years(D(1, 6, 1), -1)
    with pytest.raises(OverflowError):
        shift(D(9999, 12, 31), 1, "day")


def test_arithmetic_rejects_datetimes_and_non_integers():
    with pytest.raises(TypeError):
        add_months(datetime(2025, 1, 1), 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_months(D(2025, 1, 1), 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        shift(D(2025, 1, 1), True, "day")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (10, "day", D(2025, 3, 24)),
        (10, "days", D(2025, 3, 24)),
        (-14, "DAYS", D(2025, 2, 28)),
        (2, "week", D(2025, 3, 28)),
        (-2, " Weeks ", D(2025, 2, 28)),
        (1, "month", D(2025, 4, 14)),
        (-1, "months", D(2025, 2, 14)),
        (1, "year", D(2026, 3, 14)),
        (-3, "years", D(2022, 3, 14)),
    ],
)
def test_shift_units(amount, unit, expected):
    assert shift(D(2025, 3, 14), amount, unit) == expected


@pytest.mark.parametrize("unit", ["fortnight", "d", "hour", "", None, 7])
def test_shift_unknown_unit(unit):
    with pytest.raises(ValueError, match="day, week, month, year"):
        shift(D(2025, 3, 14), 1, unit)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- windows


def test_window_of_n_days_includes_day_n_excludes_day_n_plus_1():
    anchor = D(2025, 3, 15)
    start = window_start(anchor, 14, "days")
    assert start == D(2025, 3, 1)
    assert in_window(D(2025, 3, 1), anchor, 14, "days") is True  # day 14
    assert in_window(D(2025, 2, 28), anchor, 14, "days") is False  # day 15


def test_window_includes_anchor_and_excludes_the_day_after():
    anchor = D(2025, 3, 15)
    assert in_window(anchor, anchor, 14, "day") is True
    assert in_window(anchor + timedelta(days=1), anchor, 14, "day") is False


def test_window_of_weeks_is_seven_days_each():
    anchor = D(2025, 3, 15)
    assert window_start(anchor, 4, "weeks") == anchor - timedelta(days=28)
    assert in_window(anchor - timedelta(days=28), anchor, 4, "weeks") is True
    assert in_window(anchor - timedelta(days=29), anchor, 4, "weeks") is False


def test_window_of_months_uses_calendar_arithmetic_from_the_anchor():
    anchor = D(2027, 2, 28)
    assert window_start(anchor, 6, "months") == D(2026, 8, 28)
    assert in_window(D(2026, 8, 28), anchor, 6, "months") is True
    assert in_window(D(2026, 8, 27), anchor, 6, "months") is False
    assert window_start(D(2025, 3, 31), 1, "month") == D(2025, 2, 28)
    assert window_start(D(2025, 3, 1), 1, "year") == D(2024, 3, 1)


def test_window_zero_length_is_the_anchor_day_only():
    anchor = D(2025, 3, 15)
    assert window_start(anchor, 0, "days") == anchor
    assert in_window(anchor - timedelta(days=1), anchor, 0, "days") is False


def test_window_length_cannot_be_negative():
    with pytest.raises(ValueError, match="negative"):
        window_start(D(2025, 3, 15), -1, "days")


def test_window_with_partial_event_date():
    anchor = D(2025, 3, 15)
    assert in_window("2025-03", anchor, 14, "days") is None  # 2025-03-16..31 outside, 03-01..15 inside
    assert in_window("2025-02", anchor, 14, "days") is False
    assert in_window("2025-02", anchor, 3, "months") is True
    assert in_window("2024", anchor, 1, "year") is None


# --------------------------------------------------------------------------- ages


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        (D(2007, 6, 15), D(2025, 6, 14), 17),  # day before 18th birthday
        (D(2007, 6, 15), D(2025, 6, 15), 18),  # on the birthday
        (D(2007, 6, 15), D(2025, 6, 16), 18),
        (D(1954, 7, 1), D(2025, 6, 30), 70),  # 70 years 11 months 29 days
        (D(1954, 7, 1), D(2025, 7, 1), 71),
        (D(2008, 2, 29), D(2026, 2, 28), 17),  # 29 Feb birthday reached on 1 March
        (D(2008, 2, 29), D(2026, 3, 1), 18),
        (D(2008, 2, 29), D(2028, 2, 28), 19),
        (D(2008, 2, 29), D(2028, 2, 29), 20),  # leap year: reached on the day
        (D(2000, 1, 1), D(2000, 1, 1), 0),
        (D(1999, 12, 31), D(2000, 1, 1), 0),
    ],
)
def test_completed_years(birth, on, years):
    assert completed_years(birth, on) == years


@pytest.mark.parametrize(
    ("birth", "on", "months"),
    [
        (D(2025, 1, 15), D(2025, 2, 14), 0),
        (D(2025, 1, 15), D(2025, 2, 15), 1),
        (D(2025, 1, 31), D(2025, 2, 28), 0),  # a 31st anniversary in February is reached on 1 March
        (D(2025, 1, 31), D(2025, 3, 1), 1),
        (D(2025, 1, 31), D(2025, 3, 31), 2),
        (D(1954, 7, 1), D(2025, 6, 30), 851),  # 70 years 11 months
        (D(2020, 12, 10), D(2021, 1, 10), 1),
    ],
)
def test_completed_months(birth, on, months):
    assert completed_months(birth, on) == months


def test_age_before_birth_is_an_error():
    with pytest.raises(ValueError, match="before the birth date"):
        completed_years(D(2025, 1, 2), D(2025, 1, 1))
    with pytest.raises(ValueError):
        completed_months(D(2025, 1, 2), D(2025, 1, 1))


def test_completed_years_range_for_partial_birth_dates():
    assert completed_years_range("1955", D(2025, 6, 1)) == (69, 70)
    assert completed_years_range("1955-06", D(2025, 6, 1)) == (69, 70)
    assert completed_years_range("1955-05", D(2025, 6, 1)) == (70, 70)
    assert completed_years_range(D(1955, 6, 2), D(2025, 6, 1)) == (69, 69)


# --------------------------------------------------------------------------- properties


@given(dates, st.integers(min_value=-36500, max_value=36500))
def test_shift_days_then_back_is_identity(d, n):
    assert shift(shift(d, n, "days"), -n, "days") == d


@given(dates, st.integers(min_value=-1200, max_value=1200))
def test_add_months_lands_in_the_target_month(d, n):
    result = add_months(d, n)
    assert result.year * 12 + result.month == d.year * 12 + d.month + n
    assert result.day <= d.day
    if d.day <= 28:
        assert result.day == d.day


@given(dates, st.integers(min_value=-1200, max_value=1200))
def test_add_months_round_trip_for_days_every_month_has(d, n):
    d = d.replace(day=min(d.day, 28))
    assert add_months(add_months(d, n), -n) == d


@given(
    dates,
    st.integers(min_value=-400, max_value=400),
    st.integers(min_value=0, max_value=400),
    st.sampled_from(["day", "days", "week", "weeks"]),
    st.integers(min_value=-3000, max_value=3000),
)
def test_window_membership_is_invariant_under_a_common_shift(anchor, offset, amount, unit, k):
    event = anchor - timedelta(days=offset)
    moved = in_window(event + timedelta(days=k), anchor + timedelta(days=k), amount, unit)
    assert in_window(event, anchor, amount, unit) == moved


@given(
    dates,
    st.integers(min_value=-400, max_value=400),
    st.integers(min_value=0, max_value=60),
    st.sampled_from([("day", 1), ("week", 7)]),
)
def test_window_membership_matches_day_distance(anchor, offset, amount, unit_days):
    unit, days = unit_days
    event = anchor - timedelta(days=offset)
    assert in_window(event, anchor, amount, unit) == (0 <= offset <= amount * days)


@given(dates, st.integers(min_value=0, max_value=60000))
def test_completed_years_is_completed_months_div_12(birth, days):
    on = birth + timedelta(days=days)
    assert completed_years(birth, on) == completed_months(birth, on) // 12


@given(dates, st.integers(min_value=0, max_value=40000), st.integers(min_value=1, max_value=400))
def test_age_never_decreases_and_grows_by_at_most_one_per_year(birth, days, later):
    on = birth + timedelta(days=days)
    a, b = completed_years(birth, on), completed_years(birth, on + timedelta(days=later))
    assert a <= b <= a + 2
    assert completed_years(birth, add_years(on, 1)) in (a + 1, a)  # clamped 29 Feb may lag a day
