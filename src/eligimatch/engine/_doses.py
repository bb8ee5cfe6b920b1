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

from eligimatch.plan import _nodes as P
from eligimatch.engine._evaluate import (Context, F, T, U, _absence, compare, ev, fmt_num, src_label)
from eligimatch.engine._history import (_after, _attrs_note, _last_dose_range, _matching_therapies,
                      _therapy_attrs, _therapy_where)
from eligimatch.logic import Truth, t_and

__all__ = ["daily_mg", "course_start"]

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


def _totals(ctx: Context, selectors: tuple[str, ...], pred: P.Dose, fact: str, what: str,
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
        days = f"taken {certain[0]} to {certain[1]}" if certain[0] != certain[1] else f"taken {certain[0]}"
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
