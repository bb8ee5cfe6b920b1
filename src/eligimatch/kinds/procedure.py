"""Procedures: ``procedure X [within W] [where ...] [except ...]``: a record of X (or below it) dated in the
window (any time up to the evaluation date without one)."""

from __future__ import annotations

from typing import Any

from eligimatch.engine._evaluate import Context, T, U, _date_of, ev, src_label
from eligimatch.engine._history import (
    _RECORD_CODE,
    _attrs_note,
    _exists,
    _in_window,
    _le,
    _RecordScan,
    _where,
    _where_questions,
)
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.language import ast as A
from eligimatch.logic import t_and
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _names, _tests, _timing


def eval_procedure(ctx: Context, pred: P.Procedure) -> tuple:
    selectors = tuple(r.id for r in pred.concepts)
    excepted = tuple(r.id for r in pred.excepted)
    window = pred.timing.window if pred.timing.__class__ is P.Within else None
    cat = ctx.catalogs.procedures
    what = " or ".join(selectors)
    fact = f"procedure {what}"
    results: list[tuple] = []
    scan = _RecordScan()
    for rec, concept, label, kind_t, questions in scan.records(ctx, ctx.index.procedures, cat, selectors, excepted,
                                                               fact, "date", results):
        if rec.date is None:
            t = T if window is None else U
        elif window is None:
            t = _le(rec.date.earliest, rec.date.latest, ctx.as_of)
        else:
            t = _in_window(ctx, rec.date, window)
        if t == U:
            questions.append(f"the date of {label}" if rec.date is None else f"a more precise date of {label}")
        where_t = _where(pred.where, rec.attributes)
        if where_t == U:
            questions.extend(_where_questions(pred.where, rec.attributes, label))
        t = t_and(kind_t, t, where_t)
        code = _RECORD_CODE[t]
        results.append((t, ev(fact, code, f"{label} ({concept.id}; {rec.date or 'date not recorded'}"
                                          f"{_attrs_note(pred.where, rec.attributes)})"
                                          + (f"; broader than {what}" if kind_t == U else ""),
                              value=label, date=_date_of(rec.date), source=src_label(rec)), questions))
    return _exists(ctx, results, "procedures", what, fact, scan.unmapped, scan.later)


def bind(b: Any, n: A.ProcedurePred) -> P.Expr:
    timing = P.Within(b.window_of(n.window)) if n.window is not None else P.Ever()
    return P.Procedure(b.concepts(n.concepts, "procedure"), timing, b.concepts(n.excepted, "procedure"),
                       b.where(n.where))


def compile_row(c: Any, n: P.Procedure) -> Fn:
    return lambda ctx: eval_procedure(ctx, n)


def render(n: P.Procedure) -> str:
    return (f"Procedure ({_names(n.concepts)}) {_timing(n.timing)}"
            + (f" except ({_names(n.excepted)})" if n.excepted else "") + _tests(n.where))


def needs(n: P.Procedure) -> tuple[str, ...]:
    return ("procedures: " + ", ".join(r.id for r in n.concepts),)


KIND = register(Kind("procedure", (P.Procedure,), compile_row, render, needs, (A.ProcedurePred,), bind))
