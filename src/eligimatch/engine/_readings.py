"""Readings: a patient's value for a comparison, in the threshold's unit, and the answers comparisons give.

The latest result of an analyte (:func:`select_observations`: results of one date that may each be the
latest are all kept, and the criterion is decided only when they agree, :func:`same_day`), converted with
factors remembered per recorded unit (:class:`UnitFactors`); ages (from full or partial birth dates);
ratios and formulas computed from several readings.  :func:`eval_threshold`, :func:`eval_between` and
:func:`eval_in_set` compare a reading with a threshold and write the evidence.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

from eligimatch.engine._evaluate import (_FLAGS, NOFLAG, Context, F, R, T, U, _int_or, ev, fmt_num, missing,
                                         op_symbol, src_label, unknown, window_start)
from eligimatch.knowledge._ages import age_bounds, interval_truth
from eligimatch.knowledge._dates import PartialDate
from eligimatch.knowledge._plausibility import age_problem, observation_problem
from eligimatch.knowledge._tolerance import ABS_TOL, REL_TOL, compare
from eligimatch.logic import CauseFlag
from eligimatch.sources._patient import Observation

__all__ = ["Reading", "ReadFn", "eval_threshold", "eval_between", "eval_in_set", "read_age", "read_observation",
           "read_ratio", "read_computed", "select_observations", "select_observation", "same_day", "UnitFactors"]


# A Reading is what a comparison needs from a measure: a number in the threshold's unit.
@dataclass(slots=True)
class Reading:
    """A value in the threshold's unit; ``high`` when it is known only to lie in ``[value, high]`` (an age
    from a partial birth date), with ``partial`` naming the fact that would make it exact."""

    value: float
    evidence: dict  # fields for the Evidence of the comparison
    # Results of one date that may each be the latest (see select_observations): the readings of the others,
    # and all of those results, for the words of a conflict.  Empty in the common case of one latest result.
    others: tuple = ()
    tied: tuple = ()
    high: float | None = None
    partial: tuple[str, str] = ("", "")  # (fact, what would settle it) for an interval


def _interval_answer(r: Reading, fact: str, label: str, decided: bool | None, wanted: str) -> R | None:
    """For an interval reading: None when ``decided`` (the caller writes the evidence), else the UNKNOWN."""
    if decided is not None:
        return None
    e = ev(fact, "indeterminate", f"{label} between {fmt_num(r.value)} and {fmt_num(r.high)} "
                                  f"{_shown_unit(r.evidence.get('converted_unit'))}".rstrip()
           + f": may or may not be {wanted}" + r.evidence.get("note_suffix", ""),
           **{k: v for k, v in r.evidence.items() if k != "note_suffix"})
    return unknown(CauseFlag.INDETERMINATE, (missing(r.partial[0] or fact, f"{label}: {r.partial[1]}",
                                                     "indeterminate"),), (e,))


ReadFn = Callable[[Context], "Reading | R"]


def fmt_against(x: float, *limits: float) -> str:
    """``x`` as :func:`fmt_num` shows it, with more digits where that would show it equal to a limit it
    differs from: "39.96 does not meet ≥ 40", never "40 does not meet ≥ 40" (issue 18 D17)."""
    text = fmt_num(x)
    close = [b for b in limits if not math.isclose(x, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)]
    if not close or all(text != fmt_num(b) for b in close):
        return text
    for digits in range(7, 18):
        text = f"{x:.{digits}g}"
        if all(text != f"{b:.{digits}g}" for b in close):
            return text
    return repr(float(x))


def _reading_text(r: Reading, *limits: float) -> str:
    """The value of a reading as a note shows it: "57", or "57 to 58" for an interval; with enough digits
    to tell it from the ``limits`` it is compared with."""
    if r.high is None or r.high == r.value:
        return fmt_against(r.value, *limits)
    return f"{fmt_against(r.value, *limits)} to {fmt_against(r.high, *limits)}"


def _shown_unit(unit: str | None) -> str:
    """A unit as the report shows it after a value: none for a plain number ("SLEDAI-2K 12", not "12 1"),
    plural for time ("6 months")."""
    if unit in (None, "", "1"):
        return ""
    return unit + "s" if unit in ("day", "week", "month", "year", "hour") else unit


def eval_threshold(ctx: Context, read: ReadFn, fact: str, label: str, op: str, threshold: float,
                   threshold_text: str) -> R:
    r = read(ctx)
    if not isinstance(r, Reading):
        return r
    if r.others:
        return same_day(fact, label, r.tied, [_threshold_answer(x, fact, label, op, threshold, threshold_text)
                                              for x in (r, *r.others)])
    return _threshold_answer(r, fact, label, op, threshold, threshold_text)


def _threshold_answer(r: Reading, fact: str, label: str, op: str, threshold: float, threshold_text: str) -> R:
    if r.high is not None:
        decided = interval_truth(r.value, r.high, op, threshold)
        undecided = _interval_answer(r, fact, label, decided, f"{op_symbol(op)} {threshold_text}")
        if undecided is not None:
            return undecided
        ok = bool(decided)
    else:
        ok = compare(r.value, op, threshold)
    note = f"{label} {_reading_text(r, threshold)} {_shown_unit(r.evidence.get('converted_unit'))}".rstrip() \
        + f" {'meets' if ok else 'does not meet'} {op_symbol(op)} {threshold_text}"
    extra = r.evidence.pop("note_suffix", "")
    e = ev(fact, "threshold_met" if ok else "threshold_not_met", note + extra,
           threshold=f"{op_symbol(op)} {threshold_text}", **r.evidence)
    return (T if ok else F, NOFLAG, (), (e,))


def eval_between(ctx: Context, read: ReadFn, fact: str, label: str, low: float, high: float, inclusive: bool,
                 text: str) -> R:
    r = read(ctx)
    if not isinstance(r, Reading):
        return r
    if r.others:
        return same_day(fact, label, r.tied, [_between_answer(x, fact, label, low, high, inclusive, text)
                                              for x in (r, *r.others)])
    return _between_answer(r, fact, label, low, high, inclusive, text)


def _between_answer(r: Reading, fact: str, label: str, low: float, high: float, inclusive: bool, text: str) -> R:
    if r.high is not None:
        lo_t = interval_truth(r.value, r.high, ">=" if inclusive else ">", low)
        hi_t = interval_truth(r.value, r.high, "<=" if inclusive else "<", high)
        decided = False if (lo_t is False or hi_t is False) else None if (lo_t is None or hi_t is None) else True
        undecided = _interval_answer(r, fact, label, decided, f"between {text}")
        if undecided is not None:
            return undecided
        ok = bool(decided)
    elif inclusive:
        ok = compare(r.value, ">=", low) and compare(r.value, "<=", high)
    else:
        ok = compare(r.value, ">", low) and compare(r.value, "<", high)
    extra = r.evidence.pop("note_suffix", "")
    e = ev(fact, "in_range" if ok else "out_of_range",
           f"{label} {_reading_text(r, low, high)} {_shown_unit(r.evidence.get('converted_unit'))}".rstrip()
           + f" {'is' if ok else 'is not'} between {text}" + extra, threshold=f"between {text}", **r.evidence)
    return (T if ok else F, NOFLAG, (), (e,))


def eval_in_set(ctx: Context, read_symbol: Callable[[Context], "tuple[str, dict] | R"], fact: str, label: str,
                values: tuple[str, ...], negated: bool) -> R:
    r = read_symbol(ctx)
    if not isinstance(r, tuple) or len(r) != 2:
        return r
    value, fields = r
    inside = value in values
    ok = inside != negated
    shown = ", ".join(values)
    recorded = fields.pop("note_suffix", "")
    e = ev(fact, "in_set" if inside else "not_in_set",
           f"{label} is {value}{recorded}; {'one of' if inside else 'not one of'} ({shown})",
           value=value, threshold=f"{'not ' if negated else ''}in ({shown})", **fields)
    return (T if ok else F, NOFLAG, (), (e,))


def read_age(unit: str, exact: bool = False) -> ReadFn:
    """Age on the evaluation date in completed units (years, months, weeks or days), or the exact age
    (``exact``: for a fractional threshold such as 17.5 years); see :mod:`eligimatch.knowledge._ages`.

    A birth date known only to the year or month gives the interval of possible ages (``Reading.high``):
    a comparison is then decided only when every age in it agrees."""
    shown_unit = f"{unit}s" + ("" if exact else " (completed)")

    def read(ctx: Context) -> Reading | R:
        born = ctx.patient.birth_date
        if born is None:
            return unknown(CauseFlag.MISSING, (missing("birth_date", "date of birth (for age)"),))
        earliest = born.earliest if isinstance(born, PartialDate) else born
        if earliest > ctx.as_of:
            return unknown(CauseFlag.INVALID, (missing("birth_date", f"date of birth {born} is after the "
                                                                     f"evaluation date {ctx.as_of}", "invalid"),))
        problem = age_problem(earliest, ctx.as_of)  # a birth date in 1776: not an age of 250
        if problem:
            return unknown(CauseFlag.INVALID, (missing("birth_date", problem, "invalid"),))
        low, high = age_bounds(born, ctx.as_of, unit, exact)
        if isinstance(born, PartialDate):
            return Reading(low, {"value": low, "unit": unit + "s", "converted_unit": shown_unit, "converted": low,
                                 "note_suffix": f" (from a partial birth date {born}: the age is between "
                                                f"{fmt_num(low)} and {fmt_num(high)} {unit}s on {ctx.as_of})"},
                           high=high, partial=("birth_date", f"the full date of birth (only {born} is recorded)"))
        v: float | int = int(low) if not exact else low
        return Reading(low, {"value": v, "unit": unit + "s", "converted_unit": shown_unit, "converted": low,
                             "note_suffix": f" (born {born}, on {ctx.as_of})"})
    return read


def select_observations(ctx: Context, analyte_id: str, label: str, recency: Any) -> tuple[Observation, ...] | R:
    """The latest results on or before the evaluation date, within the recency window if any.

    Usually one; several when results share the latest date and their times of day (``time``) cannot
    order them: none of those is later than the others, so the criterion is decided only when they all
    give the same answer (see :func:`same_day`).  Results identical in value, unit and reference range
    count once.
    """
    results = ctx.index.observations.get(analyte_id)
    if not results:
        return unknown(CauseFlag.MISSING, (missing(analyte_id, f"{label}: no result recorded"),))
    chosen = None
    day = _dt.date.min
    k = 0
    for k, o in enumerate(results):  # newest first, undated last
        if o.date is None:
            # an undated result cannot be shown to be current: never used
            return unknown(CauseFlag.STALE, (missing(analyte_id, f"{label}: a dated result (the recorded one "
                                                                 f"has no date)", "stale"),))
        if o.date <= ctx.as_of:
            chosen, day = o, o.date
            break
    if chosen is None:
        return unknown(CauseFlag.MISSING, (missing(analyte_id, f"{label}: no result on or before {ctx.as_of} "
                                                               f"(all recorded results are later)"),))
    window = recency if recency is not None else ctx.default_recency
    if window is not None:
        start = ctx.starts.get(id(window))  # the window lives as long as the trial, longer than ctx
        if start is None:
            d = window.durations[0]
            start = ctx.starts[id(window)] = window_start(ctx, d.amount, d.unit, window.anchor)
        if day < start:
            e = ev(analyte_id, "stale", f"latest {label} result is from {chosen.date}, before {start} "
                                        f"({_window_text(window)})", value=chosen.value, unit=chosen.unit,
                   date=chosen.date, source=src_label(chosen))
            return unknown(CauseFlag.STALE, (missing(analyte_id, f"{label}: a result on or after {start}", "stale"),),
                           (e,))
    if k + 1 == len(results) or results[k + 1].date != chosen.date:
        return (chosen,)  # the common case: one result on the latest date
    same = [chosen]
    for o in results[k + 1:]:  # sorted by date: the results of the same date follow
        if o.date != chosen.date:
            break
        same.append(o)
    return _latest_of_day(same)


def _latest_of_day(same: list[Observation]) -> tuple[Observation, ...]:
    """Of results sharing one date, those that may be the latest: the latest by time of day, and every
    result without a time (it may have been taken at any hour).  Times with and without a UTC offset
    cannot be ordered against each other: then every result of the day may be the latest."""
    timed = [o for o in same if o.time is not None]
    if timed:
        aware = {o.time.utcoffset() is not None for o in timed}  # type: ignore[union-attr]
        if len(aware) == 1:
            if aware == {True}:
                key: Callable[[Observation], Any] = lambda o: _dt.datetime.combine(o.date, o.time)  # type: ignore[arg-type]  # noqa: E731
            else:
                key = lambda o: o.time  # noqa: E731
            latest = max(key(o) for o in timed)
            same = [o for o in timed if key(o) == latest] + [o for o in same if o.time is None]
    out: list[Observation] = []
    seen: set[tuple] = set()
    for o in same:
        ident = (o.value, o.unit, o.reference_range)
        if ident not in seen:
            seen.add(ident)
            out.append(o)
    return tuple(out)


def select_observation(ctx: Context, analyte_id: str, label: str, recency: Any) -> Observation | R:
    """The latest result, as :func:`select_observations` finds it; when several results of the latest
    date differ and none can be shown to be the later, UNKNOWN (conflicting)."""
    found = select_observations(ctx, analyte_id, label, recency)
    if not isinstance(found[0], Observation):
        return found  # an UNKNOWN
    if len(found) == 1:
        return found[0]
    return _conflict(analyte_id, label, found, ())


def _conflict(fact: str, label: str, results: tuple[Observation, ...], evidence: tuple) -> R:
    """UNKNOWN (conflicting): results that may each be the latest disagree about the criterion."""
    shown = "; ".join(f"{fmt_num(o.value)} {o.unit or ''}".strip()
                      + (f" at {o.time.isoformat(timespec='minutes')}" if o.time is not None else "") for o in results)
    day = results[0].date
    e = ev(fact, "conflicting_results", f"{len(results)} {label} results of {day} may each be the latest "
                                        f"and disagree: {shown}", date=day)
    return unknown(CauseFlag.CONFLICTING, (missing(fact, f"{label}: which result of {day} stands ({shown}): they "
                                                         f"disagree, and no time of day makes one the later",
                                                   "conflicting"),), evidence + (e,))


def same_day(fact: str, label: str, results: tuple[Observation, ...], answers: list[R]) -> R:
    """One answer from the answers the criterion gives for each result that may be the latest: the
    common answer when they agree (an UNKNOWN if one is UNKNOWN), else UNKNOWN (conflicting)."""
    evidence = tuple(e for a in answers for e in a[3])
    truths = {a[0] for a in answers}
    if T in truths and F in truths:
        return _conflict(fact, label, results, evidence)
    if U in truths:
        flag = NOFLAG
        miss: list = []
        for a in answers:
            if a[0] == U:
                flag |= a[1]
                miss.extend(a[2])
        return unknown(flag, tuple(miss), evidence)
    day = results[0].date
    e = ev(fact, "same_day_results_agree", f"{len(results)} {label} results of {day} may each be the latest; "
                                           f"they agree", date=day)
    return (answers[0][0], NOFLAG, (), evidence + (e,))


def _window_text(w: Any) -> str:
    parts = [f"{fmt_num(float(d.amount))} {d.unit}{'s' if d.amount != 1 else ''}" for d in w.durations]
    span = parts[0] if len(parts) == 1 else f"max({', '.join(parts)})"
    return f"within {span} before {w.anchor}"


class UnitFactors:
    """Conversion factors for one analyte, by (recorded unit, wanted unit), remembered: a unit string is
    read and checked once, not at every comparison.  A unit that cannot apply maps to the error's text.
    Bounded (``LIMIT`` entries, then it starts afresh) against endless distinct unit strings."""

    LIMIT = 512
    __slots__ = ("analyte", "table", "limits")

    def __init__(self, analyte: Any):
        self.analyte = analyte
        self.table: dict[tuple[str | None, str | None], float | str] = {}
        self.limits: dict[tuple, tuple] = {}  # x ULN / x LLN limits and their texts (eval_reference_multiple)

    def __call__(self, src: str | None, dst: str | None) -> float | str:
        key = (src, dst)
        hit = self.table.get(key)
        if hit is None:
            a = self.analyte
            try:
                hit = a.recorded_factor(src, dst if dst is not None else a.unit)
            except Exception as exc:  # UnitError: a unit that cannot apply to this analyte
                hit = str(exc)
            if len(self.table) >= self.LIMIT:
                self.table.clear()
            self.table[key] = hit
        return hit


def read_observation(analyte: Any, label: str, target_unit: str, recency: Any) -> ReadFn:
    """A lab result converted to the threshold's unit; conversion factors cached per recorded unit."""
    factors = UnitFactors(analyte)

    def read(ctx: Context) -> Reading | R:
        found = select_observations(ctx, analyte.id, label, recency)
        if not isinstance(found[0], Observation):
            return found  # an UNKNOWN
        if len(found) == 1:
            return one(found[0])
        readings = []
        for o in found:
            r = one(o)
            if not isinstance(r, Reading):
                return r
            readings.append(r)
        first = readings[0]
        first.others, first.tied = tuple(readings[1:]), found
        return first

    def one(o: Observation) -> Reading | R:
        f = factors(o.unit, target_unit)
        if isinstance(f, str):
            return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {f}", "invalid"),))
        problem = observation_problem(analyte, o.value, o.unit)
        if problem:
            return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {problem}",
                                                       "invalid"),))
        value = o.value * f
        return Reading(value, {"value": o.value, "unit": o.unit, "converted": value, "converted_unit": target_unit,
                               "date": o.date, "source": src_label(o)})
    return read


def read_ratio(num: Any, den: Any, recency: Any) -> ReadFn:
    readers = tuple(read_observation(a, a.name, a.unit, recency) for a in (num, den))

    def read(ctx: Context) -> Reading | R:
        parts = []
        miss: list = []
        flag = NOFLAG
        for reader in readers:
            r = reader(ctx)
            if isinstance(r, Reading):
                parts.append(r)
            else:
                flag |= r[1]
                miss.extend(r[2])
        if miss or flag:
            return unknown(flag or CauseFlag.MISSING, tuple(miss))
        return _combined(parts, ratio, f"{num.id}/{den.id}", f"{num.name} / {den.name}")

    def ratio(parts: list[Reading]) -> Reading | R:
        n, d = parts
        if d.value == 0:
            return unknown(CauseFlag.INVALID, (missing(den.id, f"{den.name} is zero; the ratio is undefined",
                                                       "invalid"),))
        v = n.value / d.value
        return Reading(v, {"value": v, "converted": v, "converted_unit": None, "date": n.evidence.get("date"),
                           "note_suffix": f" ({num.name} {fmt_num(n.value)} / {den.name} {fmt_num(d.value)} "
                                          f"{num.unit})"})
    return read


_MAX_COMBINATIONS = 256


def _combined(parts: list[Reading], make: Callable[[list[Reading]], "Reading | R"], fact: str,
              label: str) -> Reading | R:
    """``make(parts)``: a value computed from several readings.  When an input has several results of one
    date that may each be the latest, every combination is computed (the first reading carries the others,
    see :func:`same_day`); past ``_MAX_COMBINATIONS`` of them, UNKNOWN (conflicting)."""
    if not any(p.others for p in parts):
        return make(parts)
    choices = [(p, *p.others) for p in parts]
    tied = tuple(o for p in parts for o in p.tied)
    if math.prod(len(c) for c in choices) > _MAX_COMBINATIONS:
        return _conflict(fact, label, tied, ())
    out = []
    for combo in itertools.product(*choices):
        r = make(list(combo))
        if not isinstance(r, Reading):
            return r
        out.append(r)
    first = out[0]
    first.others, first.tied = tuple(out[1:]), tied
    return first


def read_computed(method: str, analyte: Any, target_unit: str, recency: Any, formulas: Any,
                  inputs: dict[str, Any]) -> ReadFn:
    """Creatinine clearance (Cockcroft-Gault) or eGFR (CKD-EPI 2021) from the patient's own values;
    ``inputs`` the analytes the formula reads, by id (creatinine; weight for Cockcroft-Gault)."""
    creat = inputs["creatinine"]
    read_creat = read_observation(creat, creat.name, "mg/dL", recency)
    read_years = read_age("year")
    out_factor = analyte.factor_from(analyte.unit, target_unit)

    needed: tuple[tuple[str, ReadFn], ...] = (("age", read_years), ("creatinine", read_creat))
    if method == "cockcroft_gault":
        weight = inputs["weight"]
        needed += (("weight", read_observation(weight, weight.name, "kg", recency)),)

    def read(ctx: Context) -> Reading | R:
        inputs: dict[str, Reading] = {}
        miss: list = []
        flag = 0
        for name, reader in needed:
            r = reader(ctx)
            if isinstance(r, Reading):
                inputs[name] = r
            else:
                flag = _int_or(flag, r[1])  # as CauseFlag's |, without its Python-level method
                miss.extend(r[2])
        if ctx.patient.sex is None:
            flag = _int_or(flag, CauseFlag.MISSING)
            miss.append(missing("sex", "sex (an input of the formula)"))
        if miss or flag:
            return unknown(_FLAGS[flag], tuple(miss))
        names = tuple(inputs)
        sex = ctx.patient.sex
        return _combined([inputs[n] for n in names], lambda parts: compute(dict(zip(names, parts)), sex),
                         analyte.id, analyte.name)

    def compute(inputs: dict[str, Reading], sex: Any) -> Reading | R:
        age_r, scr = inputs["age"], inputs["creatinine"].value
        # both formulas fall as age rises: for an age known only as an interval (a partial birth date),
        # the values at its two ends bound every value it can have
        ages = (age_r.value,) if age_r.high is None else (age_r.value, age_r.high)
        values = []
        detail = ""
        for age in ages:
            if method == "cockcroft_gault":
                w = inputs["weight"].value
                value = formulas.cockcroft_gault(age, w, scr, sex)
                detail = (f"Cockcroft-Gault: age {_reading_text(age_r)} y, weight {fmt_num(w)} kg, creatinine "
                          f"{fmt_num(scr)} mg/dL, {sex}")
            else:
                value = formulas.ckd_epi_2021(age, scr, sex)
                detail = f"CKD-EPI 2021: age {_reading_text(age_r)} y, creatinine {fmt_num(scr)} mg/dL, {sex}"
            if value is None:
                return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{detail}: the inputs cannot be used",
                                                           "invalid"),))
            values.append(value * out_factor)
        value, high = min(values), max(values)
        return Reading(value, {"value": round(value, 3), "unit": target_unit, "converted": value,
                               "converted_unit": target_unit, "date": inputs["creatinine"].evidence.get("date"),
                               "note_suffix": f" (computed by {detail})"},
                       high=high if age_r.high is not None else None, partial=age_r.partial)
    return read
