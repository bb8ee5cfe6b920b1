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
from collections.abc import Iterator
from typing import Any

from eligimatch.engine._evaluate import (
    NOFLAG,
    Context,
    F,
    T,
    U,
    _absence,
    _date_of,
    compare,
    ev,
    fmt_num,
    missing,
    src_label,
    unknown,
    window_start,
)
from eligimatch.knowledge._dates import PartialDate
from eligimatch.logic import CauseFlag, Truth, t_and, t_and2, t_not, t_or
from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import attr_norm, attr_number

__all__ = ["attr_truth", "yes_no"]

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


def _in_window(ctx: Context, d: PartialDate, w: P.Window) -> Truth:
    """Whether a recorded (possibly partial) date lies in the window ``[A - N, A]`` of ``w``: UNKNOWN when
    its precision straddles either end."""
    anchor = ctx.anchor(w.anchor)
    start = window_start(ctx, w.durations[0].amount, w.durations[0].unit, w.anchor)
    return t_and(_ge(d.earliest, d.latest, start), _le(d.earliest, d.latest, anchor))


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
    if isinstance(test, P.CodedTest):
        return _vocabulary_truth(test, actual)
    if isinstance(test, P.YesNoTest):
        # only a recognised yes/no decides: "unknown", 1, "Y" say nothing (D2)
        yes = yes_no(actual)
        if yes is None:
            return U
        return T if yes == test.expected else F
    op, values = test.op, test.values
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
        return T if compare(num, op, float(target.raw)) else F
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
    return t_and(*(t_or(*[_where(o, attrs) for o in t.options]) if isinstance(t, P.AnyTest)
                  else attr_truth(t, attrs) for t in tests))


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


class _RecordScan:
    """The records of a concept history (conditions, procedures) a criterion reads, in one pass.

    :meth:`records` yields each record that is (or may be: UNKNOWN) one of the selectors and is dated up to
    the evaluation date, with its label, its :func:`_kind` truth and the questions that truth raises; on the
    way it appends the evidence of an excepted record (FALSE) to ``results`` and counts the records not in
    the catalog (:attr:`unmapped`) and those dated after the evaluation date (:attr:`later`), which
    :func:`_exists` then weighs.
    """

    __slots__ = ("unmapped", "later")

    def __init__(self) -> None:
        self.unmapped = 0
        self.later = 0

    def records(self, ctx: Context, pairs: Any, cat: Any, selectors: tuple[str, ...], excepted: tuple[str, ...],
                fact: str, when: str, results: list[tuple]) -> Iterator[tuple[Any, Any, str, Truth, list[str]]]:
        """``(record, concept, label, kind truth, questions)`` for each record to decide; ``pairs``: the
        index's ``(record, concept or None)``; ``when``: the record's date field (``"onset"``, ``"date"``)."""
        for rec, concept in pairs:
            if concept is None:
                self.unmapped += 1
                continue
            label = rec.name or rec.code or ""  # the patient model refuses a record with neither
            kind = _kind(cat, concept.id, selectors, excepted, label)
            if kind is None:
                continue
            kind_t, questions = kind
            date = getattr(rec, when)
            if kind_t == F:
                results.append((F, ev(fact, "record_excepted", f"{label} ({concept.id}): excepted", value=label,
                                      date=_date_of(date), source=src_label(rec))))
                continue
            if _after(date, ctx.as_of):
                self.later += 1
                continue
            yield rec, concept, label, kind_t, questions


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


# ---- participation in other studies -----------------------------------------------------------------

