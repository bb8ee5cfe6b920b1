"""Stable dose: ``stable dose of X for D before A``: each drug of X taken in the window is taken at one daily
dose throughout it (``dose_since`` inside the window is a change)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from eligimatch.engine._doses import daily_mg
from eligimatch.engine._history import _later_note
from eligimatch.engine._history import _last_dose_range
from eligimatch.engine._evaluate import _absence
from eligimatch.engine._evaluate import NOFLAG, Context, F, T, U, ev, fmt_num, missing, src_label, unknown, window_start
from eligimatch.engine._history import (_after, _ge, _le, _matching_therapies, _therapy_where)
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.language import ast as A
from eligimatch.logic import CauseFlag, Truth, t_and, t_or
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _names, _tests
from eligimatch.plan._serial import _num


def eval_stable_dose(ctx: Context, pred: P.StableDose) -> tuple:
    """Each selected drug taken over [anchor - duration, anchor] is taken at one daily dose throughout.

    Doses are compared per drug: hydroxychloroquine 400 mg/day with mycophenolate 2000 mg/day is two
    stable doses, not a change; and every drug taken in the window must cover all of it.  A record's
    ``dose_since`` inside the window is a change of dose; on or before the window's first day, the
    record alone shows the dose stable.
    """
    selectors = tuple(r.id for r in pred.selectors)
    what = " or ".join(selectors)
    fact = f"stable dose of {what}"
    anchor = ctx.anchor(pred.anchor)
    start = window_start(ctx, pred.duration.amount, pred.duration.unit, pred.anchor)
    doses: dict[str, set[float]] = {}  # per drug
    covers: dict[str, Truth] = {}  # per drug: its dose began on or before the window's first day
    late_unsure: list[tuple[str, str]] = []  # (drug, why that is not known), for the missing fact
    changed: set[str] = set()  # drugs whose record says the dose changed inside the window (dose_since)
    maybe_changed: dict[str, str] = {}  # drugs whose record may say so (dose_since may be its start), and why
    uncertain = False
    unsure: set[str] = set()  # drugs with a record of unknown dose or dates
    evidence = []
    found = False
    later = 0
    for i, kind_t in _matching_therapies(ctx, selectors, ()):
        found = True
        rec, drug_id = ctx.index.therapies[i]
        if _after(rec.start, ctx.as_of):
            later += 1
            uncertain = True
            continue
        active = t_and(kind_t, _active_in(ctx, rec, start, anchor), _therapy_where(pred.where, rec))
        if active == F:
            continue
        mg = daily_mg(rec)
        label = rec.drug or ", ".join(rec.classes)
        since = rec.dose_since
        evidence.append(ev(fact, "dose_period", f"{label}: {fmt_num(mg) if mg is not None else '?'} mg/day from "
                                                f"{since or rec.start or '?'} to {rec.end or ('now' if rec.ongoing else '?')}"
                                                + (f" (course from {rec.start})" if since is not None else ""),
                           value=mg, unit="mg/day", source=src_label(rec)))
        key = drug_id or label
        is_change = _dose_changed(rec)
        if is_change != F and since.earliest > start and active == T:  # type: ignore[union-attr]
            if is_change == T:
                changed.add(key)
            else:  # dose_since may be the start itself: a change, or the course beginning (both after `start`)
                maybe_changed[key] = (f"whether the dose of {label} changed on {since} (dose_since) or its course "
                                      f"began then (recorded start: {rec.start or 'unknown'})")
        if active == U or mg is None or (is_change != F and since.earliest <= start < since.latest):  # type: ignore[union-attr]
            uncertain = True
            unsure.add(key)
            continue
        doses.setdefault(key, set()).add(round(mg, 6))
        # Three-valued: the dose began on or before the window's first day.  A partial date that spans
        # that day may be either (regression N4: start "2025-12" for a window from 2025-12-29 gave
        # "started after"); a record without a start may have begun any day up to its first known one.
        began = since if since is not None else rec.start
        began_by = _le(began.earliest, began.latest, start) if began is not None else U
        covers[key] = t_or(covers.get(key, F), began_by)
        if began_by == U:
            when = f"{began} (dose_since)" if since is not None else (f"{began}" if began is not None else "unknown")
            late_unsure.append((key, f"whether {label} began on or before {start} (recorded start: {when})"))
    if not found:
        return _absence(ctx, "therapies", what, fact)
    changed.update(k for k, d in doses.items() if len(d) > 1)
    if changed:
        evidence.append(ev(fact, "dose_changed", f"the daily dose of {', '.join(sorted(changed))} changed between "
                                                 f"{start} and {anchor}"))
        return (F, NOFLAG, (), tuple(evidence))
    # Every other outcome rests on there being no other record of these drugs in the window (an earlier
    # record of the same drug, a second drug started inside it): only a complete therapies history, or the
    # assume_absent policy, says so.  (Regression, test_removing_information_never_creates_a_match: one
    # ongoing record gave TRUE, and adding a record turned it UNKNOWN or FALSE.)
    if not ctx.patient.complete.therapies:
        if not ctx.policy.assume_absent:
            return unknown(CauseFlag.MISSING, (missing(fact, f"whether other records of {what} exist from {start} "
                                                             f"to {anchor} (the therapies history is not marked "
                                                             f"complete)"),), tuple(evidence))
        evidence.append(ev(fact, "absent_assumed", f"no other record of {what} from {start} to {anchor}; assumed "
                                                   f"by policy (history not marked complete)"))
    # A drug recorded (with its dose) as started inside the window was not taken throughout it, whatever
    # the uncertain records of other drugs say; only an uncertain record of the same drug might cover it.
    # (Regression, test_removing_information_never_creates_a_match: an unmapped drug's record turned this
    # FALSE into UNKNOWN, so removing that record turned UNKNOWN into FALSE.)
    started_late = [k for k in doses if covers[k] == F and k not in unsure]
    if started_late:
        evidence.append(ev(fact, "dose_started_late", f"{', '.join(started_late)} started after {start}"))
        return (F, NOFLAG, (), tuple(evidence))
    if later:
        return unknown(CauseFlag.INVALID, (_later_note(ctx, fact, what, later),), tuple(evidence))
    if uncertain or U in covers.values():
        whys = list(dict.fromkeys(why for k, why in late_unsure if covers[k] == U))
        if uncertain:
            whys.append(f"doses and dates of {what} from {start} to {anchor}")
        return unknown(CauseFlag.INDETERMINATE, tuple(missing(fact, why, "indeterminate") for why in whys),
                       tuple(evidence))
    if not doses:
        evidence.append(ev(fact, "not_exposed", f"no {what} between {start} and {anchor}"))
        return (F, NOFLAG, (), tuple(evidence))
    if maybe_changed:
        # stable only if each such dose_since is its record's start (a course continuing an earlier record);
        # a change of dose inside the window if it is not
        return unknown(CauseFlag.INDETERMINATE, tuple(missing(fact, why, "indeterminate")
                                                      for why in maybe_changed.values()), tuple(evidence))
    evidence.append(ev(fact, "dose_stable", f"one daily dose since {start}"))
    return (T, NOFLAG, (), tuple(evidence))


def _dose_changed(rec: Any) -> Truth:
    """Three-valued: the record's ``dose_since`` is a change of dose during its course, not its start.

    TRUE when ``dose_since`` is surely after the start; FALSE without one, or when both are the same exact
    day; UNKNOWN when they may be the same day (start "2026-01" and dose_since 2026-01-15, or no start at
    all: the course may have begun on dose_since).  Reading a possible start as a sure change gave a wrong
    NO MATCH (issue 18, dose_since)."""
    since = rec.dose_since
    if since is None:
        return F
    began = rec.start
    if began is None:
        return U
    if since.earliest > began.latest:
        return T
    if since.latest <= began.earliest:  # the same day (validation keeps dose_since on or after the start)
        return F
    return U


def _active_in(ctx: Context, rec: Any, start: _dt.date, end: _dt.date) -> Truth:
    """Three-valued: the record's exposure overlaps [start, end].  Without a start date the record began on
    or before its last dose (an ongoing one: by the evaluation date)."""
    last = _last_dose_range(ctx, rec, end)
    if last is None:
        return U
    if rec.start is not None:
        began = _le(rec.start.earliest, rec.start.latest, end)
    else:
        began_by = ctx.as_of if rec.ongoing else last[1]
        began = T if began_by <= end else U
    return t_and(began, _ge(last[0], last[1], start))


def bind(b: Any, n: A.StableDosePred) -> P.Expr:
    return P.StableDose(b.drugs(n.selectors), b.duration(n.duration), n.anchor, b.where(n.where))


def compile_row(c: Any, n: P.StableDose) -> Fn:
    return lambda ctx: eval_stable_dose(ctx, n)


def render(n: P.StableDose) -> str:
    return (f"StableDose of ({_names(n.selectors)}) for {_num(n.duration.amount)} {n.duration.unit} "
            f"before {n.anchor}{_tests(n.where)}")


def needs(n: P.StableDose) -> tuple[str, ...]:
    return ("therapies: " + ", ".join(r.id for r in n.selectors),)


KIND = register(Kind("stable_dose", (P.StableDose,), compile_row, render, needs, (A.StableDosePred,), bind))
