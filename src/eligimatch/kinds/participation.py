"""Participation: ``participation in another study [within W]``: a study record other than this trial whose
period reaches into the window."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from eligimatch.engine._evaluate import Context, F, T, U, _date_of, ev, src_label, window_start
from eligimatch.engine._history import (_RECORD_CODE, _after, _exists, _ge, _le)
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.language import ast as A
from eligimatch.logic import Truth, t_and
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _window


def eval_participation(ctx: Context, pred: P.Participation) -> tuple:
    """``participation in another study [within N before A]``: a study record other than this trial whose
    period (start to end; no end: still in it) reaches into the window."""
    fact = "participation in another study"
    what = "another clinical study"
    results: list[tuple[Truth, Any]] = []
    later = 0
    trial_id = pred.trial_id
    window = pred.window
    if window is not None:
        anchor = ctx.anchor(window.anchor)
        start = window_start(ctx, window.durations[0].amount, window.durations[0].unit, window.anchor)
    else:
        anchor, start = ctx.as_of, _dt.date.min
    for rec in ctx.patient.studies:
        if trial_id is not None and rec.study is not None and rec.study.strip().lower() == trial_id.lower():
            results.append((F, ev(fact, "record_excepted", f"{rec.study}: this trial", value=rec.study,
                                  source=src_label(rec))))
            continue
        if _after(rec.start, ctx.as_of):
            later += 1
            continue
        began = _le(rec.start.earliest, rec.start.latest, anchor) if rec.start else (T if window is None else U)
        still = _ge(rec.end.earliest, rec.end.latest, start) if rec.end else T
        t = t_and(began, still)
        label = rec.study or "a study (not named)"
        note = f"{label} (from {rec.start or 'a start not recorded'} to {rec.end or 'now'})"
        results.append((t, ev(fact, _RECORD_CODE[t], note, value=label, date=_date_of(rec.start),
                              source=src_label(rec))))
    return _exists(ctx, results, "studies", what, fact, later=later)


def bind(b: Any, n: A.ParticipationPred) -> P.Expr:
    return P.Participation(b.window(n.window), b.trial.id)


def compile_row(c: Any, n: P.Participation) -> Fn:
    return lambda ctx: eval_participation(ctx, n)


def render(n: P.Participation) -> str:
    return "Participation in another study" + (f" {_window(n.window)}" if n.window else "")


def needs(n: P.Participation) -> tuple[str, ...]:
    return ("studies: participation in another study",)


KIND = register(Kind("participation", (P.Participation,), compile_row, render, needs, (A.ParticipationPred,), bind))
