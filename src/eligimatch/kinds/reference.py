"""Reference multiple: ``alt <= 2.5 x ULN``, ``anc >= 0.5 x LLN``.

Against the latest result's own reference range, else the trial's default (``Plan.reference_ranges``); the
limit is converted to the result's unit, checked for plausibility, and worked out once per range and unit.
A result recorded without a unit is never read (a unit is never assumed).
"""

from __future__ import annotations

from typing import Any

from eligimatch.engine._evaluate import NOFLAG, Context, F, R, T, fmt_num, missing, op_symbol, src_label, unknown
from eligimatch.engine._readings import UnitFactors, same_day, select_observations
from eligimatch.engine._result import make_evidence
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.knowledge._plausibility import observation_problem, reference_problem
from eligimatch.knowledge._tolerance import compare
from eligimatch.logic import CauseFlag
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _ref, _window
from eligimatch.sources._patient import Observation

__all__ = ["eval_reference_multiple", "reference_answer"]


def eval_reference_multiple(ctx: Context, analyte: Any, label: str, op: str, factor: float, limit: str,
                            recency: Any, factor_text: str, default_range: Any,
                            units: UnitFactors | None = None) -> R:
    """``value op factor x ULN`` (or LLN), using the result's own reference range, else the trial's default.

    ``units``: the analyte's remembered conversion factors (the compiler passes one per predicate)."""
    found = select_observations(ctx, analyte.id, label, recency)
    if not isinstance(found[0], Observation):
        return found  # an UNKNOWN
    if units is None:
        units = UnitFactors(analyte)
    if len(found) > 1:  # results of one date that may each be the latest, each with its own range
        return same_day(analyte.id, label, found, [
            _reference_answer(o, analyte, label, op, factor, limit, factor_text, default_range, units)
            for o in found])
    return _reference_answer(found[0], analyte, label, op, factor, limit, factor_text, default_range, units)


def _reference_answer(o: Observation, analyte: Any, label: str, op: str, factor: float, limit: str,
                      factor_text: str, default_range: Any, units: UnitFactors) -> R:
    # the result's own unit must apply to the analyte, although the comparison is made in it
    f = units(o.unit, analyte.unit) if o.unit is not None and o.unit != analyte.unit else 1.0
    if f.__class__ is str:
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {f}", "invalid"),))
    problem = observation_problem(analyte, o.value, o.unit)
    if problem:
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {problem}", "invalid"),))
    rr = o.reference_range
    bound = None
    range_unit = None
    origin = "the result's reference range"
    if rr is not None:
        bound = rr.high if limit == "ULN" else rr.low
        range_unit = rr.unit or o.unit
    if bound is None and default_range is not None:
        bound = default_range[1] if limit == "ULN" else default_range[0]
        range_unit = default_range[2]
        origin = "the default reference range"
    if o.unit is None and not analyte.unit_free:
        # a result without a unit is never read, even against a range without a unit (issue 18 D7, N3): the
        # ratio would need no unit, but the value's plausibility cannot be checked without one (potassium 89.4
        # is impossible in mmol/L; with no unit it would have decided)
        against = (f"compared with {origin} (in {range_unit})" if range_unit is not None and bound is not None
                   else "checked for plausibility or compared with its reference range")
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: recorded without a "
                                                               f"unit, so it cannot be {against}: a unit is "
                                                               f"never assumed", "invalid"),))
    lname = "upper limit of normal" if limit == "ULN" else "lower limit of normal"
    if bound is None:
        return unknown(CauseFlag.MISSING, (missing(f"{analyte.id}.{limit.lower()}",
                                                   f"the {lname} for the {label} result of {o.date}"),))
    # the limit and its texts depend only on the range and the unit: laboratories repeat them, so they are
    # worked out once per predicate and remembered (the patient's value is compared below)
    key = (bound, range_unit, o.unit, origin)
    limits = units.limits
    hit: tuple | str | None = limits.get(key)
    if hit is None:
        hit = _reference_limit(analyte, label, op, factor, limit, factor_text, bound, range_unit, o.unit, origin,
                               units)
        if hit.__class__ is tuple and len(limits) >= UnitFactors.LIMIT:
            limits.clear()
        if hit.__class__ is tuple:
            limits[key] = hit
    if hit.__class__ is not tuple:  # the range cannot be used: the problem, in words
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} reference range: {hit}", "invalid"),))
    threshold, th, ref, su_texts = hit
    ok = compare(o.value, op, threshold)
    su, th_field, ref_field = su_texts
    note = (f"{_squashed(label)} {fmt_num(o.value)}{su} {'meets' if ok else 'does not meet'} {th}{su} "
            f"({ref}{su} from {origin})")
    e = make_evidence(fact=analyte.id, code="threshold_met" if ok else "threshold_not_met", note=note,
                      value=o.value, unit=o.unit, converted=o.value, converted_unit=o.unit,
                      threshold=th_field, reference=ref_field, date=o.date, source=src_label(o))
    return (T if ok else F, NOFLAG, (), (e,))


def _reference_limit(analyte: Any, label: str, op: str, factor: float, limit: str, factor_text: str, bound: float,
                     range_unit: str | None, unit: str | None, origin: str, units: UnitFactors) -> tuple | str:
    """``factor x limit`` in the result's unit and its texts: (threshold, "≤ 1.5 x ULN = 1.8",
    "ULN 1.2", (unit as shown in a note, threshold field, reference field)); or why the range cannot be used."""
    f = units(range_unit or analyte.unit, unit or analyte.unit) if range_unit != unit else 1.0
    if isinstance(f, str):
        return f
    limit_value = bound * f
    problem = reference_problem(analyte, limit_value, limit)
    if problem:
        return problem
    threshold = factor * limit_value
    th = f"{op_symbol(op)} {factor_text} x {limit} = {fmt_num(threshold)}"
    ref = f"{limit} {fmt_num(limit_value)}"
    shown = unit or ""
    # in the note every run of whitespace is one space (as " ".join(note.split()) would make it)
    su = _squashed(shown)
    return threshold, th, ref, (f" {su}" if su else "", f"{th} {shown}".strip(), f"{ref} {shown}".strip())


_SQUASHED: dict[str, str] = {}


def _squashed(text: str) -> str:
    """``text`` with each run of whitespace as one space, and none at the ends (remembered, bounded)."""
    hit = _SQUASHED.get(text)
    if hit is None:
        hit = " ".join(text.split())
        if len(_SQUASHED) >= 4096:
            _SQUASHED.clear()
        _SQUASHED[text] = hit
    return hit


reference_answer = _reference_answer


def compile_row(c: Any, n: P.RefMultiple) -> Fn:
    analyte, op, factor, limit, recency, ftext = n.analyte.entry, n.op, n.factor, n.limit, n.recency, n.text
    default = c.plan.reference_range(n.analyte.id)
    units = UnitFactors(analyte)
    return lambda ctx: eval_reference_multiple(ctx, analyte, analyte.name, op, factor, limit, recency, ftext,
                                               default, units)


def render(n: P.RefMultiple) -> str:
    rec = f" ({_window(n.recency)})" if n.recency is not None else ""
    return f"RefMultiple latest {_ref(n.analyte)} {n.op} {n.text} x {n.limit}{rec}"


def needs(n: P.RefMultiple) -> tuple[str, ...]:
    return (n.analyte.id,)


# bound from a comparison by eligimatch.kinds.threshold
KIND = register(Kind("reference_multiple", (P.RefMultiple,), compile_row, render, needs))
