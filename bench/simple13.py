"""The 13-criterion workload of issue 12, hand-written: ``bench/simple13.elig`` as one plain function.

What an engineer would write for these 13 criteria without a rule engine, and
the floor the engine is measured against (``bench/run_simple13.py``):

* Kleene three-valued logic on small ints (FALSE=0 < UNKNOWN=1 < TRUE=2; AND
  is ``min``, OR is ``max``, ``if c then a else b`` with c UNKNOWN is a when
  a == b, else UNKNOWN);
* unit factors resolved ahead of time (``baseline.TO_THRESHOLD_UNIT``), names
  and codes through the hand-made tables of ``bench/baseline.py`` (checked
  against the catalogs by ``tests/test_bench.py``);
* numbers compared with eligimatch's documented tolerance (relative 1e-9,
  ``evaluate.REL_TOL``): a bilirubin of 1.8 mg/dL against 1.5 x ULN = 1.5 x 1.2
  (1.7999999999999998 in binary) meets ``<=``;
* the same data rules as eligimatch and ``bench/baseline.py`` (latest result
  on or before the evaluation date, stale before 28 days before screening,
  one date's disagreeing results UNKNOWN, partial dates at both ends,
  histories absent only when marked complete);
* no reasons, no prose, no missing facts: the verdict and the criteria that
  decide it (the failing ones for NO_MATCH, the open ones for UNKNOWN).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from baseline import (ANALYTES, AUTOIMMUNE, CARDIO, CHEMO, CONDITIONS, DRUG_CLASSES, DRUGS, LIVER_METS,  # noqa: F401
                      LOCAL_ROUTES, MAB, MAJOR_SURGERY, PROCEDURES, SAME_UNIT, STEROID, TARGETED, TO_THRESHOLD_UNIT)

FALSE, UNKNOWN, TRUE = 0, 1, 2
DAY = dt.timedelta(days=1)
REL_TOL, ABS_TOL = 1e-9, 1e-12
INCLUSION = ("I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8")
EXCLUSION = ("E1", "E2", "E3", "E4", "E5")
_ENDED = frozenset({"resolved", "inactive", "remission"})
_D14, _D21, _D7 = dt.timedelta(days=14), dt.timedelta(days=21), dt.timedelta(days=7)
_LAB_WINDOW = dt.timedelta(days=28)
_isclose = math.isclose


def _ge(a: float, b: float) -> bool:
    return a > b or _isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _le(a: float, b: float) -> bool:
    return a < b or _isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _date_le(lo: dt.date, hi: dt.date, b: dt.date) -> int:
    return TRUE if hi <= b else FALSE if lo > b else UNKNOWN


def _date_ge(lo: dt.date, hi: dt.date, b: dt.date) -> int:
    return TRUE if lo >= b else FALSE if hi < b else UNKNOWN


def _same_day(truths: list[int]) -> int:
    """Results of one date that may each be the latest: their common truth, else UNKNOWN."""
    first = truths[0]
    for t in truths:
        if t != first:
            return UNKNOWN
    return first


def _latest(labs: dict, aid: str, as_of: dt.date, lab_start: dt.date) -> list | None:
    """The result(s) to use (several: one date's distinct results), or None (missing, stale, undated)."""
    results = labs.get(aid)
    if not results:
        return None
    for o in results:
        if o.date is None:
            return None
        if o.date <= as_of:
            break
    else:
        return None
    if o.date < lab_start:
        return None
    if len(results) == 1:
        return results
    same = [r for r in results if r.date == o.date]
    if len(same) == 1:
        return same
    timed = [r for r in same if r.time is not None]
    if timed and len({r.time.utcoffset() is not None for r in timed}) == 1:
        key = (lambda r: dt.datetime.combine(r.date, r.time)) if timed[0].time.utcoffset() is not None \
            else (lambda r: r.time)
        top = max(key(r) for r in timed)
        same = [r for r in timed if key(r) == top] + [r for r in same if r.time is None]
    return list({(r.value, r.unit, r.reference_range): r for r in reversed(same)}.values())[::-1]


def _at_least(found: list | None, aid: str, threshold: float) -> int:
    if found is None:
        return UNKNOWN
    table = TO_THRESHOLD_UNIT[aid]
    out = []
    for o in found:
        f = table.get(o.unit)
        out.append(UNKNOWN if f is None else TRUE if _ge(o.value * f, threshold) else FALSE)
    return out[0] if len(out) == 1 else _same_day(out)


def _uln(found: list | None, times: float) -> int:
    if found is None:
        return UNKNOWN
    out = []
    for o in found:
        rr = o.reference_range
        high = rr.high if rr is not None else None
        if high is None:
            out.append(UNKNOWN)
        elif rr.unit is not None and rr.unit != o.unit and \
                SAME_UNIT.get(rr.unit, rr.unit) != SAME_UNIT.get(o.unit, o.unit):
            out.append(UNKNOWN)
        else:
            out.append(TRUE if _le(o.value, times * high) else FALSE)
    return out[0] if len(out) == 1 else _same_day(out)


def _crcl(p: Any, age: int | None, labs: dict, as_of: dt.date, lab_start: dt.date) -> int:
    if age is None or p.sex is None:
        return UNKNOWN
    scr, kg = _latest(labs, "creatinine", as_of, lab_start), _latest(labs, "weight", as_of, lab_start)
    if scr is None or kg is None:
        return UNKNOWN
    fs, fw = TO_THRESHOLD_UNIT["creatinine"], TO_THRESHOLD_UNIT["weight"]
    out = []
    female = p.sex == "female"
    for s in scr:
        f = fs.get(s.unit)
        if f is None:
            return UNKNOWN
        for w in kg:
            g = fw.get(w.unit)
            if g is None:
                return UNKNOWN
            c, k = s.value * f, w.value * g
            if not (18 <= age <= 120 and k > 0 and c > 0):
                out.append(UNKNOWN)
                continue
            crcl = (140.0 - age) * k / (72.0 * c) * (0.85 if female else 1.0)
            out.append(TRUE if crcl > 50 and not _isclose(crcl, 50.0, rel_tol=REL_TOL, abs_tol=ABS_TOL) else FALSE)
    return out[0] if len(out) == 1 else _same_day(out)


def _exists(truths: list[int], complete: bool, unmapped: int = 0, later: int = 0) -> int:
    """Some record TRUE: TRUE; some UNKNOWN: UNKNOWN; none: FALSE when the history is complete."""
    if TRUE in truths:
        return TRUE
    if UNKNOWN in truths or later or not complete or unmapped:
        return UNKNOWN
    return FALSE


def _liver_mets(conditions: list, unmapped: int, complete: bool, as_of: dt.date) -> int:
    truths = []
    later = 0
    for c, cats in conditions:
        if not cats & LIVER_METS:
            continue
        if c.onset is not None and c.onset.earliest > as_of:
            later += 1
        elif c.status in _ENDED:
            truths.append(FALSE)
        elif c.end is None:
            truths.append(TRUE if c.status is not None else UNKNOWN)
        else:
            truths.append(_date_ge(c.end.earliest, c.end.latest, as_of + DAY))
    return _exists(truths, complete, unmapped, later)


def _major_surgery(procedures: list, unmapped: int, complete: bool, as_of: dt.date, anchor: dt.date) -> int:
    start = anchor - _D14
    truths = []
    later = 0
    for r, cats in procedures:
        if not cats & MAJOR_SURGERY:
            continue
        d = r.date
        if d is None:
            truths.append(UNKNOWN)
        elif d.earliest > as_of:
            later += 1
        else:
            truths.append(min(_date_ge(d.earliest, d.latest, start), _date_le(d.earliest, d.latest, anchor)))
    return _exists(truths, complete, unmapped, later)


def _last_dose(t: Any, as_of: dt.date, anchor: dt.date) -> tuple | None:
    if t.ongoing:
        return as_of, max(as_of, anchor)
    e = t.end
    if e is not None:
        return e.earliest, (min(e.latest, as_of) if e.earliest <= as_of else e.latest)
    if t.start is not None:
        return t.start.earliest, max(max(as_of, anchor), t.start.earliest)
    return None


def _washout(therapies: list, cls: int, days: dt.timedelta, half_lives: float, complete: bool, as_of: dt.date,
             anchor: dt.date) -> int:
    truths = []
    later = 0
    for t, info, classes in therapies:
        if not classes & cls:
            continue
        if t.start is not None and t.start.earliest > as_of:
            later += 1
            continue
        last = _last_dose(t, as_of, anchor)
        if last is None:
            truth = UNKNOWN
        else:
            began = _date_le(t.start.earliest, t.start.latest, anchor) if t.start is not None else TRUE
            end_lo, end_hi = last[0] + days, last[1] + days
            half_life = info[2] if info is not None else None
            if half_lives and half_life is None:
                truth = began if end_lo >= anchor else UNKNOWN
            else:
                if half_lives:
                    extra = dt.timedelta(days=math.ceil(half_lives * half_life))
                    end_lo, end_hi = max(end_lo, last[0] + extra), max(end_hi, last[1] + extra)
                truth = min(began, _date_ge(end_lo, end_hi, anchor))
        if classes == -1:  # a drug of unknown class: may be of this one
            truth = min(truth, UNKNOWN)
        truths.append(truth)
    return _exists(truths, complete, later=later)


def _steroid_dose(therapies: list, complete: bool, as_of: dt.date, anchor: dt.date) -> int:
    """Highest total daily prednisone-equivalent dose over the 8 days of the window, between a lower
    bound (records surely taken, dose known) and an upper bound (every record maybe taken)."""
    start = anchor - _D7
    lo = [0.0] * 8
    hi = [0.0 if complete else math.inf] * 8
    later = 0
    used = []
    parts = 0
    for t, info, classes in therapies:
        if not classes & STEROID:
            continue
        if t.start is not None and t.start.earliest > as_of:
            later += 1
            continue
        route = t.route.strip().lower().replace("-", "_").replace(" ", "_") if t.route is not None else None
        if route in LOCAL_ROUTES:
            continue
        last = _last_dose(t, as_of, anchor)
        if last is None:
            sure, maybe = None, (dt.date.min, max(as_of, anchor))
        else:
            first = t.start.latest if t.start is not None else as_of if t.ongoing else \
                (last[0] if last[0] == last[1] else None)
            sure = (first, last[0]) if first is not None and first <= last[0] else None
            maybe = (t.start.earliest if t.start is not None else dt.date.min, last[1])
        if route is None or classes == -1:
            sure = None
        if maybe[1] < start or maybe[0] > anchor:
            continue
        parts += 1
        d = t.dose
        mg = None
        if d is not None:
            unit = d.unit.replace(" ", "").lower()
            if unit in ("mg/day", "mg/d", "mg/24h"):
                mg = d.value
            elif unit == "mg" and d.per_day is not None:
                mg = d.value * d.per_day
        if mg is not None:
            eq = info[3] if info is not None else None
            mg = mg * 5.0 / eq if eq is not None else None
        for k in range(8):
            day = start + k * DAY
            if maybe[0] <= day <= maybe[1]:
                hi[k] += mg if mg is not None else math.inf
            if sure is not None and mg is not None and sure[0] <= day <= sure[1]:
                lo[k] += mg
        if sure is not None and t.drug is not None:
            used.append((info[0] if info is not None else t.drug, sure, mg))
    for drug, sure, mg in used:  # one drug's record starting the day another ends: a change of dose
        for drug2, sure2, mg2 in used:
            if drug2 == drug and sure2[0] == sure[1] and sure[0] < sure[1] and start <= sure[1] <= anchor:
                k = (sure[1] - start).days
                a, b = mg if mg is not None else 0.0, mg2 if mg2 is not None else 0.0
                lo[k] -= max(a, b)
                if mg is not None and mg2 is not None:
                    hi[k] -= min(a, b)
    if not parts and not later:
        return FALSE if complete else UNKNOWN
    if later:
        hi = [math.inf] * 8
    low, high = _ge(max(lo), 70.0), _ge(max(hi), 70.0)
    return (TRUE if low else FALSE) if low == high else UNKNOWN


def evaluate(p: Any, as_of: dt.date) -> tuple[str, tuple[str, ...]]:
    """The verdict of ``bench/simple13.elig`` for patient ``p`` on ``as_of``, and the deciding criteria."""
    anchors = p.anchors
    screening = anchors.get("screening", as_of)
    apheresis = anchors.get("apheresis", as_of)
    lab_start = screening - _LAB_WINDOW
    labs: dict[str, list] = {}
    for o in p.observations:
        aid = ANALYTES.get(o.analyte.lower())
        if aid is not None:
            labs.setdefault(aid, []).append(o)
    for lst in labs.values():
        if len(lst) > 1:
            lst.sort(key=lambda o: (o.date is not None, o.date or dt.date.min), reverse=True)
    complete = p.complete
    b = p.birth_date
    age = None if b is None or b > as_of else as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))

    i1 = UNKNOWN if age is None else TRUE if 18 <= age <= 75 else FALSE
    v = p.facts.get("ecog")
    if v is not None and hasattr(v, "value"):
        v = v.value
    i2 = UNKNOWN if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) else \
        TRUE if _le(v, 1.0) else FALSE
    i3 = _at_least(_latest(labs, "anc", as_of, lab_start), "anc", 1.5)
    i4 = _at_least(_latest(labs, "platelets", as_of, lab_start), "platelets", 75.0)
    i5 = _uln(_latest(labs, "total_bilirubin", as_of, lab_start), 1.5)

    conditions = []
    unmapped = 0
    for c in p.conditions:
        hit = (CONDITIONS.get(c.code.lower()) if c.code else None) or \
              (CONDITIONS.get(c.name.lower()) if c.name else None)
        if hit is None:
            unmapped += 1
        else:
            conditions.append((c, hit[1]))
    mets = _liver_mets(conditions, unmapped, complete.conditions, as_of)
    alt, ast = _latest(labs, "alt", as_of, lab_start), _latest(labs, "ast", as_of, lab_start)
    if mets == TRUE:
        i6, i7 = _uln(alt, 5.0), _uln(ast, 5.0)
    elif mets == FALSE:
        i6, i7 = _uln(alt, 2.5), _uln(ast, 2.5)
    else:
        a, b5 = _uln(alt, 5.0), _uln(alt, 2.5)
        i6 = a if a == b5 else UNKNOWN
        a, b5 = _uln(ast, 5.0), _uln(ast, 2.5)
        i7 = a if a == b5 else UNKNOWN
    i8 = _uln(_latest(labs, "creatinine", as_of, lab_start), 1.5)
    if i8 != TRUE:
        i8 = max(i8, _crcl(p, age, labs, as_of, lab_start))

    therapies = []
    for t in p.therapies:
        info = DRUGS.get(t.drug.lower()) if t.drug else None
        classes = info[1] if info else 0
        for c in t.classes:
            classes |= DRUG_CLASSES.get(c.lower(), 0)
        if info is None and (t.investigational or t.drug):
            therapies.append((t, None, -1))
        elif classes:
            therapies.append((t, info, classes))
    done = complete.therapies
    e1 = _washout(therapies, CHEMO, _D14, 0.0, done, as_of, apheresis)
    e2 = _washout(therapies, TARGETED, _D14, 5.0, done, as_of, apheresis)
    e3 = _washout(therapies, MAB, _D21, 0.0, done, as_of, apheresis)
    procedures = []
    unmapped = 0
    for r in p.procedures:
        hit = (PROCEDURES.get(r.code.lower()) if r.code else None) or \
              (PROCEDURES.get(r.name.lower()) if r.name else None)
        if hit is None:
            unmapped += 1
        else:
            procedures.append((r, hit[1]))
    e4 = _major_surgery(procedures, unmapped, complete.procedures, as_of, apheresis)
    e5 = _steroid_dose(therapies, done, as_of, apheresis)

    inc = (i1, i2, i3, i4, i5, i6, i7, i8)
    exc = (e1, e2, e3, e4, e5)
    failed = tuple(cid for cid, t in zip(INCLUSION, inc) if t == FALSE) + \
        tuple(cid for cid, t in zip(EXCLUSION, exc) if t == TRUE)
    if failed:
        return "no_match", failed
    open_ = tuple(cid for cid, t in zip(INCLUSION + EXCLUSION, inc + exc) if t == UNKNOWN)
    if open_:
        return "unknown", open_
    return "match", ()
