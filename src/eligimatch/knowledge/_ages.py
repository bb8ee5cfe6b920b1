"""Ages: how old a patient is on a date, when the birth date is exact or known only to the year or month.

Rules, stated once
==================

Whole thresholds count completed units
    ``age >= 18 years`` compares the age in *completed* years (birthdays reached,
    see :func:`eligimatch.knowledge._dates.completed_years`): someone aged 70 years and 11
    months is 70, inside ``age between 18 and 70 years``.  The same for months,
    weeks and days.

Fractional thresholds compare the exact age
    ``age >= 17.5 years`` is met on the day 17 years and 6 months are completed;
    ``age > 17.5 years`` the day after.  The exact age in months is the completed
    months plus the elapsed fraction of the current month (from the last month
    anniversary to the next, counted in days); in years it is that divided by 12.
    Weeks and days are exact day counts.  So someone aged 17 years 10 months is
    ``>= 17.5 years``, although 17 completed years are not.

A partial birth date gives an interval
    A birth date written ``"1968"`` or ``"1968-05"`` may be any day of that year
    or month.  An age is never larger for a later birth date, so the ages it can
    be are exactly those between the age for the latest possible birth date and
    the age for the earliest.  A comparison is decided only when every age in
    that interval agrees (born 1968: ``>= 18 years`` and ``<= 70 years`` on
    2026-03-01); otherwise it is UNKNOWN and the full birth date settles it.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from eligimatch.knowledge._dates import PartialDate, completed_months, completed_years
from eligimatch.knowledge._tolerance import compare

__all__ = ["age_bounds", "age_value", "birth_interval", "interval_truth", "is_whole"]


def is_whole(x: float) -> bool:
    """A threshold that counts completed units (18, 6.0), as opposed to a fraction (17.5)."""
    return float(x).is_integer()


def birth_interval(birth: date | PartialDate) -> tuple[date, date]:
    """The earliest and latest day the patient may have been born."""
    if isinstance(birth, PartialDate):
        return birth.earliest, birth.latest
    return birth, birth


def _month_anniversary(birth: date, k: int) -> date:
    """The first day on which ``k`` months of age are completed (as :func:`completed_months` counts):
    the same day of the month, or the 1st of the next month when the month is shorter."""
    years, month0 = divmod(birth.month - 1 + k, 12)
    year, month = birth.year + years, month0 + 1
    last = calendar.monthrange(year, month)[1]
    if birth.day <= last:
        return date(year, month, birth.day)
    return date(year, month, last) + timedelta(days=1)


def _exact_months(birth: date, on: date) -> float:
    k = completed_months(birth, on)
    a = _month_anniversary(birth, k)
    try:
        b = _month_anniversary(birth, k + 1)
    except (ValueError, OverflowError):  # past year 9999: the month is taken as 31 days
        b = a + timedelta(days=31)
    return k + (on - a).days / (b - a).days


def age_value(birth: date, on: date, unit: str, exact: bool) -> float:
    """Age on ``on`` in ``unit`` (year, month, week, day): completed units, or the exact age when ``exact``.

    Raises ValueError when ``on`` is before ``birth``.
    """
    if unit == "year":
        return _exact_months(birth, on) / 12 if exact else float(completed_years(birth, on))
    if unit == "month":
        return _exact_months(birth, on) if exact else float(completed_months(birth, on))
    days = (on - birth).days
    if days < 0:
        raise ValueError(f"date {on.isoformat()} is before the birth date {birth.isoformat()}")
    if unit == "week":
        return days / 7 if exact else float(days // 7)
    if unit == "day":
        return float(days)
    raise ValueError(f"unknown unit of age {unit!r}")


def age_bounds(birth: date | PartialDate, on: date, unit: str, exact: bool) -> tuple[float, float]:
    """The smallest and largest age the patient may have on ``on``.

    A birth date that may fall after ``on`` (born "2026", evaluated on 2026-03-01) counts from 0 for
    the days not yet reached.  Raises ValueError when every possible birth date is after ``on``.
    """
    earliest, latest = birth_interval(birth)
    if earliest > on:
        raise ValueError(f"date {on.isoformat()} is before the birth date {earliest.isoformat()}")
    youngest = age_value(min(latest, on), on, unit, exact)
    oldest = age_value(earliest, on, unit, exact) if earliest != latest else youngest
    return youngest, oldest




def interval_truth(low: float, high: float, op: str, threshold: float) -> bool | None:
    """``v op threshold`` for a value ``v`` known only to lie in ``[low, high]`` (every value between
    possible): True when it holds for all of them, False when for none, None when it depends."""
    if low > high:
        low, high = high, low
    if op in ("=", "!="):
        if compare(low, "=", high):
            return compare(low, op, threshold)
        if compare(threshold, "<", low) or compare(threshold, ">", high):
            return op == "!="
        return None
    a, b = compare(low, op, threshold), compare(high, op, threshold)
    if a == b:
        return a
    return None
