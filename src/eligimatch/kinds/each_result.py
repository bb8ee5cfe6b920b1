"""``any X result ... within ...`` / ``every X result ... within ...``: every result in a window, not the latest.

A protocol that says "serum creatinine > 2.5 mg/dL within 8 weeks before leukapheresis" is met by
*any* such result in those 8 weeks, even when a later one is lower; "platelets >= 50 x10^9/L on every
measurement in the last 4 weeks" needs *every* result to pass.  Rules:

* the results counted are those dated from the window's start to its anchor, and on or before the
  evaluation date (a later result is not known then);
* ``any``: TRUE if one result meets the threshold; FALSE if there are results in the window and none
  meets it (each known); UNKNOWN otherwise (a result that cannot be read, an undated result, or none);
* ``every``: FALSE if one result fails; TRUE if there are results in the window and all meet it;
  UNKNOWN otherwise;
* a result without a date may or may not lie in the window: it can decide only where it could not
  change the answer (``any`` already TRUE, ``every`` already FALSE).
"""

from __future__ import annotations

from typing import Any

from eligimatch.engine._evaluate import NOFLAG, Context, F, T, U, missing, src_label, unknown, window_start
from eligimatch.engine._readings import Reading, UnitFactors, _threshold_answer
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.kinds.reference import reference_answer as _reference_answer
from eligimatch.knowledge._plausibility import observation_problem
from eligimatch.language import ast as A
from eligimatch.logic import CauseFlag
from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import BindError, fmt_num, unit_text
from eligimatch.plan._serial import _num, _ref, _window

__all__ = ["eval_each_result"]


def _answer(o: Any, analyte: Any, label: str, op: str, bound: P.ResultBound | P.ResultMultiple,
            default_range: Any, units: UnitFactors) -> tuple:
    if isinstance(bound, P.ResultMultiple):
        return _reference_answer(o, analyte, label, op, bound.factor, bound.limit, bound.text, default_range, units)
    target_unit, threshold, text = bound.unit, bound.value, bound.text
    f = units(o.unit, target_unit)
    if isinstance(f, str):
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {f}", "invalid"),))
    problem = observation_problem(analyte, o.value, o.unit)
    if problem:
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {problem}", "invalid"),))
    converted = o.value * f
    reading = Reading(converted, {"value": o.value, "unit": o.unit, "converted": converted,
                                  "converted_unit": target_unit, "date": o.date, "source": src_label(o)})
    return _threshold_answer(reading, analyte.id, label, op, threshold, text)


def eval_each_result(ctx: Context, n: P.EachResult, default_range: Any, units: UnitFactors) -> tuple:
    analyte = n.analyte.entry
    label = analyte.name
    anchor = ctx.anchor(n.window.anchor)
    d = n.window.durations[0]
    start = window_start(ctx, d.amount, d.unit, n.window.anchor)  # the one window arithmetic (issue 18, D5)
    end = min(anchor, ctx.as_of)
    answers: list[tuple] = []
    undated = 0
    for o in ctx.index.observations.get(analyte.id, ()):
        if o.date is None:
            undated += 1
        elif start <= o.date <= end:
            answers.append(_answer(o, analyte, label, n.op, n.bound, default_range, units))
    every = n.quantifier == "every"
    decisive = F if every else T  # the truth one result settles
    hits = [a for a in answers if a[0] == decisive]
    if hits:
        return (decisive, NOFLAG, (), tuple(e for a in hits for e in a[3]))
    unknowns = [a for a in answers if a[0] == U]
    evidence = tuple(e for a in answers for e in a[3])
    where = f"from {start} to {end} ({n.window.anchor} {anchor})"
    if unknowns:
        flag = CauseFlag.NONE
        for a in unknowns:
            flag |= a[1]
        return unknown(flag, tuple(m for a in unknowns for m in a[2]), evidence)
    if undated:
        return unknown(CauseFlag.STALE, (missing(analyte.id, f"{label}: the dates of {undated} undated result(s), "
                                                             f"which may lie {where}", "stale"),), evidence)
    if not answers:
        return unknown(CauseFlag.MISSING, (missing(analyte.id, f"{label}: a result {where}"),))
    return (T if every else F, NOFLAG, (), evidence)


def bind(b: Any, n: A.ResultQuant) -> P.Expr:
    analyte = b.analyte(b.info(n.measure).analyte)
    v = n.value
    bound: P.ResultBound | P.ResultMultiple
    if isinstance(v, A.RefMultiple):
        bound = P.ResultMultiple(float(v.factor), v.limit, fmt_num(float(v.factor)))  # type: ignore[arg-type]
    elif isinstance(v, A.Quantity):
        threshold, target = float(v.number), v.unit or analyte.unit
        cv, _ = b.canonical(P.AnalyteMeasure(analyte), threshold, target)
        bound = P.ResultBound(threshold, target, cv, f"{fmt_num(threshold)} {unit_text(v.unit)}".strip())
    else:
        raise BindError("a result is compared with a number (checked)")
    return P.EachResult(n.quantifier, analyte, n.op, bound, b.window_of(n.window))  # type: ignore[arg-type]


def compile_row(c: Any, n: P.EachResult) -> Fn:
    units = UnitFactors(n.analyte.entry)
    default = c.plan.reference_range(n.analyte.id)
    return lambda ctx: eval_each_result(ctx, n, default, units)


def render(n: P.EachResult) -> str:
    b = n.bound
    bound = f"{_num(b.value)} {b.unit}" if isinstance(b, P.ResultBound) else f"{b.text} x {b.limit}"
    return f"EachResult {n.quantifier} {_ref(n.analyte)} {n.op} {bound} {_window(n.window)}"


def needs(n: P.EachResult) -> tuple[str, ...]:
    return (f"{n.analyte.id} (every result in the window)",)


KIND = register(Kind("each_result", (P.EachResult,), compile_row, render, needs, (A.ResultQuant,), bind))
