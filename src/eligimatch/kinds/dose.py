"""Doses: ``daily dose of X [as prednisone] op V mg/day [within W]`` (the highest total daily dose) and
``total dose of X [as prednisone] within W op V mg`` (the sum over the window).  The daily totals are known
between bounds (:mod:`eligimatch.engine._doses`); a criterion is decided only when both bounds agree.
"""

from __future__ import annotations

from typing import Any

from eligimatch.engine._doses import INF, _decide, _totals, _Totals
from eligimatch.engine._history import _later_note
from eligimatch.knowledge._tolerance import compare
from eligimatch.engine._evaluate import op_symbol
from eligimatch.engine._evaluate import NOFLAG, Context, F, T, U, ev, fmt_num, missing, unknown, window_start
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.language import ast as A
from eligimatch.logic import CauseFlag
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _names, _tests, _window
from eligimatch.plan._bind import BindError
from eligimatch.plan._serial import _num


def eval_dose(ctx: Context, pred: P.Dose) -> tuple:
    """``daily dose of X [as prednisone] op V [within W]`` (the highest total daily dose), or with
    ``pred.total`` ``total dose of X [as prednisone] within W op V`` (the sum over the window's days)."""
    selectors = tuple(r.id for r in pred.selectors)
    threshold_mg = pred.threshold_mg
    what = " or ".join(selectors)
    kind = "total dose" if pred.total else "daily dose"
    fact = f"{kind} of {what}" + (f" as {pred.equivalent}" if pred.equivalent else "")
    if pred.window is not None:
        anchor = ctx.anchor(pred.window.anchor)
        d = pred.window.durations[0]
        start = window_start(ctx, d.amount, d.unit, pred.window.anchor)
    else:
        anchor = start = ctx.as_of
    unit = "mg" if pred.total else "mg/day"
    totals = _totals(ctx, selectors, pred, fact, what, start, anchor, pred.equivalent)
    if not isinstance(totals, _Totals):
        if totals[0] == F:  # no such therapy, and the history says so: a dose of 0
            ok = compare(0.0, pred.op, threshold_mg)
            return (T if ok else F, NOFLAG, (), totals[3])
        return totals
    if pred.total:
        lo = sum(r[2] * ((r[1] - r[0]).days + 1) for r in totals.runs)
        hi = sum(r[3] * ((r[1] - r[0]).days + 1) for r in totals.runs)
        shown = f"total dose from {start} to {anchor}"
    else:
        lo = max(r[2] for r in totals.runs)
        hi = max(r[3] for r in totals.runs)
        day = next(r[0] for r in totals.runs if r[2] == lo)
        shown = "highest total daily dose" + (f" (on {day})" if lo > 0 and start != anchor else "")
    t = _decide(lo, hi, pred.op, threshold_mg)
    evidence = tuple(totals.evidence)
    th = f"{op_symbol(pred.op)} {fmt_num(threshold_mg)} {unit}"
    if t != U:
        ok = t == T
        if hi == lo:
            value = fmt_num(lo)
        elif hi == INF:
            value = f"at least {fmt_num(lo)}"
        else:
            value = f"between {fmt_num(lo)} and {fmt_num(hi)}"
        note = f"{shown} {value} {unit} {'meets' if ok else 'does not meet'} {th}"
        return (t, NOFLAG, (), evidence + (ev(fact, "threshold_met" if ok else "threshold_not_met", note,
                                              converted=lo, converted_unit=unit, threshold=th),))
    if totals.later:
        return unknown(CauseFlag.INVALID, (_later_note(ctx, fact, what, totals.later),), evidence)
    between = f"at least {fmt_num(lo)} {unit}" + (f" and at most {fmt_num(hi)} {unit}" if hi != INF else "")
    bounds = ev(fact, "dose_bounds", f"{shown} is {between}: not enough to tell whether it is {th}")
    miss = []
    flag = NOFLAG
    if totals.open_reasons:
        flag |= CauseFlag.INDETERMINATE
        miss.append(missing(fact, f"{'; '.join(dict.fromkeys(totals.open_reasons))} (from {start} to {anchor})",
                            "indeterminate"))
    if totals.incomplete:
        flag |= CauseFlag.MISSING
        miss.append(missing(fact, f"whether other records of {what} exist from {start} to {anchor} (the therapies "
                                  f"history is not marked complete)"))
    if not miss:  # pragma: no cover - an open bound always has a reason
        flag = CauseFlag.INDETERMINATE
        miss.append(missing(fact, f"the doses and dates of {what} from {start} to {anchor}", "indeterminate"))
    return unknown(flag, tuple(miss), evidence + (bounds,))


def bind(b: Any, n: A.DosePred) -> P.Expr:
    v = n.value
    if not isinstance(v, A.Quantity):
        raise BindError("a dose is a number of mg (checked)")
    threshold = float(v.number) * (1000 if v.unit == "g" else 1)
    return P.Dose(b.drugs(n.selectors), n.equivalent, n.op, threshold, n.total,  # type: ignore[arg-type]
                  b.window(n.window), b.where(n.where))


def compile_row(c: Any, n: P.Dose) -> Fn:
    return lambda ctx: eval_dose(ctx, n)


def render(n: P.Dose) -> str:
    return (f"Dose {'total' if n.total else 'highest daily'} of ({_names(n.selectors)})"
            + (f" as {n.equivalent}" if n.equivalent else "")
            + f" {n.op} {_num(n.threshold_mg)} mg{'' if n.total else '/day'}"
            + (f" {_window(n.window)}" if n.window else "") + _tests(n.where))


def needs(n: P.Dose) -> tuple[str, ...]:
    return ("therapies: " + ", ".join(r.id for r in n.selectors),)


KIND = register(Kind("dose", (P.Dose,), compile_row, render, needs, (A.DosePred,), bind))
