"""Doses: the total daily dose, the total dose over a window, a stable dose, and courses.

Rules (documented in ``docs/language.md``; issue 18 and issue 13, finding 3):

* **Total daily dose.** Records taken on the same day add up, in prednisone
  equivalents where the criterion says ``as prednisone``: prednisone 5 mg/day
  with prednisone 2.5 mg/day is 7.5 mg/day; prednisone 40 mg/day with
  dexamethasone 6 mg/day is 80 mg/day of prednisone.  ``daily dose of X op V``
  compares the highest total daily dose in the window (the evaluation date when
  no window is given); ``total dose of X within W op V`` compares the sum of the
  daily totals over every day of the window, both ends included.
* **Bounds, not guesses.** Each day's total is known between a lower bound (the
  records certainly taken that day, with a known dose) and an upper bound (every
  record that may have been taken that day; unbounded when one of them has no
  computable dose, when a record may be of the drug but the catalog cannot tell,
  or when the therapies history is not complete: another record may be
  missing).  A criterion is decided only when both bounds give the same answer.
* **When a record was taken.** From its start to its last dose (see
  :func:`eligimatch.engine._history._last_dose_range`); a record without a start was
  certainly taken on its last dose day, and maybe on any day before it.
* **Dose changes.** ``dose_since`` is the day the record's current dose began;
  before it the dose is not known from the record.  It is a sure change only
  when it is surely after the record's start; one that may be the start
  (start "2026-01", dose_since 2026-01-15) may be the course's first day.  On the day a record of a
  drug ends, another record of the same drug that may start that day is maybe a
  change of dose, not a second dose: that day counts at least the lower of the
  two doses, and (when the new record surely starts that day) at most the
  higher.  Records that are exact copies of each other count once for the lower
  bound.
* **Courses.** Records of one drug that follow each other without a day's gap
  are one course: ``started at least N before A`` asks when the course began.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, NamedTuple

from eligimatch.language import ast as A
from eligimatch.engine._evaluate import (NOFLAG, Context, F, T, U, _absence, compare, ev, fmt_num, missing, op_symbol, src_label, unknown,
                       window_start)
from eligimatch.engine._history import (_after, _attrs_note, _ge, _last_dose_range, _later_note, _le, _matching_therapies,
                      _therapy_attrs, _therapy_where)
from eligimatch.logic import CauseFlag, Truth, t_and, t_or

__all__ = ["daily_mg", "eval_dose", "eval_stable_dose", "course_start"]

INF = math.inf


def daily_mg(rec: Any) -> float | None:
    """The record's daily dose in mg, or None when it cannot be computed (no dose, an unknown unit, or a
    product too large for a float: 1e308 g x 1e308 a day)."""
    mg = _daily_mg_raw(rec)
    return mg if mg is None or math.isfinite(mg) else None


def _daily_mg_raw(rec: Any) -> float | None:
    d = rec.dose
    if d is None:
        return None
    unit = d.unit.replace(" ", "").lower()
    if unit in ("mg/day", "mg/d", "mg/24h"):
        return d.value
    if unit == "mg":
        return d.value * d.per_day if d.per_day is not None else None
    if unit in ("g/day", "g/d"):
        return d.value * 1000
    if unit == "g":
        return d.value * 1000 * d.per_day if d.per_day is not None else None
    return None


# ---- when each record was taken, at what dose ----------------------------------------------------------

Days = tuple[_dt.date, _dt.date]  # first and last day, both included


class _Part(NamedTuple):
    """One record's part in the daily totals."""

    label: str
    drug: str | None
    counts: Truth  # the record is of the drug and passes `where`: TRUE, or UNKNOWN (it may be)
    certain: Days | None  # days it was certainly taken
    possible: Days | None  # days it may have been taken
    mg: float | None  # its daily dose (as prednisone when asked), None when it cannot be computed
    known_from: _dt.date  # the first day its dose is known (dose_since), _dt.date.min without one
    last_day: _dt.date | None  # its recorded end, when it is one exact day (not ongoing)
    starts: Days  # the days it may have started on


def _exposure(ctx: Context, rec: Any, horizon: _dt.date) -> tuple[Days | None, Days | None]:
    """The days the record was certainly taken, and the days it may have been taken."""
    last = _last_dose_range(ctx, rec, horizon)
    if last is None:  # neither a start, an end nor `ongoing`: any day up to the evaluation date (or horizon)
        return None, (_dt.date.min, max(ctx.as_of, horizon))
    if rec.start is not None:
        first_sure: _dt.date | None = rec.start.latest
    elif rec.ongoing:
        first_sure = ctx.as_of  # taken on the evaluation date, whenever it began
    else:
        first_sure = last[0] if last[0] == last[1] else None  # on or before the last dose: that day, surely
    certain = (first_sure, last[0]) if first_sure is not None and first_sure <= last[0] else None
    return certain, (rec.start.earliest if rec.start is not None else _dt.date.min, last[1])


def _clip(days: Days | None, lo: _dt.date, hi: _dt.date) -> Days | None:
    if days is None:
        return None
    a, b = max(days[0], lo), min(days[1], hi)
    return (a, b) if a <= b else None


class _Totals(NamedTuple):
    """The daily totals over a window, as bounds per run of days with the same bounds."""

    runs: list[tuple[_dt.date, _dt.date, float, float]]  # (first day, last day, lower, upper)
    evidence: list  # per record
    open_reasons: list[str]  # why the upper bound is unbounded somewhere, for the missing fact
    incomplete: bool  # the upper bound is unbounded because the history is not complete
    later: int


def _totals(ctx: Context, selectors: tuple[str, ...], pred: A.DosePred | Any, fact: str, what: str,
            start: _dt.date, end: _dt.date, equivalent: str | None) -> _Totals | tuple:
    """Lower and upper bounds of the total daily dose on each day from ``start`` to ``end``, or the
    answer when there is no record of the drugs at all."""
    drugs = ctx.catalogs.drugs
    parts: list[_Part] = []
    evidence: list = []
    reasons: list[str] = []
    later = 0
    for i, kind_t in _matching_therapies(ctx, selectors, ()):
        rec, drug_id = ctx.index.therapies[i]
        if _after(rec.start, ctx.as_of):
            later += 1
            continue
        counts = t_and(kind_t, _therapy_where(pred.where, rec))
        if counts == F:
            continue
        certain, possible = _exposure(ctx, rec, end)
        certain, possible = _clip(certain, start, end), _clip(possible, start, end)
        if possible is None:
            continue  # not taken in the window
        label = rec.drug or ", ".join(rec.classes) or "investigational agent"
        mg = daily_mg(rec)
        if mg is not None and equivalent:
            mg = drugs.prednisone_equivalent(drug_id, mg) if drug_id else None
        since = rec.dose_since
        known_from = since.latest if since is not None else _dt.date.min
        last_day = rec.end.earliest if rec.end is not None and rec.end.earliest == rec.end.latest else None
        starts = (rec.start.earliest, rec.start.latest) if rec.start is not None else (_dt.date.min, possible[1])
        parts.append(_Part(label, drug_id, counts, certain if counts == T else None, possible, mg, known_from,
                           last_day, starts))
        evidence.append(_record_evidence(fact, rec, label, mg, equivalent, certain, possible, pred))
        if mg is None:
            reasons.append(f"the daily dose of {label}" + (f" as {equivalent}" if equivalent else ""))
        elif since is not None and known_from > start and possible[0] < known_from:
            reasons.append(f"the dose of {label} before {since} (dose_since)")
        if counts == U:
            reasons.append(f"whether {label} is {what}")
        if certain != possible and counts == T:
            reasons.append(f"the days {label} was taken")
    if not parts and not later:
        # no record of the drugs taken in the window: FALSE (the caller compares a dose of 0) if the
        # history says there is no other, else UNKNOWN naming the history
        return _absence(ctx, "therapies", what, fact)
    complete = ctx.patient.complete.therapies or ctx.policy.assume_absent
    runs = _runs(parts, start, end, unbounded=not complete or bool(later))
    if complete and not ctx.patient.complete.therapies:
        evidence.append(ev(fact, "absent_assumed", f"no other record of {what} from {start} to {end}; assumed by "
                                                   f"policy (history not marked complete)"))
    return _Totals(runs, evidence, reasons, not complete, later)


def _record_evidence(fact: str, rec: Any, label: str, mg: float | None, equivalent: str | None,
                     certain: Days | None, possible: Days, pred: Any) -> Any:
    if certain == possible:
        days = f"taken {certain[0]} to {certain[1]}" if certain[0] != certain[1] else f"taken {certain[0]}"  # type: ignore[index]
    elif certain is not None:
        days = f"surely taken {certain[0]} to {certain[1]}, maybe {possible[0]} to {possible[1]}"
    else:
        start = "" if possible[0] == _dt.date.min else f"{possible[0]} "
        days = f"maybe taken {start}to {possible[1]}"
    where = f"; {_attrs_note(pred.where, _therapy_attrs(rec))[2:]}" if pred.where else ""
    since = f" since {rec.dose_since}" if rec.dose_since is not None else ""
    if mg is None or rec.dose is None:
        return ev(fact, "dose_unknown", f"{label}: daily dose or its {equivalent or 'mg'} equivalent cannot be "
                                        f"computed ({days}{where})", source=src_label(rec))
    d = rec.dose
    text = (f"{label}: {d.value:g} {d.unit}" + (f" x {d.per_day:g}/day" if d.per_day else "")
            + (f" = {fmt_num(mg)} mg/day {equivalent} equivalent" if equivalent else "") + f"{since} ({days}{where})")
    return ev(fact, "dose_used", text, value=d.value, unit=d.unit, converted=mg, converted_unit="mg/day",
              source=src_label(rec))


def _handovers(parts: list[_Part]) -> dict[tuple[int, _dt.date], tuple[int, bool]]:
    """Days on which a record of a drug ends and another record of the same drug may start: maybe a
    change of dose that day rather than two doses.  Maps (the ending record, its last day) to (the
    starting record, whether it surely starts that day)."""
    out: dict[tuple[int, _dt.date], tuple[int, bool]] = {}
    for i, a in enumerate(parts):
        day = a.last_day
        if a.drug is None or a.certain is None or day is None or a.certain[1] != day:
            continue
        for j, b in enumerate(parts):
            if j != i and b.drug == a.drug and b.starts[0] <= day <= b.starts[1]:
                out[(i, day)] = (j, b.starts == (day, day))
                break
    return out


def _runs(parts: list[_Part], start: _dt.date, end: _dt.date,
          unbounded: bool) -> list[tuple[_dt.date, _dt.date, float, float]]:
    """Split [start, end] where any record's state changes; the bounds of the total on each run."""
    handover = _handovers(parts)
    # cut points as day numbers: the day after 9999-12-31 is a number, not a date
    first, stop = start.toordinal(), end.toordinal() + 1
    cuts = {first, stop}
    for p in parts:
        for days in (p.certain, p.possible):
            if days is not None:
                cuts.update((days[0].toordinal(), days[1].toordinal() + 1))
        if start < p.known_from <= end:
            cuts.add(p.known_from.toordinal())
    for (_, day) in handover:
        cuts.update((day.toordinal(), day.toordinal() + 1))
    points = sorted(c for c in cuts if first <= c <= stop)
    # exact copies of a record count once for the lower bound (a duplicate feed, or two doses: unknown)
    seen: set[tuple] = set()
    copies = set()
    for k, p in enumerate(parts):
        key = (p.drug, p.label, p.certain, p.possible, p.mg, p.known_from, p.counts)
        if p.drug is not None and key in seen:
            copies.add(k)
        seen.add(key)
    runs = []
    for n, nxt in zip(points, points[1:]):
        a, b = _dt.date.fromordinal(n), _dt.date.fromordinal(nxt - 1)
        lo = 0.0
        hi = INF if unbounded else 0.0
        for k, p in enumerate(parts):
            mine = p.mg if p.mg is not None and a >= p.known_from else None
            change = handover.get((k, a)) if a == b else None
            if change is not None and k not in copies:
                # the last day of this record, when the next of the same drug may start: maybe a change of
                # dose that day, not two doses.  The pair counts at least the lower of the two doses, and,
                # when the next surely starts that day, at most the higher (this record adds what brings
                # the pair there; the other adds its own part as usual).
                j, surely = change
                other = parts[j]
                theirs = other.mg if other.mg is not None and a >= other.known_from else None
                theirs_lo = (theirs or 0.0) if (j not in copies and other.certain is not None
                                                and other.certain[0] <= a <= other.certain[1]) else 0.0
                lo += min(mine or 0.0, theirs or 0.0) - theirs_lo
                if not surely:
                    hi += mine if mine is not None else INF
                elif mine is None or theirs is None:
                    hi = INF
                else:
                    hi += max(mine, theirs) - theirs
                continue
            if p.possible is not None and p.possible[0] <= a and b <= p.possible[1]:
                hi += mine if mine is not None else INF
            if k in copies or p.certain is None or not (p.certain[0] <= a and b <= p.certain[1]):
                continue
            lo += mine if mine is not None else 0.0
        runs.append((a, b, lo, hi))
    return runs


def _decide(lo: float, hi: float, op: str, threshold: float) -> Truth:
    """The criterion for a value known to lie in [lo, hi]."""
    if op in ("=", "!="):
        outside = not compare(lo, "<=", threshold) or (hi != INF and not compare(hi, ">=", threshold))
        if outside:
            return F if op == "=" else T
        if hi != INF and compare(lo, "=", hi):
            return T if compare(lo, op, threshold) else F
        return U
    at_lo = compare(lo, op, threshold)
    if hi == INF:
        if op in (">", ">="):
            return T if at_lo else U
        return U if at_lo else F
    return (T if at_lo else F) if at_lo == compare(hi, op, threshold) else U


# ---- the criteria ----------------------------------------------------------------------------------------

def eval_dose(ctx: Context, selectors: tuple[str, ...], pred: A.DosePred, threshold_mg: float,
              window_days: tuple | None) -> tuple:
    """``daily dose of X [as prednisone] op V [within W]`` (the highest total daily dose), or with
    ``pred.total`` ``total dose of X [as prednisone] within W op V`` (the sum over the window's days)."""
    what = " or ".join(selectors)
    kind = "total dose" if pred.total else "daily dose"
    fact = f"{kind} of {what}" + (f" as {pred.equivalent}" if pred.equivalent else "")
    if pred.window is not None:
        anchor = ctx.anchor(pred.window.anchor)
        start = window_start(ctx, window_days[0][0], window_days[0][1], pred.window.anchor)  # type: ignore[index]
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


def eval_stable_dose(ctx: Context, selectors: tuple[str, ...], pred: A.StableDosePred) -> tuple:
    """Each selected drug taken over [anchor - duration, anchor] is taken at one daily dose throughout.

    Doses are compared per drug: hydroxychloroquine 400 mg/day with mycophenolate 2000 mg/day is two
    stable doses, not a change; and every drug taken in the window must cover all of it.  A record's
    ``dose_since`` inside the window is a change of dose; on or before the window's first day, the
    record alone shows the dose stable.
    """
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


# ---- courses ---------------------------------------------------------------------------------------------

def course_start(ctx: Context, i: int) -> tuple[_dt.date, _dt.date] | None:
    """The earliest and the latest day the course of therapy record ``i`` may have begun: records of the same
    drug that follow each other without a day's gap (a dose change, a renewed prescription) are one course.
    None when the record has no start and no record of the drug continues into it."""
    rec, drug_id = ctx.index.therapies[i]
    if rec.start is None:
        return None
    lo, hi = rec.start.earliest, rec.start.latest
    if drug_id is None:  # a record naming only a class: which earlier record continues into it is unknown
        return (lo, hi)
    same = [(r.start, _last_dose_range(ctx, r, ctx.as_of)) for r, d in ctx.index.therapies
            if d == drug_id and r.start is not None and not _after(r.start, ctx.as_of)]
    # walk back through the records that end (surely, or maybe) the day before this course's start or later
    sure_from, maybe_from = hi, lo
    changed = True
    while changed:
        changed = False
        for began, last in same:
            if last is None:
                continue
            if began.latest < sure_from and last[0].toordinal() + 1 >= sure_from.toordinal():
                sure_from, changed = began.latest, True
            if began.earliest < maybe_from and last[1].toordinal() + 1 >= maybe_from.toordinal():
                maybe_from, changed = began.earliest, True
    return (maybe_from, sure_from)
