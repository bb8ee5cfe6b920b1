"""Evaluate what happened to the patient before, and when: conditions, therapies, procedures, doses.

Time rules (documented in ``docs/language.md``):

* ``within N <unit> before A``: an event dated ``e`` is inside the window when
  ``shift(A, -N unit) <= e <= A`` (both ends inclusive; months and years are
  calendar months and years, the day clamped to the month's end).
* A record with a partial date (``"2025"``, ``"2025-03"``) is tried at the
  earliest and the latest day the date allows; when they disagree the outcome
  is UNKNOWN with cause *indeterminate*.
* One window arithmetic for every kind of record: the window starts at
  :func:`eligimatch.engine._evaluate.window_start` (counted back from the anchor); a
  therapy's washout stays inside while the anchor is on or before
  :func:`eligimatch.knowledge._dates.window_end` of its last dose -- the same rule asked
  the other way round, never a count forward from the dose (a dose on
  2026-02-28 is within 6 months before 2026-08-31); a completed washout is
  complete on :func:`eligimatch.knowledge._dates.elapsed_on`.
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
from typing import Any

from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import attr_norm, attr_number
from eligimatch.knowledge._dates import PartialDate
from eligimatch.knowledge._drugs import Drug
from eligimatch.knowledge._dates import shift_clamped as shift  # windows and washouts saturate at years 1 and 9999
from eligimatch.knowledge._dates import elapsed_on, window_end
from eligimatch.engine._evaluate import (NOFLAG, Context, F, T, U, _absence, _date_of, compare, ev, fmt_num, missing, op_symbol, src_label,
                       unknown, window_start)
from eligimatch.logic import CauseFlag, Truth, t_and, t_and2, t_not, t_or

__all__ = [
    "eval_condition", "eval_therapy", "eval_procedure", "attr_truth", "yes_no",
    "eval_participation",
]

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


_RECORD_CODE = ("record_outside_scope", "record_uncertain", "record_found")  # reason code of a record, by Truth


# ---- attribute tests inside `where` ------------------------------------------------------------

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


def attr_truth(test: P.YesNoTest | P.CodedTest | P.ValueTest, attrs: dict[str, Any]) -> Truth:
    """One ``where`` test against a record's attributes; a missing attribute is UNKNOWN."""
    actual = attrs.get(test.name)
    if actual is None:
        return U
    if test.__class__ is P.CodedTest:
        return _vocabulary_truth(test, actual)  # type: ignore[arg-type]
    if test.__class__ is P.YesNoTest:
        # only a recognised yes/no decides: "unknown", 1, "Y" say nothing (D2)
        yes = yes_no(actual)
        if yes is None:
            return U
        return T if yes == test.expected else F  # type: ignore[union-attr]
    op, values = test.op, test.values  # type: ignore[union-attr]
    if op == "in" or op == "not in":
        a_num = _number(actual)
        a_norm = None
        inside = False
        for w in values:
            if a_num is not None and w.number is not None:
                inside = compare(a_num, "=", w.number)
            else:
                if a_norm is None:
                    a_norm = _norm(actual)
                inside = a_norm == w.norm
            if inside:
                break
        return T if inside == (op == "in") else F
    target = values[0]
    if target.raw.__class__ is float and op not in ("=", "!="):
        num = _number(actual)
        if num is None:
            return U
        return T if compare(num, op, target.raw) else F  # type: ignore[arg-type]
    a_num = _number(actual)
    if target.raw.__class__ is float and a_num is None:
        return U
    same = compare(a_num, "=", target.number) if a_num is not None and target.number is not None else (
        _norm(actual) == target.norm)
    if op == "=":
        return T if same else F
    if op == "!=":
        return F if same else T
    return U


def _vocabulary_truth(test: P.CodedTest, actual: Any) -> Truth:
    """A test on an attribute with a declared vocabulary: the record's value read through it ("Stage IIB",
    "2B" and IIB are one value); a recorded value it cannot place never decides."""
    vocab = test.vocabulary
    value = vocab.normalize(actual)
    if value is None:
        return U
    inside = value in test.values
    if not inside and any(vocab.scale(w) != vocab.scale(value) for w in test.values):
        return U  # stage IIB against (locally_advanced, metastatic): another scale, not decided
    return T if inside != test.negated else F


def _number(x: Any) -> float | None:
    """A recorded attribute as a number (``2``, ``"2"``, ``"II"``), or None."""
    return attr_number(x)


def _norm(x: Any) -> str:
    return attr_norm(x)


def _attrs_note(tests: tuple[P.WhereTest, ...], attrs: dict[str, Any]) -> str:
    """The recorded values of the attributes a `where` tests, for the evidence line: "; grade 2"."""
    if not tests:
        return ""
    shown = []
    for name in P.attr_names(tests):
        v = attrs.get(name)
        shown.append(f"{name} {'not recorded' if v is None else fmt_num(v) if isinstance(v, (bool, int, float)) else v}")
    return "; " + ", ".join(shown)


def _where(tests: tuple[P.WhereTest, ...], attrs: dict[str, Any]) -> Truth:
    """A ``where``: every test holds; an :class:`~eligimatch.plan.AnyTest` holds when one of its options does."""
    if not tests:
        return T
    return t_and(*(t_or(*[_where(o, attrs) for o in t.options]) if t.__class__ is P.AnyTest
                  else attr_truth(t, attrs) for t in tests))  # type: ignore[arg-type, union-attr]


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


def _where_questions(tests: tuple[P.WhereTest, ...], attrs: dict[str, Any], label: str) -> list[str]:
    """What would settle the ``where`` tests that are UNKNOWN for one record (inside an ``or``, those of
    its undecided options)."""
    out: list[str] = []
    for t in tests:
        if isinstance(t, P.AnyTest):
            if _where((t,), attrs) == U:
                for option in t.options:
                    out.extend(q for q in _where_questions(option, attrs, label) if q not in out)
            continue
        if attr_truth(t, attrs) != U:
            continue
        v = attrs.get(t.name)
        if v is None:
            out.append(f"the {t.name} attribute of {label} (not recorded)")
        elif isinstance(t, P.YesNoTest):
            out.append(f"the {t.name} attribute of {label}: recorded {v!r}, not a yes/no")
        else:
            out.append(f"the {t.name} attribute of {label}: recorded {v!r} cannot be compared")
    return out


def _kind(cat: Any, concept_id: str, selectors: tuple[str, ...], excepted: tuple[str, ...],
          label: str) -> tuple[Truth, list[str]] | None:
    """Is a record of ``concept_id`` one of ``selectors`` and none of ``excepted``?  None: certainly not
    (the record is not shown).  UNKNOWN when the record overlaps what it is compared with
    (:meth:`ConceptCatalog.kind_of`): an ancestor of a selector ("leukemia" against B-ALL; ICD-10-CM C91.0,
    which covers B- and T-ALL), or a concept sharing a descendant with it ("gastrointestinal disease"
    against autoimmune disease: coeliac disease is both), may be the wanted thing (D4, N5); the same for
    excepted concepts."""
    kinds = [cat.kind_of(concept_id, s) for s in selectors]
    if any(k is True for k in kinds):
        t, questions = T, []
    else:
        broader = [s for s, k in zip(selectors, kinds) if k is None]
        if not broader:
            return None
        t, questions = U, [f"whether {label} ({concept_id}) is {' or '.join(broader)}: the record is broader "
                           f"or overlaps it; a more specific diagnosis or code settles it"]
    if excepted:
        ex = [cat.kind_of(concept_id, x) for x in excepted]
        if any(k is True for k in ex):
            return F, []
        may_be = [x for x, k in zip(excepted, ex) if k is None]
        if may_be:
            t = U
            questions.append(f"whether {label} ({concept_id}) is {' or '.join(may_be)} (excepted): the record is "
                             f"broader or overlaps it; a more specific diagnosis or code settles it")
    return t, questions


# ---- conditions ----------------------------------------------------------------------------------

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
    status = [drugs.match_status(entry.id, (), a) if isinstance(entry, Drug)
              else drugs.match_status(None, (entry.id,), a) for a in allergens]
    t = T if any(x is True for x in status) else U if any(x is None for x in status) else F
    return t, f"allergen {name} ({entry.id})"


def _onset_in(ctx: Context, rec: Any, w: P.Window) -> Truth:
    """``diagnosed within N before A``: the onset lies in [A - N, A]."""
    if rec.onset is None:
        return U
    anchor = ctx.anchor(w.anchor)
    start = window_start(ctx, w.durations[0].amount, w.durations[0].unit, w.anchor)
    return t_and(_ge(rec.onset.earliest, rec.onset.latest, start), _le(rec.onset.earliest, rec.onset.latest, anchor))


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
    return _exists(ctx, results, "conditions", what, fact, unmapped, later)


_PRESENT = P.Present()


def _condition_timing(ctx: Context, rec: Any, timing: P.Present | P.Ever | P.Within) -> tuple[Truth, str]:
    """Whether the record counts in time, and (when UNKNOWN) what would settle it (``{label}`` to fill in).

    A condition with neither a status nor an end date may have ended: whether it is present *now* is
    UNKNOWN (D9), and in a window it counts only where its onset alone places it there.  One without an
    onset began on or before the evaluation date (it is in the chart)."""
    as_of = ctx.as_of
    onset_lo, onset_hi = (_lo(rec.onset), _hi(rec.onset)) if rec.onset else (_dt.date.min, as_of)
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
    w = timing.window  # type: ignore[union-attr]
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


# ---- procedures -----------------------------------------------------------------------------------

def eval_procedure(ctx: Context, pred: P.Procedure) -> tuple:
    selectors = tuple(r.id for r in pred.concepts)
    excepted = tuple(r.id for r in pred.excepted)
    window = pred.timing.window if pred.timing.__class__ is P.Within else None  # type: ignore[union-attr]
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
        kind = _kind(cat, concept.id, selectors, excepted, label)
        if kind is None:
            continue
        kind_t, questions = kind
        if kind_t == F:
            results.append((F, ev(fact, "record_excepted", f"{label} ({concept.id}): excepted", value=label,
                                  date=_date_of(rec.date), source=src_label(rec))))
            continue
        if _after(rec.date, ctx.as_of):
            later += 1
            continue
        if rec.date is None:
            t = T if window is None else U
        elif window is None:
            t = _le(rec.date.earliest, rec.date.latest, ctx.as_of)
        else:
            anchor = ctx.anchor(window.anchor)
            start = window_start(ctx, window.durations[0].amount, window.durations[0].unit, window.anchor)
            t = t_and(_ge(rec.date.earliest, rec.date.latest, start), _le(rec.date.earliest, rec.date.latest, anchor))
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
    return _exists(ctx, results, "procedures", what, fact, unmapped, later)


# ---- therapies ------------------------------------------------------------------------------------

def _therapy_attrs(rec: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {"route": rec.route, "investigational": rec.investigational, "drug": rec.drug,
                             "indication": rec.indication}
    if rec.dose is not None:
        attrs["dose"] = rec.dose.value
    return attrs


def _therapy_where(tests: tuple[P.WhereTest, ...], rec: Any) -> Truth:
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
                        excepted: tuple[str, ...], conjunct: bool = False) -> list[tuple[int, Truth]]:
    """Records that are (TRUE) or may be (UNKNOWN: a drug the catalog does not know) one of ``selectors``
    (``conjunct``: every one of them, as ``therapy (car_t and cd19_targeted)``)."""
    idx = ctx.index
    out = []
    for i in range(len(idx.therapies)):
        is_sel = (idx.therapy_matches(i, selectors[0]) if len(selectors) == 1
                  else t_and(*[idx.therapy_matches(i, s) for s in selectors]) if conjunct
                  else t_or(*[idx.therapy_matches(i, s) for s in selectors]))
        if is_sel == F:
            continue
        t = t_and2(is_sel, t_not(t_or(*[idx.therapy_matches(i, x) for x in excepted]))) if excepted else is_sel
        if t != F:
            out.append((i, t))
    return out


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
    for i, kind_t in _matching_therapies(ctx, selectors, excepted, pred.conjunct):
        rec, drug_id = ctx.index.therapies[i]
        if _after(rec.start, ctx.as_of):
            later += 1
            continue
        label = rec.drug or ", ".join(rec.classes) or "investigational agent"
        n_violations = len(violations)
        qs: list[str] = []  # what would settle this record, when it is UNKNOWN
        if kind_t == U:
            qs.append(_kind_question(rec, drug_id, label, what))
        where_t = _therapy_where(pred.where, rec)
        if where_t == U:
            qs.extend(_where_questions(pred.where, _therapy_attrs(rec), label))
        attrs_t = t_and(kind_t, where_t)
        if indication:
            attrs_t = t_and(attrs_t, _indication_truth(ctx, rec, indication, pred.indication_negated))
            label += f" (for {rec.indication or 'an indication not recorded'})"
        if kind_t == U:
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
            last = _last_dose_range(ctx, rec, anchor)
            relevant = _ge(last[0], last[1], limit) if last is not None else U
            violation = t_and(relevant, t_not(started_ok), attrs_t)
            if violation != F:
                violations.append((violation, ev(fact, "started_too_late" if violation == T else "record_uncertain",
                                                 f"{label} started {rec.start or '(date not recorded)'}, after "
                                                 f"{limit}" if violation == T else
                                                 f"{label}: start or stop dates too imprecise to tell whether it "
                                                 f"started on or before {limit}", value=label,
                                                 source=src_label(rec))))
            t = t_and(relevant, started_ok)
            note = f"{label} started {rec.start or '(date not recorded)'}; must be on or before {limit}"
            when_q = (f"the start date of {label}" if began is None else
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
                    began = _le(rec.start.earliest, rec.start.latest, anchor)
                else:
                    # no start: the course began on or before its last dose, perhaps after the anchor (N1);
                    # it counts only when a known day of it -- the last dose -- is on or before the anchor
                    began = T if _le(last[0], last[1], anchor) == T else U
                    if began == U:
                        when_q = (f"the start date of {label} (not recorded; it may have begun after "
                                  f"{window.anchor}, {anchor}: its last dose is not known to be before)")
                if end_lo is None:
                    # the half-life part is unknown: decided only if the fixed part already covers the anchor
                    fixed = tuple(d for d in durations if d.unit != "half-life")
                    f_end, _ = _window_length_end(last[0], fixed, None, washout=washout) if fixed else (None, "")
                    t = t_and(began, T) if f_end is not None and f_end >= limit else U
                    note = f"{label}: last dose {last[0]}; half-life of {drug_id or label} unknown"
                    when_q = f"the half-life of {drug_id or label} (not in the drug catalog)"
                    if f_end is not None:
                        note += (f"; the fixed part of the washout alone runs to {f_end}"
                                 + (f", on or after {limit} ({window.anchor})" if f_end >= limit
                                    else f", before {anchor} ({window.anchor}): the half-life decides"))
                else:
                    # inside the window while anchor <= end (the washout has not run out by the anchor)
                    t = t_and(began, _ge(end_lo, end_hi, limit))
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
    return _exists(ctx, results, "therapies", what, fact, later=later)


def _kind_question(rec: Any, drug_id: str | None, label: str, what: str) -> str:
    """What would tell whether a therapy record is a ``what`` (D3: a drug the catalog does not know)."""
    if rec.drug and drug_id is None:
        return (f"whether {rec.drug} is {what}: the drug is not in the drug catalog (its own classes cannot "
                f"rule {what} out)")
    if not rec.drug and rec.investigational and not rec.classes:
        return f"which drug the investigational agent was (whether it is {what})"
    return f"which drug the record {label} names (whether it is {what})"


# ---- participation in other studies -----------------------------------------------------------------

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
