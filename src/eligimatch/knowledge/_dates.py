"""Dates, partial dates and calendar arithmetic for eligibility windows.

Everything here works on :class:`datetime.date` (never on ``datetime``): a
criterion such as "within 6 months before screening" is a question about
calendar days, and time zones have no place in it.

Rules, stated once
==================

Calendar months and years
    :func:`add_months` moves the month number and keeps the day of month; when
    that day does not exist in the target month it is clamped to the month's
    last day (2026-08-31 + 6 months = 2027-02-28, 2023-08-31 + 6 months =
    2024-02-29).  :func:`add_years` is ``add_months(d, 12 * n)``, so
    2024-02-29 + 1 year = 2025-02-28.  Clamping is not reversible:
    2027-02-28 - 6 months = 2026-08-28, not 2026-08-31.

"Within N <unit> before <anchor>"
    An event on date ``e`` is within N units before ``anchor`` iff
    ``window_start(anchor, N, unit) <= e <= anchor``: both ends are inclusive,
    and ``window_start(anchor, N, unit) == shift(anchor, -N, unit)``.
    "Within 14 days before 2025-03-15" therefore starts on 2025-03-01: an event
    on 2025-03-01 (day 14) is inside, one on 2025-02-28 (day 15) is outside.
    For months and years the start is computed by calendar arithmetic *from
    the anchor* (with the clamp above): "within 6 months before 2027-02-28"
    starts on 2026-08-28.  The same rule serves every kind of record; asked the
    other way round ("until when does a dose on ``e`` stay inside the window?"),
    :func:`window_end` gives the last such anchor, still counting back from the
    anchor: a dose on 2026-02-28 is within 6 months before 2026-08-31.

Age
    :func:`completed_years` counts birthdays reached.  For someone born on 29
    February the birthday of a non-leap year is reached on **1 March**, not on
    28 February: a person born 2008-02-29 is 17 on 2026-02-28 and 18 on
    2026-03-01.
    :func:`completed_months` follows the same rule month by month (born on the
    31st, a month is completed on the 31st, or on the 1st of the next month
    when the month is shorter), so ``completed_years(b, d) ==
    completed_months(b, d) // 12`` always holds.  Note that this is *not* the
    clamped arithmetic of :func:`add_months`: ages count anniversaries.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

__all__ = [
    "PartialDate",
    "PartialDateField",
    "add_months",
    "add_years",
    "shift",
    "shift_clamped",
    "window_start",
    "window_end",
    "elapsed_on",
    "in_window",
    "completed_years",
    "completed_months",
    "completed_years_range",
    "UNITS",
]

#: Canonical time units accepted by :func:`shift` and :func:`window_start`.
UNITS = ("day", "week", "month", "year")

_ACCEPTED_FORMS = (
    "a date written YYYY, YYYY-MM or YYYY-MM-DD (e.g. '2025', '2025-03', "
    "'2025-03-14'), a datetime.date, a naive datetime.datetime, or a PartialDate"
)
_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
#: Regular expression of the text form, also published in the JSON schema.
PARTIAL_DATE_PATTERN = r"^\d{4}(-\d{2}(-\d{2})?)?$"


def _bounds(text: str) -> tuple[date, date]:
    """Earliest and latest day of a ``YYYY``/``YYYY-MM``/``YYYY-MM-DD`` text."""
    m = _PATTERN.match(text)
    if m is None:
        raise ValueError(f"invalid date {text!r}: expected {_ACCEPTED_FORMS}")
    year = int(m.group(1))
    if year < 1:
        raise ValueError(f"invalid date {text!r}: year 0000 does not exist")
    if m.group(2) is None:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"invalid date {text!r}: month {month:02d} is not between 01 and 12")
    last = calendar.monthrange(year, month)[1]
    if m.group(3) is None:
        return date(year, month, 1), date(year, month, last)
    day = int(m.group(3))
    if not 1 <= day <= last:
        raise ValueError(
            f"invalid date {text!r}: {calendar.month_name[month]} {year} has days 01 to {last:02d}"
        )
    d = date(year, month, day)
    return d, d


@dataclass(frozen=True, slots=True, order=False)
class PartialDate:
    """A date known to the year, the month or the day.

    ``earliest`` and ``latest`` are the first and last days the date can be;
    ``text`` is the date as written (``"2025"``, ``"2025-03"`` or
    ``"2025-03-14"``).  Build one with :meth:`parse`.  There is deliberately no
    ordering: whether "2025-03" is before "2025-03-14" has no yes/no answer;
    use :meth:`within` or compare ``earliest``/``latest`` explicitly.
    """

    earliest: date
    latest: date
    text: str

    def __post_init__(self) -> None:
        for name in ("earliest", "latest"):
            value = getattr(self, name)
            if isinstance(value, datetime) or not isinstance(value, date):
                raise TypeError(f"PartialDate.{name} must be a datetime.date, got {value!r}")
        if not isinstance(self.text, str):
            raise TypeError(f"PartialDate.text must be a str, got {self.text!r}")
        if (self.earliest, self.latest) != _bounds(self.text):
            raise ValueError(
                f"PartialDate bounds {self.earliest}..{self.latest} do not match its text "
                f"{self.text!r}; build it with PartialDate.parse()"
            )

    @classmethod
    def parse(cls, value: "str | date | PartialDate") -> "PartialDate":
        """Read ``"YYYY"``, ``"YYYY-MM"``, ``"YYYY-MM-DD"``, a date or a naive datetime.

        A datetime with a time zone is refused (ValueError): which calendar day
        it falls on depends on a zone the criteria know nothing about.  A naive
        datetime is reduced to its date.  Surrounding whitespace is ignored.
        """
        if isinstance(value, PartialDate):
            return value
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise ValueError(
                    f"a datetime with a time zone ({value.isoformat()}) is not accepted as a date: "
                    "convert it to the local calendar date first and pass a datetime.date"
                )
            value = value.date()
        if isinstance(value, date):
            text = value.isoformat()
            return cls(value, value, text)
        if isinstance(value, str):
            text = value.strip()
            earliest, latest = _bounds(text)
            return cls(earliest, latest, text)
        raise ValueError(f"invalid date {value!r} ({type(value).__name__}): expected {_ACCEPTED_FORMS}")

    @property
    def exact(self) -> bool:
        """True when the date is known to the day."""
        return self.earliest == self.latest

    @property
    def precision(self) -> str:
        """``"year"``, ``"month"`` or ``"day"``."""
        return {4: "year", 7: "month"}.get(len(self.text), "day")

    def within(self, start: date, end: date) -> bool | None:
        """Is this date inside ``[start, end]`` (both inclusive)?

        True if every day it can be is inside, False if none is, None when
        only some are (e.g. "2025-03" against a window ending 2025-03-10).
        """
        if start > end:
            raise ValueError(f"empty window: start {start} is after end {end}")
        if start <= self.earliest and self.latest <= end:
            return True
        if self.latest < start or self.earliest > end:
            return False
        return None

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(cls, source_type: Any, handler: Any) -> Any:
        return _pydantic_core_schema()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return _pydantic_json_schema(core_schema, handler)


def _serialize(value: PartialDate) -> str:
    return value.text


def _pydantic_core_schema() -> Any:
    from pydantic_core import core_schema as cs

    validate = cs.no_info_plain_validator_function(PartialDate.parse)
    return cs.json_or_python_schema(
        # JSON input: only strings make sense; other JSON types are reported
        # by pydantic as "Input should be a valid string".
        json_schema=cs.chain_schema([cs.str_schema(), validate]),
        python_schema=validate,
        serialization=cs.plain_serializer_function_ser_schema(
            _serialize, return_schema=cs.str_schema(), when_used="always"
        ),
    )


def _pydantic_json_schema(core_schema: Any, handler: Any) -> Any:
    schema = handler(core_schema)
    schema.update(
        type="string",
        pattern=PARTIAL_DATE_PATTERN,
        description="A date known to the year, month or day: YYYY, YYYY-MM or YYYY-MM-DD.",
        examples=["2025", "2025-03", "2025-03-14"],
    )
    return schema


class _PartialDatePydantic:
    """Annotation marker that tells pydantic how to validate and serialise a PartialDate."""

    __slots__ = ()

    def __get_pydantic_core_schema__(self, source_type: Any, handler: Any) -> Any:
        return _pydantic_core_schema()

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        return _pydantic_json_schema(core_schema, handler)

    def __repr__(self) -> str:
        return "PartialDateField"


#: Use in pydantic models: ``onset: PartialDateField``.  Accepts a str, a date,
#: a naive datetime or a PartialDate; serialises (python and JSON) to the text.
PartialDateField = Annotated[PartialDate, _PartialDatePydantic()]


# --------------------------------------------------------------------------- arithmetic


def _check_date(d: Any, name: str = "d") -> None:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{name} must be a datetime.date (not a datetime), got {d!r}")


def _check_int(n: Any, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, got {n!r}")


def add_months(d: date, n: int) -> date:
    """``d`` moved by ``n`` calendar months (negative allowed), day clamped to month end.

    >>> add_months(date(2026, 8, 31), 6)
    datetime.date(2027, 2, 28)
    >>> add_months(date(2027, 2, 28), -6)
    datetime.date(2026, 8, 28)
    """
    _check_date(d)
    _check_int(n, "n")
    years, month0 = divmod(d.month - 1 + n, 12)
    year = d.year + years
    if not 1 <= year <= 9999:
        raise OverflowError(f"{d.isoformat()} moved by {n} months is outside years 1..9999")
    month = month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_years(d: date, n: int) -> date:
    """``d`` moved by ``n`` calendar years; 29 February becomes 28 February in non-leap years."""
    _check_int(n, "n")
    return add_months(d, 12 * n)


_UNIT_ALIASES = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
}


def _unit(unit: Any) -> str:
    if isinstance(unit, str):
        canonical = _UNIT_ALIASES.get(unit.strip().lower())
        if canonical is not None:
            return canonical
    raise ValueError(f"unknown time unit {unit!r}: expected one of day, week, month, year (plural accepted)")


def shift(d: date, amount: int, unit: str) -> date:
    """``d`` moved by ``amount`` units (``"day"``, ``"week"``, ``"month"``, ``"year"``, plural ok).

    Days and weeks are exact day counts; months and years use :func:`add_months`.
    """
    _check_date(d)
    _check_int(amount, "amount")
    u = _unit(unit)
    try:
        if u == "day":
            return d + timedelta(days=amount)
        if u == "week":
            return d + timedelta(weeks=amount)
    except OverflowError:
        raise OverflowError(f"{d.isoformat()} moved by {amount} {u}s is outside years 1..9999") from None
    if u == "month":
        return add_months(d, amount)
    return add_months(d, 12 * amount)


def shift_clamped(d: date, amount: int, unit: str) -> date:
    """:func:`shift`, but a result before year 1 is 0001-01-01 and one after year 9999 is 9999-12-31.

    What evaluation needs: a window reaching back before year 1 starts at the
    first representable day, a washout running past 9999 runs to the last one;
    either way every representable date keeps its place relative to the bound.
    """
    try:
        return shift(d, amount, unit)
    except OverflowError:
        return date.min if amount < 0 else date.max


def window_start(anchor: date, amount: int, unit: str, *, saturate: bool = False) -> date:
    """First day of the window "within ``amount`` ``unit`` before ``anchor``".

    An event on date ``e`` is inside the window iff
    ``window_start(anchor, amount, unit) <= e <= anchor`` (both ends
    inclusive).  The start is ``shift(anchor, -amount, unit)``: "within 14
    days before 2025-03-15" starts 2025-03-01; "within 6 months before
    2027-02-28" starts 2026-08-28.  ``amount`` must be >= 0.

    ``saturate``: a start before year 1 is 0001-01-01 (as evaluation needs it)
    instead of an OverflowError.  Every kind of record (results, conditions,
    procedures, therapies, doses) is placed in its window by this function or
    by its inverse, :func:`window_end`.
    """
    _check_int(amount, "amount")
    if amount < 0:
        raise ValueError(f"a window length cannot be negative, got {amount}")
    if saturate:
        return shift_clamped(anchor, -amount, unit)
    return shift(anchor, -amount, unit)


def window_end(event: date, amount: int, unit: str, *, saturate: bool = False) -> date:
    """The last anchor for which ``event`` is still "within ``amount`` ``unit`` before" it.

    The inverse of :func:`window_start`: for every anchor ``a >= event``,
    ``event >= window_start(a, amount, unit)`` iff ``a <= window_end(event,
    amount, unit)``.  The window is always counted *back from the anchor*: a
    dose on 2026-02-28 is within 6 months before 2026-08-31 (that window starts
    on 2026-02-28, the clamped day), so ``window_end(2026-02-28, 6, "month")``
    is 2026-08-31, not 2026-08-28 (which counting forward from the dose would
    give).  For days and weeks it is ``event + amount``.

    ``saturate``: an end after year 9999 is 9999-12-31 instead of an OverflowError.
    """
    _check_int(amount, "amount")
    if amount < 0:
        raise ValueError(f"a window length cannot be negative, got {amount}")
    try:
        end = shift(event, amount, unit)
    except OverflowError:
        if saturate:
            return date.max
        raise
    if _unit(unit) in ("month", "year"):
        # counting back from a later anchor may clamp onto the same day (31 Aug - 6 months = 28 Feb):
        # move on while the next day's window still starts on or before the event
        while end < date.max and window_start(end + timedelta(days=1), amount, unit, saturate=True) <= event:
            end += timedelta(days=1)
    return end


def elapsed_on(event: date, amount: int, unit: str, *, saturate: bool = False) -> date:
    """The first day on which ``amount`` ``unit`` have elapsed since ``event``, counted back from that day.

    The smallest ``a`` with ``window_start(a, amount, unit) >= event``: what "a washout of 6 months must
    be completed before screening" asks of a screening date.  For days and weeks it is ``event + amount``;
    for months and years it may differ from counting forward from the event where the clamp to the
    month's end intervenes: 6 months after 2026-08-31 have elapsed on 2027-03-01, since 2027-02-28 - 6
    months is 2026-08-28.  (:func:`window_end` is the last day ``event`` is still *within* the window;
    the two overlap on the boundary, as "within" counts both ends.)
    """
    _check_int(amount, "amount")
    if amount < 0:
        raise ValueError(f"a window length cannot be negative, got {amount}")
    try:
        a = shift(event, amount, unit)
    except OverflowError:
        if saturate:
            return date.max
        raise
    if _unit(unit) in ("month", "year"):
        while a < date.max and window_start(a, amount, unit, saturate=True) < event:
            a += timedelta(days=1)
    return a


def in_window(event: "date | PartialDate | str", anchor: date, amount: int, unit: str) -> bool | None:
    """Is ``event`` within ``amount`` ``unit`` before ``anchor`` (see :func:`window_start`)?

    For a partial event date the answer is True/False when every possible day
    agrees and None when it depends on the unknown day.
    """
    start = window_start(anchor, amount, unit)
    return PartialDate.parse(event).within(start, anchor)


# --------------------------------------------------------------------------- ages


def _check_birth(birth: date, on: date) -> None:
    _check_date(birth, "birth")
    _check_date(on, "on")
    if on < birth:
        raise ValueError(f"date {on.isoformat()} is before the birth date {birth.isoformat()}")


def completed_years(birth: date, on: date) -> int:
    """Age in completed years on ``on``.

    A birthday on 29 February is reached on 1 March in non-leap years.  Raises
    ValueError when ``on`` is before ``birth``.
    """
    _check_birth(birth, on)
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def completed_months(birth: date, on: date) -> int:
    """Age in completed months on ``on`` (a month anniversary that does not exist,
    e.g. the 31st in a 30-day month, is reached on the 1st of the next month)."""
    _check_birth(birth, on)
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if on.day < birth.day:
        months -= 1
    return months


def completed_years_range(birth: "date | PartialDate | str", on: date) -> tuple[int, int]:
    """Smallest and largest possible age in completed years for a partial birth date.

    ``completed_years_range("1955", date(2025, 6, 1)) == (69, 70)``.  Raises
    ValueError if ``on`` is before the earliest possible birth date.
    """
    b = PartialDate.parse(birth)
    _check_birth(b.earliest, on)
    youngest = completed_years(b.latest, on) if b.latest <= on else 0
    return youngest, completed_years(b.earliest, on)
