"""Therapies: ``therapy X`` (ever), ``therapy X within W`` (the last dose plus ``max(14 days, 5 half-lives)``
reaches the anchor), ``ongoing therapy X``, ``therapy X started at least D before A``, ``washout from X of at
least W``; ``for condition Y``, ``where`` tests, ``except`` drugs, ``(a and b)`` (one record is both).

A record is read through the drug catalog (a class, or a drug the catalog does not know, may or may not be
the selector: UNKNOWN).  Time rules: docs/language.md.
"""

from __future__ import annotations

from typing import Any

import datetime as _dt

from eligimatch.engine._history import _last_dose_range
from eligimatch.knowledge._dates import elapsed_on, window_end
from eligimatch.engine._evaluate import NOFLAG, Context, F, T, U, ev, fmt_num, missing, src_label, unknown, window_start
from eligimatch.engine._history import (_RECORD_CODE, _after, _attrs_note, _exists, _ge, _le, _matching_therapies, _therapy_attrs, _therapy_where, _where_questions)
from eligimatch.knowledge._dates import shift_clamped as shift  # windows saturate at years 1 and 9999
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.language import ast as A
from eligimatch.logic import CauseFlag, Truth, t_and, t_not, t_or
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _names, _tests, _timing
from eligimatch.plan._bind import BindError


def _window_length_end(last: _dt.date, durations: tuple, half_life: float | None,
                       text: bool = True, washout: bool = False) -> tuple[_dt.date | None, str]:
    """For a last dose on ``last``, the last anchor whose window ("within max(durations) before") still
    holds it -- or, ``washout``, the first anchor on which the washout is complete; and how it was
    reckoned (``text=False``: not needed).  Calendar months and years are counted back from the anchor
    (:func:`eligimatch.knowledge._dates.window_end`, :func:`eligimatch.knowledge._dates.elapsed_on`), never forward from the
    dose; days, weeks and half-lives are day counts, the same either way."""
    ends = []
    parts = []
    for d in durations:
        amount, unit = d.amount, d.unit
        if unit == "half-life":
            if half_life is None:
                return None, "half-life unknown"
            days = amount * half_life
            ends.append(_plus(last, int(-(-days // 1)), "day"))
            if text:
                parts.append(f"{fmt_num(amount)} half-lives of {fmt_num(half_life)} days = {fmt_num(days)} days")
        else:
            if unit == "day" or unit == "week":
                ends.append(_plus(last, int(amount), unit))
            else:
                count_back = elapsed_on if washout else window_end
                ends.append(count_back(last, int(amount), unit, saturate=True))
            if text:
                parts.append(f"{fmt_num(amount)} {unit}{'s' if amount != 1 else ''}")
    return max(ends), "; ".join(parts)


def _plus(d: _dt.date, amount: int, unit: str) -> _dt.date:
    """``shift(d, amount, unit)``; day and week counts without its argument checks (a hot path)."""
    if unit == "day" or unit == "week":
        try:
            return d + _dt.timedelta(days=amount if unit == "day" else 7 * amount)
        except OverflowError:
            pass  # shift raises the documented error
    return shift(d, amount, unit)


def _indication_truth(ctx: Context, rec: Any, indication: tuple[str, ...], negated: bool) -> Truth:
    """``for condition X``: the record's indication is (a kind of) X; UNKNOWN when not recorded or not in the
    condition catalog.  ``not for``: the opposite, still UNKNOWN when the indication is not known."""
    if rec.indication is None:
        return U
    cat = ctx.catalogs.conditions
    concept = cat.resolve(rec.indication)
    if concept is None:
        return U
    kinds = [cat.kind_of(concept.id, x) for x in indication]
    t = T if any(k is True for k in kinds) else U if any(k is None for k in kinds) else F
    return t_not(t) if negated else t


def eval_therapy(ctx: Context, pred: P.Therapy) -> tuple:
    """``therapy X ...``; for ``washout from X of at least ...`` (:class:`~eligimatch.plan.WashoutComplete`) the
    records still inside the washout are TRUE (the caller negates): last dose + washout > anchor."""
    selectors = tuple(r.id for r in pred.selectors)
    excepted = tuple(r.id for r in pred.excepted)
    indication = tuple(r.id for r in pred.indication)
    timing = pred.timing
    kind = timing.__class__
    what = (" and " if pred.conjunct else " or ").join(selectors)
    fact = f"therapy {what}"
    results: list[tuple] = []
    drugs = ctx.catalogs.drugs
    idx = ctx.index
    for i in range(len(idx.therapies)) if excepted else ():
        # a record the criterion names but excepts is shown as excepted, not hidden
        if any(idx.therapy_matches(i, s) == T for s in selectors) and any(idx.therapy_matches(i, x) == T
                                                                           for x in excepted):
            rec = idx.therapies[i][0]
            label = rec.drug or ", ".join(rec.classes) or "investigational agent"
            results.append((F, ev(fact, "record_excepted", f"{label}: excepted", value=label, source=src_label(rec))))
    later = 0
    violations: list[tuple] = []  # for `started at least ... before`: courses that started too late (+ questions)
    # `started at least` under a history not closed (not marked complete, absence not assumed): a course's
    # first record need not be its first day (an earlier record of it may be missing), and a course not
    # recorded may have started too late -- neither "too late" nor "every course in time" is known (issue 18)
    closed = ctx.patient.complete.therapies or ctx.policy.assume_absent
    limit: _dt.date | None = None
    for i, kind_t in _matching_therapies(ctx, selectors, excepted, pred.conjunct):
        rec, drug_id = ctx.index.therapies[i]
        if _after(rec.start, ctx.as_of):
            later += 1
            continue
        label = rec.drug or ", ".join(rec.classes) or "investigational agent"
        n_violations = len(violations)
        qs: list[str] = []  # what would settle this record, when it is UNKNOWN
        conditional = _conditional_on(ctx, drug_id, selectors) if kind_t != F else ()
        if kind_t == U:
            qs.append(_indication_question(rec, conditional, what) if conditional
                      else _kind_question(rec, drug_id, label, what))
        where_t = _therapy_where(pred.where, rec)
        if where_t == U:
            qs.extend(_where_questions(pred.where, _therapy_attrs(rec), label))
        attrs_t = t_and(kind_t, where_t)
        if indication:
            attrs_t = t_and(attrs_t, _indication_truth(ctx, rec, indication, pred.indication_negated))
            label += f" (for {rec.indication or 'an indication not recorded'})"
        if conditional:
            label += (f" ({what} only when given for {' or '.join(conditional)}; indication "
                      f"{'not recorded' if rec.indication is None else repr(rec.indication)})")
        elif kind_t == U:
            label += f" (not in the drug catalog, or too broad to tell whether it is {what})"
        passes_on = None
        if kind is P.TherapyEver:
            t = _le(rec.start.earliest, rec.start.latest, ctx.as_of) if rec.start else T
            note = f"{label} (started {rec.start or 'date not recorded'})"
            when_q = f"a more precise start date of {label}"
        elif kind is P.TherapyOngoing:
            if rec.ongoing:
                t = T
            elif rec.end is not None:
                t = _ge(rec.end.earliest, rec.end.latest, ctx.as_of)
            else:
                t = U
            when_q = (f"whether {label} is ongoing (an end date, or ongoing)" if rec.end is None
                      else f"a more precise end date of {label}")
            note = f"{label} ({'ongoing' if rec.ongoing else f'ended {rec.end}' if rec.end else 'end not recorded'})"
        elif kind is P.TherapyStarted:
            # every course still taken on or after the limit must have started by then
            anchor = ctx.anchor(timing.anchor)  # type: ignore[union-attr]
            limit = window_start(ctx, timing.duration.amount, timing.duration.unit,  # type: ignore[union-attr]
                                 timing.anchor)  # type: ignore[union-attr]
            # the course began when the first of the records of this drug that follow each other did
            # (a dose change is not a new course; eligimatch.engine._doses, issue 18)
            from eligimatch.engine._doses import course_start  # doses builds on this module

            began = course_start(ctx, i)
            started_ok = _le(began[0], began[1], limit) if began is not None else U
            open_start = started_ok == F and not closed
            if open_start:
                started_ok = U
            last = _last_dose_range(ctx, rec, anchor)
            relevant = _ge(last[0], last[1], limit) if last is not None else U
            violation = t_and(relevant, t_not(started_ok), attrs_t)
            if violation != F:
                violations.append((violation, ev(fact, "started_too_late" if violation == T else "record_uncertain",
                                                 f"{label} started {rec.start or '(date not recorded)'}, after "
                                                 f"{limit}" if violation == T else
                                                 f"{label}: first recorded {rec.start}, after {limit}; an earlier "
                                                 f"record of the course may be missing (the therapies history is "
                                                 f"not marked complete)" if open_start else
                                                 f"{label}: start or stop dates too imprecise to tell whether it "
                                                 f"started on or before {limit}", value=label,
                                                 source=src_label(rec))))
            t = t_and(relevant, started_ok)
            note = f"{label} started {rec.start or '(date not recorded)'}; must be on or before {limit}"
            when_q = (f"the start date of {label}" if began is None else
                      f"whether {label} continues a course begun on or before {limit} (its first record starts "
                      f"{rec.start}; the therapies history is not marked complete)" if open_start else
                      f"more precise start and stop dates of {label}")
        else:  # window, or washout
            window = timing.window  # type: ignore[union-attr]
            durations = window.durations
            anchor = ctx.anchor(window.anchor)
            # `within` counts both ends: a record is inside while anchor <= end.  A washout is complete once
            # it has run (anchor >= end): a record still inside it while anchor < end, i.e. end >= anchor + 1.
            washout = kind is P.WashoutComplete
            limit = shift(anchor, 1, "day") if washout else anchor
            last = _last_dose_range(ctx, rec, anchor)
            half_life = None
            if drug_id is not None:
                d = drugs.get(drug_id) or drugs.resolve(drug_id)
                half_life = getattr(d, "half_life_days", None)
            when_q = f"more precise dates of {label} (its last dose)"
            if last is None:
                t, note = U, f"{label}: no dates recorded"
                when_q = f"the dates of {label} (a last dose, or ongoing)"
            else:
                end_lo, arith = _window_length_end(last[0], durations, half_life, washout=washout)
                end_hi, _ = _window_length_end(last[1], durations, half_life, text=False, washout=washout)
                if rec.start:
                    began_t = _le(rec.start.earliest, rec.start.latest, anchor)
                else:
                    # no start: the course began on or before its last dose, perhaps after the anchor (N1);
                    # it counts only when a known day of it -- the last dose -- is on or before the anchor
                    began_t = T if _le(last[0], last[1], anchor) == T else U
                    if began_t == U:
                        when_q = (f"the start date of {label} (not recorded; it may have begun after "
                                  f"{window.anchor}, {anchor}: its last dose is not known to be before)")
                if end_lo is None or end_hi is None:
                    # the half-life part is unknown: decided only if the fixed part already covers the anchor
                    fixed = tuple(d for d in durations if d.unit != "half-life")
                    f_end, _ = _window_length_end(last[0], fixed, None, washout=washout) if fixed else (None, "")
                    t = t_and(began_t, T) if f_end is not None and f_end >= limit else U
                    note = f"{label}: last dose {last[0]}; half-life of {drug_id or label} unknown"
                    when_q = f"the half-life of {drug_id or label} (not in the drug catalog)"
                    if f_end is not None:
                        note += (f"; the fixed part of the washout alone runs to {f_end}"
                                 + (f", on or after {limit} ({window.anchor})" if f_end >= limit
                                    else f", before {anchor} ({window.anchor}): the half-life decides"))
                else:
                    # inside the window while anchor <= end (the washout has not run out by the anchor)
                    t = t_and(began_t, _ge(end_lo, end_hi, limit))
                    last_txt = str(last[0]) if last[0] == last[1] else f"between {last[0]} and {last[1]}"
                    if washout:
                        note = f"{label}: last dose {last_txt}; {arith}; the washout is complete on {end_hi}"
                    else:
                        note = f"{label}: last dose {last_txt}; {arith}; the washout ends {end_hi}"
                    if t == T and not rec.ongoing and last[0] == last[1]:
                        if end_hi < _dt.date.max:  # a washout running past 9999 never completes
                            passes_on = end_hi if washout else shift(end_hi, 1, "day")
                            if not washout:
                                note += f"; washout complete on {passes_on}"
        if t == U:
            qs.append(when_q)
        t = t_and(t, attrs_t)
        if pred.where:
            note += f" ({_attrs_note(pred.where, _therapy_attrs(rec))[2:]})"
        code = _RECORD_CODE[t]
        results.append((t, ev(fact, code, note, value=label, source=src_label(rec), passes_on=passes_on), qs))
        if len(violations) > n_violations and violations[-1][0] == U:
            violations[-1] = (U, violations[-1][1], qs)
    if violations:
        worst = t_or(*[v[0] for v in violations])
        shown = tuple(v[1] for v in violations if v[0] == worst)
        if worst == T:
            return (F, NOFLAG, (), shown)
        questions = tuple(dict.fromkeys(q for v in violations if v[0] == U and len(v) > 2 for q in v[2]))
        return unknown(CauseFlag.INDETERMINATE, tuple(missing(fact, q, "indeterminate") for q in questions)
                       or (missing(fact, f"start and stop dates of {what}", "indeterminate"),), shown)
    res = _exists(ctx, results, "therapies", what, fact, later=later)
    if kind is P.TherapyStarted and res[0] == T and not closed:
        # a course in time is recorded, but a course not recorded may have begun after the limit
        return unknown(CauseFlag.MISSING, (missing(fact, f"whether the patient received another course of {what} "
                                                         f"begun after {limit} (the therapies history is not "
                                                         f"marked complete)"),), res[3])
    return res


def _conditional_on(ctx: Context, drug_id: str | None, selectors: tuple[str, ...]) -> tuple[str, ...]:
    """The conditions a record's drug must be given for to be one of ``selectors`` (its catalog
    ``conditional_classes``); empty when its membership does not depend on the indication."""
    if drug_id is None:
        return ()
    drugs = ctx.catalogs.drugs
    return tuple(sorted({c for s in selectors for c in drugs.conditions_for(drug_id, s)}))


def _indication_question(rec: Any, conditions: tuple[str, ...], what: str) -> str:
    """What would tell whether a drug that is ``what`` only for some indications was given for one."""
    if rec.indication is None:
        return (f"the indication of {rec.drug} (it is {what} only when given for {' or '.join(conditions)}; "
                f"the record names no indication)")
    return (f"the indication of {rec.drug}: whether {rec.indication!r} is {' or '.join(conditions)} (it is {what} "
            f"only when given for it; the recorded indication is not in the condition catalog, or too broad)")


def _kind_question(rec: Any, drug_id: str | None, label: str, what: str) -> str:
    """What would tell whether a therapy record is a ``what`` (D3: a drug the catalog does not know)."""
    if rec.drug and drug_id is None:
        return (f"whether {rec.drug} is {what}: the drug is not in the drug catalog (its own classes cannot "
                f"rule {what} out)")
    if not rec.drug and rec.investigational and not rec.classes:
        return f"which drug the investigational agent was (whether it is {what})"
    return f"which drug the record {label} names (whether it is {what})"


def bind(b: Any, n: A.TherapyPred) -> P.Expr:
    timing: P.TherapyTiming
    if n.timing == "ever":
        timing = P.TherapyEver()
    elif n.timing == "window":
        timing = P.TherapyWithin(b.window_of(n.window))
    elif n.timing == "ongoing":
        timing = P.TherapyOngoing()
    elif n.timing == "started":
        if n.anchor is None:
            raise BindError("`started at least ... before` names an anchor (the grammar always gives one)")
        timing = P.TherapyStarted(b.duration(n.started), n.anchor)
    elif n.timing == "washout":
        timing = P.WashoutComplete(b.window_of(n.window))
    else:
        raise BindError(f"unknown therapy timing {n.timing!r}")
    return P.Therapy(b.drugs(n.selectors), timing, b.drugs(n.excepted), b.where(n.where), n.conjunct,
                     b.concepts(n.indication, "condition"), n.indication_negated)


def compile_row(c: Any, n: P.Therapy) -> Fn:
    if isinstance(n.timing, P.WashoutComplete):  # complete once the washout has run: not (still inside it)
        def washout(ctx: Context) -> tuple:
            t, flag, miss, evidence = eval_therapy(ctx, n)
            return (t_not(t), flag, miss, evidence)
        return washout
    return lambda ctx: eval_therapy(ctx, n)


def render(n: P.Therapy) -> str:
    sel = (" and " if n.conjunct else ", ").join(r.id for r in n.selectors)
    ind = f" {'not ' if n.indication_negated else ''}for ({_names(n.indication)})" if n.indication else ""
    return (f"Therapy ({sel}) {_timing(n.timing)}" + (f" except ({_names(n.excepted)})" if n.excepted else "")
            + ind + _tests(n.where))


def needs(n: P.Therapy) -> tuple[str, ...]:
    return ("therapies: " + ", ".join(r.id for r in n.selectors),)


KIND = register(Kind("therapy", (P.Therapy,), compile_row, render, needs, (A.TherapyPred,), bind))
