"""Conditions: ``condition X`` (present now), ``history of X [within W]``, ``diagnosed within W``, ``allergy to
(drugs)``; ``where`` tests on the record, ``except`` concepts.

A record is read through the condition catalog (a broader or overlapping concept may be the wanted one:
UNKNOWN); no matching record is FALSE only when the conditions history is complete (or the policy assumes
absence).  Time rules: docs/language.md.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from eligimatch.engine._evaluate import Context, F, T, U, _date_of, ev, src_label, window_start
from eligimatch.engine._history import (
    _RECORD_CODE,
    _attrs_note,
    _exists,
    _ge,
    _in_window,
    _le,
    _RecordScan,
    _where,
    _where_questions,
)
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.knowledge._dates import shift_clamped as shift  # windows saturate at years 1 and 9999
from eligimatch.knowledge._drugs import Drug
from eligimatch.language import ast as A
from eligimatch.logic import Truth, t_and
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _names, _tests, _timing

_ENDED = ("resolved", "inactive", "remission")


def _allergen_truth(ctx: Context, rec: Any, allergens: tuple[str, ...]) -> tuple[Truth, str]:
    """Whether the record's ``allergen`` attribute is one of ``allergens`` (drugs or classes), read through
    the drug catalog (brands, abbreviations, classes such as excipients): UNKNOWN when the record names no
    allergen, or one the catalog cannot place."""
    name = rec.attributes.get("allergen")
    if name is None or not str(name).strip():
        return U, "allergen not recorded"
    drugs = ctx.catalogs.drugs
    entry = drugs.resolve(str(name))
    if entry is None:
        return U, f"allergen {name} not in the drug catalog"
    # a hypersensitivity is to the substance, whatever it was given for: a drug in a class only for some
    # indications (methotrexate, chemotherapy for a cancer) is that class as an allergen
    status = [_substance_is(drugs, entry.id, a) if isinstance(entry, Drug)
              else drugs.match_status(None, (entry.id,), a) for a in allergens]
    t = T if any(x is True for x in status) else U if any(x is None for x in status) else F
    return t, f"allergen {name} ({entry.id})"


def _substance_is(drugs: Any, drug_id: str, selector: str) -> bool | None:
    """Is the drug, as a substance, a ``selector``: its class membership whatever it was given for."""
    status = drugs.match_status(drug_id, (), selector)
    if status is None and drugs.conditions_for(drug_id, selector):
        return True
    return status


def _onset_in(ctx: Context, rec: Any, w: P.Window) -> Truth:
    """``diagnosed within N before A``: the onset lies in [A - N, A]."""
    if rec.onset is None:
        return U
    return _in_window(ctx, rec.onset, w)


def eval_condition(ctx: Context, pred: P.Condition) -> tuple:
    """``condition X`` (present now) or ``history of X [within ...]``; ``diagnosed within ...``: the onset in the
    window; ``to (drugs)``: the record's allergen is one of the drugs."""
    selectors = tuple(r.id for r in pred.concepts)
    excepted = tuple(r.id for r in pred.excepted)
    allergens = tuple(r.id for r in pred.allergens)
    timing_of = pred.timing
    history = not isinstance(timing_of, P.Present) and not (isinstance(timing_of, P.DiagnosedWithin)
                                                            and timing_of.still_present)
    cat = ctx.catalogs.conditions
    what = " or ".join(selectors)
    fact = f"condition {what}"
    results: list[tuple] = []
    scan = _RecordScan()
    for rec, concept, label, kind_t, questions in scan.records(ctx, ctx.index.conditions, cat, selectors, excepted,
                                                               fact, "onset", results):
        if isinstance(timing_of, P.DiagnosedWithin):
            timing = _onset_in(ctx, rec, timing_of.window)
            when_q = "the onset date of {label}"
            if timing_of.still_present:
                now, now_q = _condition_timing(ctx, rec, _PRESENT)
                if now == U:
                    when_q = now_q if timing != U else when_q + "; " + now_q
                timing = t_and(timing, now)
        else:
            timing, when_q = _condition_timing(ctx, rec, timing_of)
        where_t = _where(pred.where, rec.attributes)
        t = t_and(kind_t, timing, where_t)
        if t == U:
            if timing == U:
                questions.append(when_q.format(label=label))
            if where_t == U:
                questions.extend(_where_questions(pred.where, rec.attributes, label))
        when = f"onset {rec.onset}" if rec.onset else "onset not recorded"
        if rec.end:
            when += f", ended {rec.end}"
        elif rec.status is None and not history:
            when += ", no status or end date"
        if allergens:
            a_t, a_note = _allergen_truth(ctx, rec, allergens)
            t = t_and(t, a_t)
            when += f"; {a_note}"
            if a_t == U:
                questions.append(f"the allergen of {label} ({a_note})")
        note = f"{label} ({concept.id}; {when}{_attrs_note(pred.where, rec.attributes)})"
        if kind_t == U:
            note += f"; broader than or overlapping {what}" if not excepted or any(
                cat.kind_of(concept.id, s) is None for s in selectors) else "; may be excepted"
        code = _RECORD_CODE[t]
        results.append((t, ev(fact, code, note, value=label, date=_date_of(rec.onset), source=src_label(rec)),
                        questions))
    return _exists(ctx, results, "conditions", what, fact, scan.unmapped, scan.later)


_PRESENT = P.Present()


def _condition_timing(ctx: Context, rec: Any, timing: P.Present | P.Ever | P.Within) -> tuple[Truth, str]:
    """Whether the record counts in time, and (when UNKNOWN) what would settle it (``{label}`` to fill in).

    A condition with neither a status nor an end date may have ended: whether it is present *now* is
    UNKNOWN (D9), and in a window it counts only where its onset alone places it there.  One without an
    onset began on or before the evaluation date (it is in the chart)."""
    as_of = ctx.as_of
    onset_lo, onset_hi = (rec.onset.earliest, rec.onset.latest) if rec.onset else (_dt.date.min, as_of)
    started = _le(onset_lo, min(onset_hi, as_of) if onset_hi else as_of, as_of) if rec.onset else T
    dates_q = "more precise onset or end dates of {label}"
    if timing.__class__ is P.Present:
        # present now: started, and not ended or resolved
        if rec.status in _ENDED:
            return F, ""
        if rec.end is None:
            if rec.status is None:
                return t_and(started, U), ("whether {label} is current: a clinical status (active, resolved...) "
                                          "or an end date")
            return started, dates_q
        return t_and(started, _ge(rec.end.earliest, rec.end.latest, shift(as_of, 1, "day"))), dates_q
    if timing.__class__ is not P.Within:
        return started, dates_q
    w = timing.window
    anchor = ctx.anchor(w.anchor)
    start = window_start(ctx, w.durations[0].amount, w.durations[0].unit, w.anchor)
    if rec.onset is not None:
        began_before_end = _le(onset_lo, onset_hi, anchor)
    else:
        # in the chart on the evaluation date, so begun by then (and by its end, when it has one)
        began_by = min(as_of, rec.end.latest) if rec.end is not None else as_of
        began_before_end = T if began_by <= anchor else U
    if rec.end is not None:
        still_on = _ge(rec.end.earliest, rec.end.latest, start)
    elif rec.status in _ENDED or rec.status is None:
        # ended on an unknown day between onset and now (or, without a status, may have)
        still_on = _ge(onset_lo, as_of, start) if rec.onset else U
        if still_on == U:
            return t_and(began_before_end, still_on), (
                "when {label} ended (an end date)" if rec.status else
                "whether {label} is current: a clinical status (active, resolved...) or an end date")
    else:
        still_on = T
    return t_and(began_before_end, still_on), dates_q


def bind(b: Any, n: A.ConditionPred) -> P.Expr:
    timing: Any
    if n.diagnosed:
        timing = P.DiagnosedWithin(b.window_of(n.window), still_present=not n.history)
    elif not n.history:
        timing = P.Present()
    elif n.window is not None:
        timing = P.Within(b.window_of(n.window))
    else:
        timing = P.Ever()
    return P.Condition(b.concepts(n.concepts, "condition"), timing, b.concepts(n.excepted, "condition"),
                       b.where(n.where), b.drugs(n.allergens))


def compile_row(c: Any, n: P.Condition) -> Fn:
    return lambda ctx: eval_condition(ctx, n)


def render(n: P.Condition) -> str:
    return (f"Condition ({_names(n.concepts)}) {_timing(n.timing)}"
            + (f" except ({_names(n.excepted)})" if n.excepted else "")
            + (f" allergy to ({_names(n.allergens)})" if n.allergens else "") + _tests(n.where))


def needs(n: P.Condition) -> tuple[str, ...]:
    return ("conditions: " + ", ".join(r.id for r in n.concepts),)


KIND = register(Kind("condition", (P.Condition,), compile_row, render, needs, (A.ConditionPred,), bind))
