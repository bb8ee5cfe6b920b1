"""Evaluate what happened to the patient before, and when: conditions, therapies, procedures, doses.

Time rules (documented in ``docs/language.md``):

* ``within N <unit> before A``: an event dated ``e`` is inside the window when
  ``shift(A, -N unit) <= e <= A`` (both ends inclusive; months and years are
  calendar months and years, the day clamped to the month's end).
* A record with a partial date (``"2025"``, ``"2025-03"``) is tried at the
  earliest and the latest day the date allows; when they disagree the outcome
  is UNKNOWN with cause *indeterminate*.
* One window arithmetic for every kind of record: the window starts at
  :func:`eligimatch.evaluate.window_start` (counted back from the anchor); a
  therapy's washout stays inside while the anchor is on or before
  :func:`eligimatch.dates.window_end` of its last dose -- the same rule asked
  the other way round, never a count forward from the dose (a dose on
  2026-02-28 is within 6 months before 2026-08-31).
* A therapy's exposure runs from its start to its end; an ongoing therapy runs to
  the evaluation date; a therapy with neither end nor ``ongoing`` could have
  stopped any day between its start and the evaluation date.
* ``max(14 days, 5 half-lives)``: the longer of the two, per record, with the
  drug's half-life from the drug catalog.
* A record matching nothing is FALSE only when that history is complete (or the
  policy assumes absence); otherwise UNKNOWN naming the missing history.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Iterable

from . import ast as A
from .dates import PartialDate
from .dates import shift_clamped as shift  # windows and washouts saturate at years 1 and 9999
from .dates import window_end
from .evaluate import (NOFLAG, Context, F, T, U, _absence, _date_of, compare, ev, fmt_num, missing, op_symbol, src_label,
                       unknown, window_start)
from .logic import CauseFlag, Truth

__all__ = [
    "eval_condition", "eval_therapy", "eval_procedure", "eval_dose", "eval_stable_dose", "attr_truth", "yes_no",
]

ONE_DAY = _dt.timedelta(days=1)


def _lo(d: PartialDate | None) -> _dt.date | None:
    return d.earliest if d is not None else None


def _hi(d: PartialDate | None) -> _dt.date | None:
    return d.latest if d is not None else None


def _le(a_lo: _dt.date, a_hi: _dt.date, b: _dt.date) -> Truth:
    """Three-valued ``a <= b`` for a date known to lie in [a_lo, a_hi]."""
    if a_hi <= b:
        return T
    if a_lo > b:
        return F
    return U


def _ge(a_lo: _dt.date, a_hi: _dt.date, b: _dt.date) -> Truth:
    if a_lo >= b:
        return T
    if a_hi < b:
        return F
    return U


_TRUTH = (F, U, T)  # Truth by value, without the cost of calling the enum
_RECORD_CODE = ("record_outside_scope", "record_uncertain", "record_found")  # reason code of a record, by Truth


def _and(*ts: Truth) -> Truth:
    return _TRUTH[min(ts)]


# ---- attribute tests inside `where` ------------------------------------------------------------

def _value_of(v: A.Value) -> Any:
    if isinstance(v, A.Quantity):
        return float(v.number)
    if isinstance(v, A.Symbol):
        return v.name
    if isinstance(v, A.Text):
        return v.value
    return None


#: The spellings of a yes/no attribute (compared ignoring case and surrounding spaces).  Nothing else is a
#: yes or a no: not 1/0 (a count? a grade?), not "Y"/"N", not "unknown" or "not assessed".
YES_WORDS = frozenset({"yes", "true"})
NO_WORDS = frozenset({"no", "false"})


def yes_no(value: Any) -> bool | None:
    """A recorded yes/no attribute as True/False; None when the value is not a recognised yes/no."""
    if value is True or value is False:
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
    return None


def attr_truth(test: A.AttrTest, attrs: dict[str, Any]) -> Truth:
    """One ``where`` test against a record's attributes; a missing attribute is UNKNOWN."""
    if test.name not in attrs or attrs[test.name] is None:
        return U
    actual = attrs[test.name]
    if test.op == "true" or test.op == "false":
        # only a recognised yes/no decides: "unknown", 1, "Y" say nothing (D2)
        yes = yes_no(actual)
        if yes is None:
            return U
        return T if yes == (test.op == "true") else F
    if test.op in ("in", "not in"):
        # as any(_same(actual, w) for w in wanted), with the wanted side read once per test
        a_num = _number(actual)
        a_norm = None
        inside = False
        for w_num, w_norm in _wanted(test):
            if a_num is not None and w_num is not None:
                inside = compare(a_num, "=", w_num)
            else:
                if a_norm is None:
                    a_norm = _norm(actual)
                inside = a_norm == w_norm
            if inside:
                break
        return T if inside == (test.op == "in") else F
    wanted = [_value_of(v) for v in test.values]
    target = wanted[0]
    if isinstance(target, float) and test.op not in ("=", "!="):
        num = _number(actual)
        if num is None:
            return U
        return T if compare(num, test.op, target) else F
    if isinstance(target, float) and _number(actual) is None:
        return U
    same = _same(actual, target)
    if test.op == "=":
        return T if same else F
    if test.op == "!=":
        return F if same else T
    return U


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}


def _roman(x: Any) -> Any:
    if isinstance(x, str) and x.strip().lower() in _ROMAN:
        return _ROMAN[x.strip().lower()]
    return x


def _number(x: Any) -> float | None:
    """A recorded attribute as a number (``2``, ``"2"``, ``"II"``), or None."""
    x = _roman(x)
    if isinstance(x, bool):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _same(actual: Any, wanted: Any) -> bool:
    """``=`` and ``in`` alike: numbers (and grades I-V) by value, words ignoring case, spaces, hyphens."""
    a, w = _number(actual), _number(wanted)
    if a is not None and w is not None:
        return compare(a, "=", w)
    return _norm(actual) == _norm(wanted)


def _norm(x: Any) -> str:
    return str(x).strip().lower().replace("-", "_").replace(" ", "_")


_WANTED: dict[int, tuple[A.AttrTest, tuple]] = {}


def _wanted(test: A.AttrTest) -> tuple[tuple[float | None, str], ...]:
    """The values of an ``in`` test as :func:`_same` reads them (number, words), once per test (bounded)."""
    hit = _WANTED.get(id(test))
    if hit is None or hit[0] is not test:  # the entry holds the test: its id is not reused while it is here
        values = [_value_of(v) for v in test.values]
        hit = (test, tuple((_number(w), _norm(w)) for w in values))
        if len(_WANTED) >= 4096:
            _WANTED.clear()
        _WANTED[id(test)] = hit
    return hit[1]


def _attrs_note(tests: tuple[A.AttrTest, ...], attrs: dict[str, Any]) -> str:
    """The recorded values of the attributes a `where` tests, for the evidence line: "; grade 2"."""
    if not tests:
        return ""
    shown = []
    for name in dict.fromkeys(t.name for t in tests):
        v = attrs.get(name)
        shown.append(f"{name} {'not recorded' if v is None else fmt_num(v) if isinstance(v, (bool, int, float)) else v}")
    return "; " + ", ".join(shown)


def _where(tests: tuple[A.AttrTest, ...], attrs: dict[str, Any]) -> Truth:
    if not tests:
        return T
    return _and(*(attr_truth(t, attrs) for t in tests))


# ---- combining records -------------------------------------------------------------------------

def _after(d: Any, as_of: _dt.date) -> bool:
    """A record dated (entirely) after the evaluation date: not known then, so neither presence nor absence."""
    return d is not None and d.earliest > as_of


def _later_note(ctx: Context, fact: str, what: str, later: int) -> Any:
    return missing(fact, f"{later} record(s) of {what} dated after the evaluation date {ctx.as_of}: not used, "
                         f"and absence cannot be concluded (a wrong date?)", "invalid")


def _exists(ctx: Context, per_record: list[tuple], history: str, what: str, fact: str,
            unmapped: int = 0, later: int = 0) -> tuple:
    """TRUE if some record is TRUE; UNKNOWN if some is UNKNOWN; else absent (see :func:`_absence`).

    ``per_record``: ``(truth, evidence)`` or ``(truth, evidence, questions)``, where ``questions`` say what
    would settle an UNKNOWN record (they become the missing facts; a generic one otherwise).
    ``later`` records of the concept are dated after the evaluation date: they are not used, and while
    they exist the absence of the concept is not concluded (UNKNOWN, cause invalid).
    """
    if not per_record and not later and not unmapped:  # the common case: no record of the concept at all
        return _absence(ctx, history, what, fact)
    trues = [r[1] for r in per_record if r[0] == T]
    if trues:
        return (T, NOFLAG, (), tuple(trues))
    unknowns = [r for r in per_record if r[0] == U]
    if unknowns:
        questions = tuple(dict.fromkeys(q for r in unknowns if len(r) > 2 for q in r[2]))
        if not questions:
            questions = (f"more precise dates, attributes or catalog entries for {what}",)
        return unknown(CauseFlag.INDETERMINATE, tuple(missing(fact, q, "indeterminate") for q in questions),
                       tuple(r[1] for r in unknowns))
    # records of the concept that do not count (outside the window, failing `where`) are shown, not hidden
    outside = tuple(r[1] for r in per_record if r[0] == F)
    if later:
        res = _absence(ctx, history, what, fact, other=bool(outside))
        known = res[2] if res[0] == U else ()
        return unknown((res[1] if res[0] == U else NOFLAG) | CauseFlag.INVALID,
                       known + (_later_note(ctx, fact, what, later),), outside + res[3])
    if unmapped:
        res = _absence(ctx, history, what, fact, other=bool(outside))
        if res[0] == F:
            return unknown(CauseFlag.INVALID, (missing(fact, f"{unmapped} {history} record(s) not in the catalog; "
                                                             f"map them to rule out {what}", "invalid"),),
                           outside + res[3])
        return res[:3] + (outside + res[3],)
    res = _absence(ctx, history, what, fact, other=bool(outside))
    return res[:3] + (outside + res[3],)


def _names(refs: Iterable[A.Ref]) -> str:
    return ", ".join(r.name for r in refs)


def _where_questions(tests: tuple[A.AttrTest, ...], attrs: dict[str, Any], label: str) -> list[str]:
    """What would settle the ``where`` tests that are UNKNOWN for one record."""
    out = []
    for t in tests:
        if attr_truth(t, attrs) != U:
            continue
        v = attrs.get(t.name)
        if v is None:
            out.append(f"the {t.name} attribute of {label} (not recorded)")
        elif t.op in ("true", "false"):
            out.append(f"the {t.name} attribute of {label}: recorded {v!r}, not a yes/no")
        else:
            out.append(f"the {t.name} attribute of {label}: recorded {v!r} cannot be compared")
    return out


def _kind(cat: Any, concept_id: str, selectors: tuple[str, ...], excepted: tuple[str, ...],
          label: str) -> tuple[Truth, list[str]] | None:
    """Is a record of ``concept_id`` one of ``selectors`` and none of ``excepted``?  None: certainly not
    (the record is not shown).  UNKNOWN when the record is broader than what it is compared with: an
    ancestor of a selector ("leukemia" against B-ALL; ICD-10-CM C91.0, which covers B- and T-ALL) may be
    the wanted thing, and an ancestor of an excepted concept may be the excepted thing (D4)."""
    if any(cat.is_a(concept_id, s) for s in selectors):
        t, questions = T, []
    else:
        broader = [s for s in selectors if cat.is_a(s, concept_id)]
        if not broader:
            return None
        t, questions = U, [f"whether {label} ({concept_id}) is {' or '.join(broader)}: the record is broader; "
                           f"a more specific diagnosis or code settles it"]
    if excepted:
        if any(cat.is_a(concept_id, x) for x in excepted):
            return F, []
        may_be = [x for x in excepted if cat.is_a(x, concept_id)]
        if may_be:
            t = U
            questions.append(f"whether {label} ({concept_id}) is {' or '.join(may_be)} (excepted): the record is "
                             f"broader; a more specific diagnosis or code settles it")
    return t, questions


# ---- conditions ----------------------------------------------------------------------------------

_ENDED = ("resolved", "inactive", "remission")


def eval_condition(ctx: Context, selectors: tuple[str, ...], excepted: tuple[str, ...], pred: A.ConditionPred,
                   window_days: tuple | None) -> tuple:
    """``condition X`` (present now) or ``history of X [within ...]``."""
    cat = ctx.catalogs.conditions
    what = " or ".join(selectors)
    fact = f"condition {what}"
    results: list[tuple] = []
    unmapped = later = 0
    for rec, concept in ctx.index.conditions:
        if concept is None:
            unmapped += 1
            continue
        label = rec.name or rec.code
        kind = _kind(cat, concept.id, selectors, excepted, label)
        if kind is None:
            continue
        kind_t, questions = kind
        if kind_t == F:
            results.append((F, ev(fact, "record_excepted", f"{label} ({concept.id}): excepted", value=label,
                                  date=_date_of(rec.onset), source=src_label(rec))))
            continue
        if _after(rec.onset, ctx.as_of):
            later += 1
            continue
        timing, when_q = _condition_timing(ctx, rec, pred, window_days)
        where_t = _where(pred.where, rec.attributes)
        t = _and(kind_t, timing, where_t)
        if t == U:
            if timing == U:
                questions.append(when_q.format(label=label))
            if where_t == U:
                questions.extend(_where_questions(pred.where, rec.attributes, label))
        when = f"onset {rec.onset}" if rec.onset else "onset not recorded"
        if rec.end:
            when += f", ended {rec.end}"
        elif rec.status is None and not pred.history:
            when += ", no status or end date"
        note = f"{label} ({concept.id}; {when}{_attrs_note(pred.where, rec.attributes)})"
        if kind_t == U:
            note += f"; broader than {what}" if not excepted or any(
                cat.is_a(s, concept.id) and not cat.is_a(concept.id, s) for s in selectors) else "; may be excepted"
        code = _RECORD_CODE[t]
        results.append((t, ev(fact, code, note, value=label, date=_date_of(rec.onset), source=src_label(rec)),
                        questions))
    return _exists(ctx, results, "conditions", what, fact, unmapped, later)


def _condition_timing(ctx: Context, rec: Any, pred: A.ConditionPred, window_days: tuple | None) -> tuple[Truth, str]:
    """Whether the record counts in time, and (when UNKNOWN) what would settle it (``{label}`` to fill in).

    A condition with neither a status nor an end date may have ended: whether it is present *now* is
    UNKNOWN (D9), and in a window it counts only where its onset alone places it there.  One without an
    onset began on or before the evaluation date (it is in the chart)."""
    as_of = ctx.as_of
    onset_lo, onset_hi = (_lo(rec.onset), _hi(rec.onset)) if rec.onset else (_dt.date.min, as_of)
    started = _le(onset_lo, min(onset_hi, as_of) if onset_hi else as_of, as_of) if rec.onset else T
    dates_q = "more precise onset or end dates of {label}"
    if not pred.history:
        # present now: started, and not ended or resolved
        if rec.status in _ENDED:
            return F, ""
        if rec.end is None:
            if rec.status is None:
                return _and(started, U), ("whether {label} is current: a clinical status (active, resolved...) "
                                          "or an end date")
            return started, dates_q
        return _and(started, _ge(rec.end.earliest, rec.end.latest, shift(as_of, 1, "day"))), dates_q
    if pred.window is None:
        return started, dates_q
    w = pred.window
    anchor = ctx.anchor(w.anchor)
    start = window_start(ctx, window_days[0][0], window_days[0][1], w.anchor)
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
            return _and(began_before_end, still_on), (
                "when {label} ended (an end date)" if rec.status else
                "whether {label} is current: a clinical status (active, resolved...) or an end date")
    else:
        still_on = T
    return _and(began_before_end, still_on), dates_q


# ---- procedures -----------------------------------------------------------------------------------

def eval_procedure(ctx: Context, selectors: tuple[str, ...], pred: A.ProcedurePred,
                   window_days: tuple | None) -> tuple:
    cat = ctx.catalogs.procedures
    what = " or ".join(selectors)
    fact = f"procedure {what}"
    results: list[tuple] = []
    unmapped = later = 0
    for rec, concept in ctx.index.procedures:
        if concept is None:
            unmapped += 1
            continue
        label = rec.name or rec.code
        kind = _kind(cat, concept.id, selectors, (), label)
        if kind is None:
            continue
        kind_t, questions = kind
        if _after(rec.date, ctx.as_of):
            later += 1
            continue
        if rec.date is None:
            t = T if pred.window is None else U
        elif pred.window is None:
            t = _le(rec.date.earliest, rec.date.latest, ctx.as_of)
        else:
            anchor = ctx.anchor(pred.window.anchor)
            start = window_start(ctx, window_days[0][0], window_days[0][1], pred.window.anchor)
            t = _and(_ge(rec.date.earliest, rec.date.latest, start), _le(rec.date.earliest, rec.date.latest, anchor))
        if t == U:
            questions.append(f"the date of {label}" if rec.date is None else f"a more precise date of {label}")
        where_t = _where(pred.where, rec.attributes)
        if where_t == U:
            questions.extend(_where_questions(pred.where, rec.attributes, label))
        t = _and(kind_t, t, where_t)
        code = _RECORD_CODE[t]
        results.append((t, ev(fact, code, f"{label} ({concept.id}; {rec.date or 'date not recorded'}"
                                          f"{_attrs_note(pred.where, rec.attributes)})"
                                          + (f"; broader than {what}" if kind_t == U else ""),
                              value=label, date=_date_of(rec.date), source=src_label(rec)), questions))
    return _exists(ctx, results, "procedures", what, fact, unmapped, later)


# ---- therapies ------------------------------------------------------------------------------------

def _therapy_attrs(rec: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {"route": rec.route, "investigational": rec.investigational, "drug": rec.drug}
    if rec.dose is not None:
        attrs["dose"] = rec.dose.value
    return attrs


def _therapy_where(tests: tuple[A.AttrTest, ...], rec: Any) -> Truth:
    """A therapy record against a ``where``; its attributes are gathered only when there are tests."""
    return _where(tests, _therapy_attrs(rec)) if tests else T


def _last_dose_range(ctx: Context, rec: Any, horizon: _dt.date | None = None) -> tuple[_dt.date, _dt.date] | None:
    """The earliest and latest day the last exposure may have been.

    An ongoing therapy was last taken no earlier than the evaluation date, and
    nobody knows when it will stop: up to ``horizon`` (the anchor of the window
    being asked about, when that lies ahead) it may still be taken.
    """
    later = max(ctx.as_of, horizon) if horizon is not None else ctx.as_of
    if rec.ongoing:
        return (ctx.as_of, later)
    if rec.end is not None:
        return (rec.end.earliest, min(rec.end.latest, ctx.as_of) if rec.end.earliest <= ctx.as_of else rec.end.latest)
    if rec.start is not None:
        return (rec.start.earliest, max(later, rec.start.earliest))
    return None


def _matching_therapies(ctx: Context, selectors: tuple[str, ...],
                        excepted: tuple[str, ...]) -> list[tuple[int, Truth]]:
    """Records that are (TRUE) or may be (UNKNOWN: a drug the catalog does not know) one of ``selectors``."""
    idx = ctx.index
    out = []
    for i in range(len(idx.therapies)):
        is_sel = (idx.therapy_matches(i, selectors[0]) if len(selectors) == 1
                  else max([idx.therapy_matches(i, s) for s in selectors], default=F))
        if is_sel == F:
            continue
        t = _and(is_sel, _TRUTH[2 - max([idx.therapy_matches(i, x) for x in excepted])]) if excepted else is_sel
        if t != F:
            out.append((i, t))
    return out


def _window_length_end(last: _dt.date, durations: tuple, half_life: float | None,
                       text: bool = True) -> tuple[_dt.date | None, str]:
    """The last day the washout still runs, for a last dose on ``last``: last + max(durations);
    and how it was reckoned (``text=False``: not needed)."""
    ends = []
    parts = []
    for amount, unit in durations:
        if unit == "half-life":
            if half_life is None:
                return None, "half-life unknown"
            days = amount * half_life
            ends.append(_plus(last, int(-(-days // 1)), "day"))
            if text:
                parts.append(f"{fmt_num(amount)} half-lives of {fmt_num(half_life)} days = {fmt_num(days)} days")
        else:
            # counted back from the anchor, as every window is (see dates.window_end)
            ends.append(_plus(last, int(amount), unit) if unit == "day" or unit == "week"
                        else window_end(last, int(amount), unit, saturate=True))
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


def eval_therapy(ctx: Context, selectors: tuple[str, ...], excepted: tuple[str, ...], pred: A.TherapyPred,
                 durations: tuple | None) -> tuple:
    what = " or ".join(selectors)
    fact = f"therapy {what}"
    results: list[tuple[Truth, Any]] = []
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
    violations: list[tuple[Truth, Any]] = []  # for `started at least ... before`: courses that started too late
    for i, kind_t in _matching_therapies(ctx, selectors, excepted):
        rec, drug_id = ctx.index.therapies[i]
        if _after(rec.start, ctx.as_of):
            later += 1
            continue
        label = rec.drug or ", ".join(rec.classes) or "investigational agent"
        attrs_t = _and(kind_t, _therapy_where(pred.where, rec))
        if kind_t == U:
            label += f" (not in the drug catalog, or too broad to tell whether it is {what})"
        passes_on = None
        if pred.timing == "ever":
            t = _le(rec.start.earliest, rec.start.latest, ctx.as_of) if rec.start else T
            note = f"{label} (started {rec.start or 'date not recorded'})"
        elif pred.timing == "ongoing":
            if rec.ongoing:
                t = T
            elif rec.end is not None:
                t = _ge(rec.end.earliest, rec.end.latest, ctx.as_of)
            else:
                t = U
            note = f"{label} ({'ongoing' if rec.ongoing else f'ended {rec.end}' if rec.end else 'end not recorded'})"
        elif pred.timing == "started":
            # every course still taken on or after the limit must have started by then
            anchor = ctx.anchor(pred.anchor)
            limit = window_start(ctx, pred.started.amount, pred.started.unit, pred.anchor)
            started_ok = _le(rec.start.earliest, rec.start.latest, limit) if rec.start else U
            last = _last_dose_range(ctx, rec, anchor)
            relevant = _ge(last[0], last[1], limit) if last is not None else U
            violation = _and(relevant, Truth(2 - started_ok), attrs_t)
            if violation != F:
                violations.append((violation, ev(fact, "started_too_late" if violation == T else "record_uncertain",
                                                 f"{label} started {rec.start or '(date not recorded)'}, after "
                                                 f"{limit}" if violation == T else
                                                 f"{label}: start or stop dates too imprecise to tell whether it "
                                                 f"started on or before {limit}", value=label,
                                                 source=src_label(rec))))
            t = _and(relevant, started_ok)
            note = f"{label} started {rec.start or '(date not recorded)'}; must be on or before {limit}"
        else:  # window
            anchor = ctx.anchor(pred.window.anchor)
            last = _last_dose_range(ctx, rec, anchor)
            half_life = None
            if drug_id is not None:
                d = drugs.get(drug_id) or drugs.resolve(drug_id)
                half_life = getattr(d, "half_life_days", None)
            if last is None:
                t, note = U, f"{label}: no dates recorded"
            else:
                end_lo, arith = _window_length_end(last[0], durations, half_life)
                end_hi, _ = _window_length_end(last[1], durations, half_life, text=False)
                began = _le(rec.start.earliest, rec.start.latest, anchor) if rec.start else T
                if end_lo is None:
                    # the half-life part is unknown: decided only if the fixed part already covers the anchor
                    fixed = tuple(d for d in durations if d[1] != "half-life")
                    f_end, _ = _window_length_end(last[0], fixed, None) if fixed else (None, "")
                    t = _and(began, T) if f_end is not None and f_end >= anchor else U
                    note = f"{label}: last dose {last[0]}; half-life of {drug_id or label} unknown"
                    if f_end is not None:
                        note += (f"; the fixed part of the washout alone runs to {f_end}"
                                 + (f", on or after {anchor} ({pred.window.anchor})" if f_end >= anchor
                                    else f", before {anchor} ({pred.window.anchor}): the half-life decides"))
                else:
                    # inside the window while anchor <= end (the washout has not run out by the anchor)
                    t = _and(began, _ge(end_lo, end_hi, anchor))
                    last_txt = str(last[0]) if last[0] == last[1] else f"between {last[0]} and {last[1]}"
                    note = f"{label}: last dose {last_txt}; {arith}; the washout ends {end_hi}"
                    if t == T and not rec.ongoing and last[0] == last[1]:
                        if end_hi < _dt.date.max:  # a washout running past 9999 never completes
                            passes_on = shift(end_hi, 1, "day")
                            note += f"; washout complete on {passes_on}"
        t = _and(t, attrs_t)
        if pred.where:
            note += f" ({_attrs_note(pred.where, _therapy_attrs(rec))[2:]})"
        code = _RECORD_CODE[t]
        results.append((t, ev(fact, code, note, value=label, source=src_label(rec), passes_on=passes_on)))
    if violations:
        worst = Truth(max(v for v, _ in violations))
        shown = tuple(e for v, e in violations if v == worst)
        if worst == T:
            return (F, NOFLAG, (), shown)
        return unknown(CauseFlag.INDETERMINATE, (missing(fact, f"start and stop dates of {what}", "indeterminate"),),
                       shown)
    return _exists(ctx, results, "therapies", what, fact, later=later)


# ---- doses ---------------------------------------------------------------------------------------

def _daily_mg(rec: Any) -> float | None:
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


def _active_in(ctx: Context, rec: Any, start: _dt.date, end: _dt.date) -> Truth:
    """Three-valued: the record's exposure overlaps [start, end]."""
    last = _last_dose_range(ctx, rec, end)
    if rec.start is None or last is None:
        return U
    return _and(_le(rec.start.earliest, rec.start.latest, end), _ge(last[0], last[1], start))


def eval_dose(ctx: Context, selectors: tuple[str, ...], pred: A.DosePred, threshold_mg: float,
              window_days: tuple | None) -> tuple:
    what = " or ".join(selectors)
    fact = f"daily dose of {what}" + (f" as {pred.equivalent}" if pred.equivalent else "")
    if pred.window is not None:
        anchor = ctx.anchor(pred.window.anchor)
        start = window_start(ctx, window_days[0][0], window_days[0][1], pred.window.anchor)
    else:
        anchor = start = ctx.as_of
    drugs = ctx.catalogs.drugs
    best: float | None = None
    uncertain = False
    evidence = []
    later = 0
    for i, kind_t in _matching_therapies(ctx, selectors, ()):
        rec, drug_id = ctx.index.therapies[i]
        if _after(rec.start, ctx.as_of):
            later += 1
            uncertain = True
            continue
        active = _and(kind_t, _active_in(ctx, rec, start, anchor), _therapy_where(pred.where, rec))
        if active == F:
            continue
        mg = _daily_mg(rec)
        label = rec.drug or ", ".join(rec.classes)
        if mg is not None and pred.equivalent:
            mg = drugs.prednisone_equivalent(drug_id, mg) if drug_id else None
        if mg is None:
            uncertain = True
            evidence.append(ev(fact, "dose_unknown", f"{label}: daily dose or its {pred.equivalent or 'mg'} "
                                                     f"equivalent cannot be computed", source=src_label(rec)))
            continue
        if active == U:
            uncertain = True
        evidence.append(ev(fact, "dose_used", f"{label}: {rec.dose.value:g} {rec.dose.unit}"
                           + (f" x {rec.dose.per_day:g}/day" if rec.dose.per_day else "")
                           + (f" = {fmt_num(mg)} mg/day {pred.equivalent} equivalent" if pred.equivalent else ""),
                           value=rec.dose.value, unit=rec.dose.unit, converted=mg, converted_unit="mg/day",
                           source=src_label(rec)))
        if active == T:
            best = mg if best is None else max(best, mg)
    observed = best if best is not None else 0.0
    ok = compare(observed, pred.op, threshold_mg)
    if best is None and not evidence and not later:
        res = _absence(ctx, "therapies", what, fact)
        if res[0] == F:
            # no such therapy: the daily dose is 0
            ok0 = compare(0.0, pred.op, threshold_mg)
            return (T if ok0 else F, NOFLAG, (), res[3])
        return res
    if uncertain and not (ok and pred.op in (">", ">=")):
        if later:
            return unknown(CauseFlag.INVALID, (_later_note(ctx, fact, what, later),), tuple(evidence))
        return unknown(CauseFlag.INDETERMINATE, (missing(fact, f"dose, frequency and dates of {what}",
                                                         "indeterminate"),), tuple(evidence))
    evidence.append(ev(fact, "threshold_met" if ok else "threshold_not_met",
                       f"highest daily dose {fmt_num(observed)} mg/day {'meets' if ok else 'does not meet'} "
                       f"{op_symbol(pred.op)} {fmt_num(threshold_mg)} mg/day",
                       converted=observed, converted_unit="mg/day",
                       threshold=f"{op_symbol(pred.op)} {fmt_num(threshold_mg)} mg/day"))
    return (T if ok else F, NOFLAG, (), tuple(evidence))


def eval_stable_dose(ctx: Context, selectors: tuple[str, ...], pred: A.StableDosePred) -> tuple:
    """Each selected drug taken over [anchor - duration, anchor] is taken at one daily dose throughout.

    Doses are compared per drug: hydroxychloroquine 400 mg/day with mycophenolate 2000 mg/day is two
    stable doses, not a change; and every drug taken in the window must cover all of it.
    """
    what = " or ".join(selectors)
    fact = f"stable dose of {what}"
    anchor = ctx.anchor(pred.anchor)
    start = window_start(ctx, pred.duration.amount, pred.duration.unit, pred.anchor)
    doses: dict[str, set[float]] = {}  # per drug
    covers: dict[str, bool] = {}
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
        active = _and(kind_t, _active_in(ctx, rec, start, anchor), _therapy_where(pred.where, rec))
        if active == F:
            continue
        mg = _daily_mg(rec)
        label = rec.drug or ", ".join(rec.classes)
        evidence.append(ev(fact, "dose_period", f"{label}: {fmt_num(mg) if mg is not None else '?'} mg/day from "
                                                f"{rec.start} to {rec.end or ('now' if rec.ongoing else '?')}",
                           value=mg, unit="mg/day", source=src_label(rec)))
        if active == U or mg is None:
            uncertain = True
            unsure.add(drug_id or label)
            continue
        key = drug_id or label
        doses.setdefault(key, set()).add(round(mg, 6))
        covers[key] = covers.get(key, False) or (rec.start is not None and rec.start.latest <= start)
    if not found:
        return _absence(ctx, "therapies", what, fact)
    changed = [k for k, d in doses.items() if len(d) > 1]
    if changed:
        evidence.append(ev(fact, "dose_changed", f"the daily dose of {', '.join(changed)} changed between {start} "
                                                 f"and {anchor}"))
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
    started_late = [k for k in doses if not covers[k] and k not in unsure]
    if started_late:
        evidence.append(ev(fact, "dose_started_late", f"{', '.join(started_late)} started after {start}"))
        return (F, NOFLAG, (), tuple(evidence))
    if later:
        return unknown(CauseFlag.INVALID, (_later_note(ctx, fact, what, later),), tuple(evidence))
    if uncertain:
        return unknown(CauseFlag.INDETERMINATE, (missing(fact, f"doses and dates of {what} from {start} to {anchor}",
                                                         "indeterminate"),), tuple(evidence))
    if not doses:
        evidence.append(ev(fact, "not_exposed", f"no {what} between {start} and {anchor}"))
        return (F, NOFLAG, (), tuple(evidence))
    late = [k for k in doses if not covers[k]]
    evidence.append(ev(fact, "dose_started_late" if late else "dose_stable",
                       f"{', '.join(late)} started after {start}" if late else f"one daily dose since {start}"))
    return (F if late else T, NOFLAG, (), tuple(evidence))
