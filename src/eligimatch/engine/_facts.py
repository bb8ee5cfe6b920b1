"""Recorded facts (``ecog``, ``pregnant``, ``her2_ihc``): read as recorded, never guessed.

A fact is UNKNOWN when it is not recorded, recorded after the evaluation date, or -- under a recency
window (the criterion's, else the trial's ``facts within ...``) -- undated or dated before the window
(issue 18, D11: facts go stale).  Numbers are converted to the threshold's unit; a number recorded
without the unit its catalog entry has is never given one (D7); an enum's value is one of its declared
values or synonyms, else it never decides (D1).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from eligimatch.engine._evaluate import (Context, R, _date_of, ev, fmt_num, missing, src_label, unknown,
                                         window_start)
from eligimatch.engine._readings import Reading, ReadFn, _window_text
from eligimatch.errors import UnitError
from eligimatch.knowledge._plausibility import fact_date_problem, fact_value_problem
from eligimatch.logic import CauseFlag
from eligimatch.sources._patient import Fact

__all__ = ["read_sex", "read_enum_fact", "read_number_fact", "fact_of"]


class _ScalarFact(NamedTuple):
    """What :meth:`Patient.fact` makes of a bare value (``"ecog": 1``), as the evaluators read it."""

    value: Any
    unit: None = None
    date: None = None
    source: None = None


def _fact(ctx: Context, name: str, label: str, recency: Any = None) -> Any:
    """The fact called ``name``, or the UNKNOWN it gives: not recorded, recorded after the evaluation date,
    or (under a recency window: the criterion's, else the trial's ``facts within ...``) undated or dated
    before the window (issue 18, D11: facts go stale)."""
    fact = ctx.patient.facts.get(name)
    if fact is None:
        return unknown(CauseFlag.MISSING, (missing(name, label),))
    window = recency if recency is not None else ctx.fact_recency
    if not isinstance(fact, Fact):  # a bare value: as Patient.fact(name) reads it, without building a model
        if window is not None:
            return _stale_fact(ctx, name, label, None, window)
        return _ScalarFact(fact)
    if fact.date is not None:
        problem = fact_date_problem(fact, ctx.as_of)
        if problem:
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: {problem}", "invalid"),))
    if window is not None:
        return _stale_fact(ctx, name, label, fact, window) or fact
    return fact


def _stale_fact(ctx: Context, name: str, label: str, fact: Fact | None, window: Any) -> R | None:
    """The UNKNOWN a fact gives under a recency window (undated, older, or a partial date that may be
    older), or None when it is recent enough."""
    start = ctx.starts.get(id(window))  # the window lives as long as the trial, longer than ctx
    if start is None:
        d = window.durations[0]
        start = ctx.starts[id(window)] = window_start(ctx, d.amount, d.unit, window.anchor)
    when = fact.date if fact is not None else None
    if when is not None and when.earliest >= start:
        return None
    wanted = f"{label}: a value recorded on or after {start} ({_window_text(window)})"
    if when is None:
        e = ev(name, "undated", f"{label} is recorded without a date: it cannot be shown to be recent "
                                f"({_window_text(window)})", value=_shown_value(fact), source=src_label(fact))
        return unknown(CauseFlag.STALE, (missing(name, wanted, "stale"),), (e,))
    if when.latest < start:
        e = ev(name, "stale", f"{label} was recorded {when}, before {start} ({_window_text(window)})",
               value=_shown_value(fact), date=_date_of(when), source=src_label(fact))
        return unknown(CauseFlag.STALE, (missing(name, wanted, "stale"),), (e,))
    e = ev(name, "indeterminate", f"{label} was recorded {when}: maybe before {start} ({_window_text(window)})",
           value=_shown_value(fact), source=src_label(fact))
    return unknown(CauseFlag.INDETERMINATE, (missing(name, f"{label}: the exact date of the value recorded {when}",
                                                     "indeterminate"),), (e,))


def _shown_value(fact: Fact | None) -> Any:
    return fact.value if fact is not None else None


def _recorded(fact: Any) -> str:
    """" (recorded 2026-02-20)" after a dated fact's value in a note; nothing for an undated one."""
    d = getattr(fact, "date", None)
    return f" (recorded {d})" if d is not None else ""


def read_sex(ctx: Context) -> "tuple[str, dict] | R":
    if ctx.patient.sex is None:
        return unknown(CauseFlag.MISSING, (missing("sex", "sex (male or female)"),))
    return ctx.patient.sex, {}


def read_enum_fact(name: str, label: str, recency: Any = None,
                   fact_def: Any = None) -> Callable[[Context], "tuple[str, dict] | R"]:
    """An enum fact's recorded value as one of its declared values (``fact_def.canonical_value``: case,
    separators and declared synonyms such as reactive -> positive); any other value never decides:
    UNKNOWN (invalid), naming the allowed values (issue 18 D1)."""
    def read(ctx: Context) -> "tuple[str, dict] | R":
        fact = _fact(ctx, name, label, recency)
        if fact.__class__ is tuple:
            return fact
        if fact_def is None:
            return str(fact.value), {"date": _date_of(fact.date), "source": src_label(fact),
                                     "note_suffix": _recorded(fact)}
        value = fact_def.canonical_value(fact.value)
        if value is None:
            shown = f"{str(fact.value).lower()} (yes/no)" if isinstance(fact.value, bool) else repr(fact.value)
            why = f"{label}: recorded value {shown} is not one of the allowed values: {fact_def.allowed_text()}"
            return unknown(CauseFlag.INVALID, (missing(name, why, "invalid"),),
                           (ev(name, "invalid_value", why, value=fact.value, date=_date_of(fact.date),
                               source=src_label(fact)),))
        spelled = f" (recorded as {fact.value!r})" if value != fact.value else ""
        return value, {"date": _date_of(fact.date), "source": src_label(fact),
                       "note_suffix": spelled + _recorded(fact)}
    return read


def read_number_fact(name: str, label: str, fact_unit: str | None, target_unit: str | None,
                     factor_of: Callable[[str, str], float], recency: Any = None) -> ReadFn:
    """A numeric fact, converted to the threshold's unit when the fact records a unit."""
    factors: dict[tuple[str, str], float | str] = {}  # remembered conversion factors (or the error's text)

    def factor(src: str, dst: str) -> float:
        hit = factors.get((src, dst))
        if hit is None:
            try:
                hit = factor_of(src, dst)
            except Exception as exc:  # our UnitError, with a message for people
                hit = str(exc)
            if len(factors) >= 512:
                factors.clear()
            factors[(src, dst)] = hit
        if isinstance(hit, str):
            raise UnitError(hit)
        return hit

    def read(ctx: Context) -> Reading | R:
        fact = _fact(ctx, name, label, recency)
        if fact.__class__ is tuple:
            return fact
        v = fact.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {v!r} is not a number",
                                                       "invalid"),))
        unit = fact.unit
        if unit is None and fact_unit:  # never given the catalog's unit: 12 is not "12 months" (issue 18 D7)
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {fmt_num(v)} has no unit; "
                                                             f"give it with one, e.g. "
                                                             f'{{"value": {fmt_num(v)}, "unit": "{fact_unit}"}}',
                                                       "invalid"),))
        if unit is not None and not fact_unit and unit.strip() not in ("", "1"):  # D16: not silently dropped
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded with the unit {unit!r}, but it is "
                                                             f"a plain number", "invalid"),))
        if not fact_unit:
            unit = None
        value = float(v)
        # bounds of the catalog (ecog 0..5, a whole number), in the catalog's unit
        try:
            own = value * factor(unit, fact_unit) if unit and fact_unit and unit != fact_unit else value
        except Exception as exc:  # our UnitError, with a message for people
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: {exc}", "invalid"),))
        problem = fact_value_problem(ctx.index._memo(("fact_def", name), ctx.catalogs.facts.resolve, name), own)
        if problem:
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {problem}", "invalid"),))
        if target_unit and unit and unit != target_unit and factor_of is not None:
            try:
                value = value * factor(unit, target_unit)
            except Exception as exc:  # our UnitError, with a message for people
                return unknown(CauseFlag.INVALID, (missing(name, f"{label}: {exc}", "invalid"),))
        return Reading(value, {"value": v, "unit": unit, "converted": value, "converted_unit": target_unit,
                               "date": _date_of(fact.date), "source": src_label(fact),
                               "note_suffix": _recorded(fact)})
    return read
fact_of = _fact
