"""Values that validate but cannot be compared: the checks a recorded value passes before it meets a threshold.

Validation (:mod:`eligimatch.sources._patient`) refuses what is malformed whatever the
trial: NaN, infinities, true/false for a number, a negative dose, an end before
its start, a timestamp for a date.  What is left here depends on what the value
is *of*, or on the evaluation date, so it is decided at evaluation and turns the
criterion UNKNOWN with cause ``invalid`` and a reason, never a comparison:

* a negative result of an analyte that cannot be negative (every analyte but
  those marked ``signed`` in the catalog, such as a relative decline);
* a result of an analyte measured in ``%`` outside 0..100 (-100..100 when signed),
  whatever unit it was sent in (4 as a fraction is 400 %);
* a negative reference limit (ULN/LLN) of such an analyte;
* a numeric fact outside its catalog bounds (``ecog`` 0..5, a whole number;
  ``karnofsky`` 0..100), or negative when the catalog gives no lower bound (a
  count, a duration);
* a fact dated after the evaluation date (it was not known then);
* *implausible* values: a result whose value, converted to the analyte's unit, is
  outside the physiologically possible range declared with the analyte in the
  catalog (``plausible``: hemoglobin 12.4 recorded in mg/dL is 0.124 g/L, a unit
  slip, not a low hemoglobin), naming the suspect unit; an age above
  :data:`MAX_AGE_YEARS` (a birth date in 1776).  Such a value is not compared:
  a confident NO MATCH on a unit slip would be a silent wrong answer.

A result dated after the evaluation date is not used at all (the latest earlier
one is); see :func:`eligimatch.engine._evaluate.select_observation`.  See
``docs/reliability.md`` for the whole list.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from typing import Any

__all__ = ["observation_problem", "reference_problem", "fact_value_problem", "fact_date_problem", "age_problem",
           "MAX_AGE_YEARS"]

#: An age above this (completed years) is not a possible age: the oldest verified human lived 122 years
#: (Jeanne Calment, 1875-1997; Gerontology Research Group's validated supercentenarians).
MAX_AGE_YEARS = 125

_TOL = 1e-9


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:.6g}"


def _below(a: float, b: float) -> bool:
    return a < b and not math.isclose(a, b, rel_tol=_TOL, abs_tol=1e-12)


def observation_problem(analyte: Any, value: float, unit: str | None) -> str | None:
    """Why a result of ``analyte`` (``value`` in ``unit``) cannot be compared, or None."""
    if not math.isfinite(value):
        return f"{_fmt(value)} is not a finite number"
    signed = getattr(analyte, "signed", False)
    shown_unit = unit or analyte.unit

    def shown() -> str:  # only a problem is described: most results have none
        return _fmt(value) + ("" if shown_unit in ("", "1") else f" {shown_unit}")

    if value < 0 and not signed:
        return f"{shown()} is negative, which {analyte.name} cannot be"
    plausible = getattr(analyte, "plausible", None)
    if plausible is not None and (unit is not None or getattr(analyte, "unit_free", False)):
        factor = _factor_to_own(analyte, unit)
        if factor is not None:
            own = value * factor
            low, high = plausible
            if _below(own, low) or _below(high, own):
                converted = "" if factor == 1.0 else f" ({_fmt(own)} {analyte.unit})"
                unit_hint = (f"; probably a unit error (recorded in {unit!r})" if unit not in (None, analyte.unit)
                             else "; probably a unit or typing error")
                return (f"implausible: {shown()}{converted} is outside the possible range of {analyte.name} "
                        f"({_fmt(low)} to {_fmt(high)} {analyte.unit}){unit_hint}")
    if analyte.unit.strip() == "%":
        src = unit or analyte.unit
        try:
            pct = value if src == analyte.unit else value * analyte.factor_from(src, analyte.unit)
        except Exception:  # the unit cannot apply: reported by the conversion itself
            return None
        low = -100.0 if signed else 0.0
        if _below(100.0, pct) or _below(pct, low):
            as_pct = shown() if shown_unit.strip() == "%" else f"{shown()} ({_fmt(pct)} %)"
            return f"{as_pct} is not a percentage between {_fmt(low)} and 100"
    return None


@functools.lru_cache(maxsize=2048)
def _factor_to_own(analyte: Any, unit: str | None) -> float | None:
    """The factor from ``unit`` to the analyte's own unit, or None when the unit cannot apply
    (reported by the conversion itself)."""
    try:
        return float(analyte.recorded_factor(unit))
    except Exception:
        return None


def age_problem(born: _dt.date, on: _dt.date) -> str | None:
    """Why an age computed from ``born`` on ``on`` cannot be used: above :data:`MAX_AGE_YEARS`."""
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if years > MAX_AGE_YEARS:
        return (f"implausible: born {born}, the patient would be {years} years old on {on} (more than "
                f"{MAX_AGE_YEARS}); probably a wrong date of birth")
    return None


def reference_problem(analyte: Any, bound: float, limit: str) -> str | None:
    """Why a reference limit cannot be used, or None."""
    if not math.isfinite(bound):
        return f"the {limit} {_fmt(bound)} is not a finite number"
    if bound < 0 and not getattr(analyte, "signed", False):
        return f"the {limit} {_fmt(bound)} is negative, which {analyte.name} cannot be"
    return None


def fact_value_problem(fact_def: Any, value: float) -> str | None:
    """Why a numeric fact's value (in the catalog's unit) cannot be compared, or None."""
    if not math.isfinite(value):
        return f"{_fmt(value)} is not a finite number"
    low = getattr(fact_def, "min", None)
    high = getattr(fact_def, "max", None)
    if low is None and value < 0:
        return f"{_fmt(value)} is negative"
    if low is not None and _below(value, low):
        return f"{_fmt(value)} is below the lowest possible value {_fmt(low)}"
    if high is not None and _below(high, value):
        return f"{_fmt(value)} is above the highest possible value {_fmt(high)}"
    if getattr(fact_def, "integer", False) and not float(value).is_integer():
        return f"{_fmt(value)} is not a whole number"
    return None


def fact_date_problem(fact: Any, as_of: _dt.date) -> str | None:
    """Why a fact cannot be used on ``as_of`` because of its date, or None."""
    d = getattr(fact, "date", None)
    if d is None:
        return None
    earliest = getattr(d, "earliest", d)
    if earliest > as_of:
        return f"recorded on {d}, after the evaluation date {as_of}"
    return None
