"""Evaluate compiled predicates against one patient.

The compiler (:mod:`eligimatch.engine._compile`) turns each predicate of the AST into a
closure that calls one of the ``eval_*`` functions here with everything that
could be resolved ahead of time (catalog entries, conversion targets, window
lengths).  At run time a :class:`Context` holds the patient, the evaluation
date, the anchors' dates and an index of the patient's records.

Every evaluator returns an ``R`` tuple ``(truth, causes, missing, evidence)``:
``truth`` a :class:`~eligimatch.logic.Truth`, ``causes`` a
:class:`~eligimatch.logic.CauseFlag` (empty unless UNKNOWN), ``missing`` a tuple
of :class:`Missing` (``fact``, ``detail``, ``cause``: what becomes a
:class:`~eligimatch.engine._result.MissingFact` of the criterion's result) that would settle an UNKNOWN, and
``evidence`` a tuple of :class:`~eligimatch.engine._result.Evidence`.

Numbers are compared as binary floats with a relative tolerance of 1e-9: two
values that agree to nine significant digits are equal, so ``1.8 <= 1.5 x 1.2``
holds although ``1.5 * 1.2 == 1.7999999999999998`` in floating point.  A unit
conversion never moves a value by more than a few parts in 10^16, far inside
that tolerance, while clinically distinct values (221.0 vs 221.004 µmol/L)
stay distinct.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import weakref
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from eligimatch.knowledge._ages import age_bounds, interval_truth
from eligimatch.knowledge._dates import PartialDate
from eligimatch.knowledge._dates import window_start as window_start_of  # the one window arithmetic of every kind of record
from eligimatch.knowledge._tolerance import ABS_TOL, REL_TOL, compare
from eligimatch.logic import FLAG_VALUES, Cause, CauseFlag, Truth
from eligimatch.errors import UnitError
from eligimatch.errors import MissingAnchor  # noqa: F401  (defined in errors.py; importable from here as before)
from eligimatch.sources._patient import Condition, Fact, Observation, Patient, Procedure, Therapy
from eligimatch.knowledge._plausibility import age_problem, fact_date_problem, fact_value_problem, observation_problem, reference_problem
from eligimatch.engine._result import Evidence, make_evidence

__all__ = ["Policy", "Context", "PatientIndex", "compare", "REL_TOL"]


T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
NOFLAG = CauseFlag.NONE
_FLAGS = tuple(CauseFlag(i) for i in FLAG_VALUES)  # CauseFlag by value
_int_or = int.__or__
R = tuple  # (Truth, CauseFlag, tuple[Missing, ...], tuple[Evidence, ...])

_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "=": "=", "!=": "≠"}


@dataclass(frozen=True)
class Policy:
    """How to read what the profile does not say.

    ``assume_absent``: a condition, therapy or procedure with no record counts
    as absent even where the profile does not mark that history complete.  Every
    outcome that rests on such an assumption says so in its evidence.
    """

    assume_absent: bool = False

    @property
    def name(self) -> str:
        return "assume_absent" if self.assume_absent else "strict"




def fmt_num(x: float | int | None) -> str:
    if x.__class__ is float:  # the common case first
        return str(int(x)) if x.is_integer() else f"{x:.6g}"
    if x is None:
        return "?"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    return f"{x:.6g}"


def op_symbol(op: str) -> str:
    return _SYMBOLS.get(op, op)


def ev(fact: str, code: str, note: str, **kw: Any) -> Evidence:
    return make_evidence(fact=fact, code=code, note=note, **kw)


_CAUSE_OF = {c.value: c for c in Cause}


class Missing(NamedTuple):
    """A fact whose value would settle an UNKNOWN, as the evaluators pass it up: :func:`eligimatch.match`
    makes it a :class:`~eligimatch.engine._result.MissingFact` naming the criterion, if it survives the logic
    (an UNKNOWN operand of a decided ``or`` leaves no missing fact)."""

    fact: str
    detail: str
    cause: Cause


def missing(fact: str, detail: str, cause: str = "missing") -> Missing:
    return Missing(fact, detail, _CAUSE_OF[cause])


def unknown(flag: CauseFlag, miss: tuple = (), evidence: tuple = ()) -> R:
    return (U, flag, miss, evidence)


def src_label(record: Any) -> str | None:
    s = getattr(record, "source", None)
    return s.label() if s is not None else None


# ---- the patient, indexed once per evaluation ---------------------------------------------

_MISS = object()


class _Memo:
    """What one (immutable) catalog bundle answers for the names and codes records use, remembered
    across patients: a screening run meets the same few spellings again and again, and resolving a
    name (Unicode normalisation, synonyms, code ranges) costs far more than looking it up here.

    Bounded: when the table reaches ``LIMIT`` entries it starts afresh, so memory stays flat
    whatever the input.  Entries are pure functions of the catalogs, so sharing between threads is
    safe (at worst two threads compute the same answer).
    """

    LIMIT = 20_000
    __slots__ = ("table",)

    def __init__(self) -> None:
        self.table: dict[tuple, Any] = {}

    def __call__(self, key: tuple, compute: Callable[..., Any], *args: Any) -> Any:
        hit = self.table.get(key, _MISS)
        if hit is _MISS:
            hit = compute(*args)
            if len(self.table) >= self.LIMIT:
                self.table.clear()
            self.table[key] = hit
        return hit


_MEMOS: dict[int, tuple[Any, _Memo]] = {}  # id(catalogs) -> (weak reference, memo)


def _memo_for(catalogs: Any) -> _Memo:
    key = id(catalogs)
    hit = _MEMOS.get(key)
    if hit is not None and hit[0]() is catalogs:
        return hit[1]
    memo = _Memo()
    try:
        ref = weakref.ref(catalogs)
    except TypeError:  # an object that cannot be weakly referenced: no memo across patients
        return memo
    _MEMOS[key] = (ref, memo)
    weakref.finalize(catalogs, _MEMOS.pop, key, None)
    return memo


def _resolve_record(catalog: Any, code: str | None, name: str | None) -> Any:
    """The concept of a record: its code's, unless its name names a narrower concept below it
    (``C91.00`` is any ALL; "precursor B-cell acute lymphoblastic leukemia" says which)."""
    by_code = catalog.resolve(code) if code else None
    by_name = catalog.resolve(name) if name else None
    if by_code is None:
        return by_name
    if by_name is not None and by_name.id != by_code.id and catalog.is_a(by_name.id, by_code.id):
        return by_name
    return by_code


def _newest_first(o: Observation) -> tuple:
    return (o.date is not None, o.date or _dt.date.min)


class PatientIndex:
    """The patient's records, resolved against the catalogs once and reused across trials."""

    def __init__(self, patient: Patient, catalogs: Any):
        self.patient = patient
        self.catalogs = catalogs
        self.warnings: list[str] = list(getattr(patient, "coercions", ()))
        self._memo = memo = _memo_for(catalogs)
        known = memo.table.get  # the common case inline; memo() resolves and remembers the rest
        obs: dict[str, list[Observation]] = {}
        for i, o in enumerate(patient.observations):
            key = ("analyte", o.analyte)
            a = known(key, _MISS)
            if a is _MISS:
                a = memo(key, catalogs.analytes.resolve, o.analyte)
            if a is None:
                self.warnings.append(f"observations.{i}: analyte {o.analyte!r} is not in the analyte catalog; ignored")
                continue
            lst = obs.get(a.id)
            if lst is None:
                obs[a.id] = [o]
            else:
                lst.append(o)
        # Newest first; undated results last.
        for lst in obs.values():
            if len(lst) > 1:
                lst.sort(key=_newest_first, reverse=True)
        self.observations = obs
        self.conditions: list[tuple[Condition, Any]] = []
        for i, c in enumerate(patient.conditions):
            concept = memo(("condition", c.code, c.name), _resolve_record, catalogs.conditions, c.code, c.name)
            if concept is None:
                self.warnings.append(f"conditions.{i}: {c.name or c.code!r} is not in the condition catalog")
            self.conditions.append((c, concept))
        self.procedures: list[tuple[Procedure, Any]] = []
        for i, p in enumerate(patient.procedures):
            concept = memo(("procedure", p.code, p.name), _resolve_record, catalogs.procedures, p.code, p.name)
            if concept is None:
                self.warnings.append(f"procedures.{i}: {p.name or p.code!r} is not in the procedure catalog")
            self.procedures.append((p, concept))
        self.therapies: list[tuple[Therapy, str | None]] = []
        for i, t in enumerate(patient.therapies):
            drug_id = None
            if t.drug:
                d = memo(("drug", t.drug), catalogs.drugs.resolve, t.drug)
                if d is None:
                    self.warnings.append(f"therapies.{i}: drug {t.drug!r} is not in the drug catalog")
                else:
                    drug_id = d.id
            self.therapies.append((t, drug_id))
        for name in patient.facts:
            if not memo(("fact", name), catalogs.facts.__contains__, name):
                hint = catalogs.facts.suggest(name)
                self.warnings.append(f"facts.{name}: not in the fact catalog"
                                     + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        self._match_cache: dict[tuple[int, str], Truth] = {}

    def therapy_matches(self, i: int, selector: str) -> Truth:
        """Whether therapy record ``i`` is a ``selector``: UNKNOWN when the record names a drug the
        catalog does not know, or only a class broader than the selector."""
        key = (i, selector)
        hit = self._match_cache.get(key)
        if hit is None:
            t, drug_id = self.therapies[i]
            classes = tuple(t.classes) + (("investigational_agent",) if t.investigational else ())
            drug = drug_id or t.drug
            status = self._memo(("match", drug, classes, selector), self.catalogs.drugs.match_status, drug, classes,
                                selector)
            hit = T if status is True else F if status is False else U
            self._match_cache[key] = hit
        return hit


class Context:
    """One evaluation: a patient, a date, the anchors' dates, a policy."""

    __slots__ = ("patient", "index", "as_of", "anchors", "policy", "catalogs", "default_recency", "fact_recency",
                 "starts")

    def __init__(self, index: PatientIndex, as_of: _dt.date, anchors: dict[str, _dt.date], policy: Policy,
                 default_recency: Any = None, fact_recency: Any = None):
        self.index = index
        self.patient = index.patient
        self.catalogs = index.catalogs
        self.as_of = as_of
        self.anchors = anchors
        self.policy = policy
        self.default_recency = default_recency
        self.fact_recency = fact_recency  # the trial's `facts within ...`
        self.starts: dict[Any, _dt.date] = {}  # window starts, computed once per evaluation

    def anchor(self, name: str) -> _dt.date:
        """The anchor's date; :class:`MissingAnchor` when it has none (not given, and no default)."""
        d = self.anchors.get(name)
        if d is None:
            raise MissingAnchor(name)
        return d


def anchor_unknown(name: str) -> R:
    """UNKNOWN for a predicate counted from an anchor that has no date, naming the date to give."""
    return unknown(CauseFlag.MISSING, (missing(f"anchor {name}", f"the date of {name} (a trial anchor with no "
                                                                 f"default: give it with the evaluation)"),))


def window_start(ctx: Context, amount: float, unit: str, anchor: str) -> _dt.date:
    """First day of "within ``amount`` ``unit`` before ``anchor``" (:func:`eligimatch.knowledge._dates.window_start`,
    saturating at year 1), remembered for the evaluation.  Results, conditions, procedures, doses and
    therapy courses all take their window from here; washouts from its inverse, ``dates.window_end``."""
    key = (amount, unit, anchor)
    start = ctx.starts.get(key)
    if start is None:  # every lab of a trial shares the default recency window: compute it once
        start = ctx.starts[key] = window_start_of(ctx.anchor(anchor), int(amount), unit, saturate=True)
    return start


_VERB = {"conditions": "has or had", "therapies": "received", "procedures": "underwent", "studies": "took part in"}


def _absence(ctx: Context, history: str, what: str, fact: str, other: bool = False) -> R:
    """No matching record: FALSE if the history is complete (or assumed so), else UNKNOWN.

    ``other``: records of the concept exist but do not count (outside the window, or failing `where`).
    The answer depends on nothing else, and is immutable: it is built once and shared.
    """
    key = (history, what, fact, other, getattr(ctx.patient.complete, history), ctx.policy.assume_absent)
    hit = _ABSENCES.get(key)
    if hit is None:
        hit = _absence_of(ctx, history, what, fact, other)
        if len(_ABSENCES) >= 4096:
            _ABSENCES.clear()
        _ABSENCES[key] = hit
    return hit


_ABSENCES: dict[tuple, R] = {}


def _absence_of(ctx: Context, history: str, what: str, fact: str, other: bool) -> R:
    none = "no other record" if other else "no record"
    if getattr(ctx.patient.complete, history):
        return (F, NOFLAG, (), (ev(fact, "absent_history_complete",
                                    f"{none} of {what}; the {history} history is marked complete"),))
    if ctx.policy.assume_absent:
        return (F, NOFLAG, (), (ev(fact, "absent_assumed",
                                    f"{none} of {what}; assumed absent by policy (history not marked complete)"),))
    return unknown(CauseFlag.MISSING, (missing(fact, f"whether the patient {_VERB.get(history, 'has')} {what} "
                                                     f"({none}, and the {history} history is not marked complete)"),))


# ---- simple facts -------------------------------------------------------------------------

class _ScalarFact(NamedTuple):
    """What :meth:`Patient.fact` makes of a bare value (``"ecog": 1``), as the evaluators read it."""

    value: Any
    unit: None = None
    date: None = None
    source: None = None


def _fact(ctx: Context, name: str, label: str, recency: Any = None) -> Any:
    """The fact called ``name``, or the UNKNOWN it gives: not recorded, recorded after the evaluation date,
    or (under a recency window: the criterion's, else the trial's ``facts within ...``) undated or dated
    before the window (issue 18, D11: facts go stale)."""
    fact = ctx.patient.facts.get(name)
    if fact is None:
        return unknown(CauseFlag.MISSING, (missing(name, label),))
    window = recency if recency is not None else ctx.fact_recency
    if not isinstance(fact, Fact):  # a bare value: as Patient.fact(name) reads it, without building a model
        if window is not None:
            return _stale_fact(ctx, name, label, None, window)
        return _ScalarFact(fact)
    if fact.date is not None:
        problem = fact_date_problem(fact, ctx.as_of)
        if problem:
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: {problem}", "invalid"),))
    if window is not None:
        return _stale_fact(ctx, name, label, fact, window) or fact
    return fact


def _stale_fact(ctx: Context, name: str, label: str, fact: Fact | None, window: Any) -> R | None:
    """The UNKNOWN a fact gives under a recency window (undated, older, or a partial date that may be
    older), or None when it is recent enough."""
    start = ctx.starts.get(id(window))  # the window lives as long as the trial, longer than ctx
    if start is None:
        d = window.durations[0]
        start = ctx.starts[id(window)] = window_start(ctx, d.amount, d.unit, window.anchor)
    when = fact.date if fact is not None else None
    if when is not None and when.earliest >= start:
        return None
    wanted = f"{label}: a value recorded on or after {start} ({_window_text(window)})"
    if when is None:
        e = ev(name, "undated", f"{label} is recorded without a date: it cannot be shown to be recent "
                                f"({_window_text(window)})", value=_shown_value(fact), source=src_label(fact))
        return unknown(CauseFlag.STALE, (missing(name, wanted, "stale"),), (e,))
    if when.latest < start:
        e = ev(name, "stale", f"{label} was recorded {when}, before {start} ({_window_text(window)})",
               value=_shown_value(fact), date=_date_of(when), source=src_label(fact))
        return unknown(CauseFlag.STALE, (missing(name, wanted, "stale"),), (e,))
    e = ev(name, "indeterminate", f"{label} was recorded {when}: maybe before {start} ({_window_text(window)})",
           value=_shown_value(fact), source=src_label(fact))
    return unknown(CauseFlag.INDETERMINATE, (missing(name, f"{label}: the exact date of the value recorded {when}",
                                                     "indeterminate"),), (e,))


def _shown_value(fact: Fact | None) -> Any:
    return fact.value if fact is not None else None


def _recorded(fact: Any) -> str:
    """" (recorded 2026-02-20)" after a dated fact's value in a note; nothing for an undated one."""
    d = getattr(fact, "date", None)
    return f" (recorded {d})" if d is not None else ""


def eval_bool_fact(ctx: Context, name: str, label: str, recency: Any = None) -> R:
    fact = _fact(ctx, name, f"{label} (yes/no)", recency)
    if fact.__class__ is tuple:
        return fact
    if fact.__class__ is _ScalarFact and fact.value.__class__ is bool:
        # a bare yes/no: two possible answers per fact, immutable, built once and shared
        key = (name, label, fact.value)
        hit = _BOOL_ANSWERS.get(key)
        if hit is None:
            hit = _bool_answer(name, label, fact)
            if len(_BOOL_ANSWERS) >= 4096:
                _BOOL_ANSWERS.clear()
            _BOOL_ANSWERS[key] = hit
        return hit
    return _bool_answer(name, label, fact)


_BOOL_ANSWERS: dict[tuple, R] = {}


def _bool_answer(name: str, label: str, fact: Any) -> R:
    v = fact.value
    if isinstance(v, str) and v.lower() in ("yes", "true", "no", "false"):
        v = v.lower() in ("yes", "true")
    if not isinstance(v, bool):
        return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {v!r} is not yes/no", "invalid"),))
    e = ev(name, "fact_recorded", f"{label}: {'yes' if v else 'no'}{_recorded(fact)}", value=v,
           date=_date_of(fact.date), source=src_label(fact))
    return (T if v else F, NOFLAG, (), (e,))


def _date_of(d: Any) -> _dt.date | None:
    if d is None:
        return None
    if isinstance(d, PartialDate):
        return d.earliest if d.exact else None
    return d


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


def read_sex(ctx: Context) -> "tuple[str, dict] | R":
    if ctx.patient.sex is None:
        return unknown(CauseFlag.MISSING, (missing("sex", "sex (male or female)"),))
    return ctx.patient.sex, {}


def read_enum_fact(name: str, label: str, recency: Any = None,
                   fact_def: Any = None) -> Callable[[Context], "tuple[str, dict] | R"]:
    """An enum fact's recorded value as one of its declared values (``fact_def.canonical_value``: case,
    separators and declared synonyms such as reactive -> positive); any other value never decides:
    UNKNOWN (invalid), naming the allowed values (issue 18 D1)."""
    def read(ctx: Context) -> "tuple[str, dict] | R":
        fact = _fact(ctx, name, label, recency)
        if fact.__class__ is tuple:
            return fact
        if fact_def is None:
            return str(fact.value), {"date": _date_of(fact.date), "source": src_label(fact),
                                     "note_suffix": _recorded(fact)}
        value = fact_def.canonical_value(fact.value)
        if value is None:
            shown = f"{str(fact.value).lower()} (yes/no)" if isinstance(fact.value, bool) else repr(fact.value)
            why = f"{label}: recorded value {shown} is not one of the allowed values: {fact_def.allowed_text()}"
            return unknown(CauseFlag.INVALID, (missing(name, why, "invalid"),),
                           (ev(name, "invalid_value", why, value=fact.value, date=_date_of(fact.date),
                               source=src_label(fact)),))
        spelled = f" (recorded as {fact.value!r})" if value != fact.value else ""
        return value, {"date": _date_of(fact.date), "source": src_label(fact),
                       "note_suffix": spelled + _recorded(fact)}
    return read


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


def read_number_fact(name: str, label: str, fact_unit: str | None, target_unit: str | None,
                     factor_of: Callable[[str, str], float] | None, recency: Any = None) -> ReadFn:
    """A numeric fact, converted to the threshold's unit when the fact records a unit."""
    factors: dict[tuple[str, str], float | str] = {}  # remembered conversion factors (or the error's text)

    def factor(src: str, dst: str) -> float:
        hit = factors.get((src, dst))
        if hit is None:
            try:
                hit = factor_of(src, dst)
            except Exception as exc:  # our UnitError, with a message for people
                hit = str(exc)
            if len(factors) >= 512:
                factors.clear()
            factors[(src, dst)] = hit
        if hit.__class__ is str:
            raise UnitError(hit)
        return hit

    def read(ctx: Context) -> Reading | R:
        fact = _fact(ctx, name, label, recency)
        if fact.__class__ is tuple:
            return fact
        v = fact.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {v!r} is not a number",
                                                       "invalid"),))
        unit = fact.unit
        if unit is None and fact_unit:  # never given the catalog's unit: 12 is not "12 months" (issue 18 D7)
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {fmt_num(v)} has no unit; "
                                                             f"give it with one, e.g. "
                                                             f'{{"value": {fmt_num(v)}, "unit": "{fact_unit}"}}',
                                                       "invalid"),))
        if unit is not None and not fact_unit and unit.strip() not in ("", "1"):  # D16: not silently dropped
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded with the unit {unit!r}, but it is "
                                                             f"a plain number", "invalid"),))
        if not fact_unit:
            unit = None
        value = float(v)
        # bounds of the catalog (ecog 0..5, a whole number), in the catalog's unit
        try:
            own = value * factor(unit, fact_unit) if unit and fact_unit and unit != fact_unit else value
        except Exception as exc:  # our UnitError, with a message for people
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: {exc}", "invalid"),))
        problem = fact_value_problem(ctx.index._memo(("fact_def", name), ctx.catalogs.facts.resolve, name), own)
        if problem:
            return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {problem}", "invalid"),))
        if target_unit and unit and unit != target_unit and factor_of is not None:
            try:
                value = value * factor(unit, target_unit)
            except Exception as exc:  # our UnitError, with a message for people
                return unknown(CauseFlag.INVALID, (missing(name, f"{label}: {exc}", "invalid"),))
        return Reading(value, {"value": v, "unit": unit, "converted": value, "converted_unit": target_unit,
                               "date": _date_of(fact.date), "source": src_label(fact),
                               "note_suffix": _recorded(fact)})
    return read


# ---- observations (labs, vitals, scores) ---------------------------------------------------------

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
    k = 0
    for k, o in enumerate(results):  # newest first, undated last
        if o.date is None:
            # an undated result cannot be shown to be current: never used
            return unknown(CauseFlag.STALE, (missing(analyte_id, f"{label}: a dated result (the recorded one "
                                                                 f"has no date)", "stale"),))
        if o.date <= ctx.as_of:
            chosen = o
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
        if chosen.date < start:
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
                key: Callable[[Observation], Any] = lambda o: _dt.datetime.combine(o.date, o.time)  # noqa: E731
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


def eval_reference_multiple(ctx: Context, analyte: Any, label: str, op: str, factor: float, limit: str,
                            recency: Any, factor_text: str, default_range: Any,
                            units: UnitFactors | None = None) -> R:
    """``value op factor x ULN`` (or LLN), using the result's own reference range, else the trial's default.

    ``units``: the analyte's remembered conversion factors (the compiler passes one per predicate)."""
    found = select_observations(ctx, analyte.id, label, recency)
    if not isinstance(found[0], Observation):
        return found  # an UNKNOWN
    if units is None:
        units = UnitFactors(analyte)
    if len(found) > 1:  # results of one date that may each be the latest, each with its own range
        return same_day(analyte.id, label, found, [
            _reference_answer(o, analyte, label, op, factor, limit, factor_text, default_range, units)
            for o in found])
    return _reference_answer(found[0], analyte, label, op, factor, limit, factor_text, default_range, units)


def _reference_answer(o: Observation, analyte: Any, label: str, op: str, factor: float, limit: str,
                      factor_text: str, default_range: Any, units: UnitFactors) -> R:
    # the result's own unit must apply to the analyte, although the comparison is made in it
    f = units(o.unit, analyte.unit) if o.unit is not None and o.unit != analyte.unit else 1.0
    if f.__class__ is str:
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {f}", "invalid"),))
    problem = observation_problem(analyte, o.value, o.unit)
    if problem:
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: {problem}", "invalid"),))
    rr = o.reference_range
    bound = None
    range_unit = None
    origin = "the result's reference range"
    if rr is not None:
        bound = rr.high if limit == "ULN" else rr.low
        range_unit = rr.unit or o.unit
    if bound is None and default_range is not None:
        bound = default_range[1] if limit == "ULN" else default_range[0]
        range_unit = default_range[2]
        origin = "the default reference range"
    if o.unit is None and not analyte.unit_free:
        # a result without a unit is never read, even against a range without a unit (issue 18 D7, N3): the
        # ratio would need no unit, but the value's plausibility cannot be checked without one (potassium 89.4
        # is impossible in mmol/L; with no unit it would have decided)
        against = (f"compared with {origin} (in {range_unit})" if range_unit is not None and bound is not None
                   else "checked for plausibility or compared with its reference range")
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} result of {o.date}: recorded without a "
                                                               f"unit, so it cannot be {against}: a unit is "
                                                               f"never assumed", "invalid"),))
    lname = "upper limit of normal" if limit == "ULN" else "lower limit of normal"
    if bound is None:
        return unknown(CauseFlag.MISSING, (missing(f"{analyte.id}.{limit.lower()}",
                                                   f"the {lname} for the {label} result of {o.date}"),))
    # the limit and its texts depend only on the range and the unit: laboratories repeat them, so they are
    # worked out once per predicate and remembered (the patient's value is compared below)
    key = (bound, range_unit, o.unit, origin)
    limits = units.limits
    hit = limits.get(key)
    if hit is None:
        hit = _reference_limit(analyte, label, op, factor, limit, factor_text, bound, range_unit, o.unit, origin,
                               units)
        if hit.__class__ is tuple and len(limits) >= UnitFactors.LIMIT:
            limits.clear()
        if hit.__class__ is tuple:
            limits[key] = hit
    if hit.__class__ is not tuple:  # the range cannot be used: the problem, in words
        return unknown(CauseFlag.INVALID, (missing(analyte.id, f"{label} reference range: {hit}", "invalid"),))
    threshold, th, ref, su_texts = hit
    ok = compare(o.value, op, threshold)
    su, th_field, ref_field = su_texts
    note = (f"{_squashed(label)} {fmt_num(o.value)}{su} {'meets' if ok else 'does not meet'} {th}{su} "
            f"({ref}{su} from {origin})")
    e = make_evidence(fact=analyte.id, code="threshold_met" if ok else "threshold_not_met", note=note,
                      value=o.value, unit=o.unit, converted=o.value, converted_unit=o.unit,
                      threshold=th_field, reference=ref_field, date=o.date, source=src_label(o))
    return (T if ok else F, NOFLAG, (), (e,))


def _reference_limit(analyte: Any, label: str, op: str, factor: float, limit: str, factor_text: str, bound: float,
                     range_unit: str | None, unit: str | None, origin: str, units: UnitFactors) -> tuple | str:
    """``factor x limit`` in the result's unit and its texts: (threshold, "≤ 1.5 x ULN = 1.8",
    "ULN 1.2", (unit as shown in a note, threshold field, reference field)); or why the range cannot be used."""
    f = units(range_unit or analyte.unit, unit or analyte.unit) if range_unit != unit else 1.0
    if f.__class__ is str:
        return f
    limit_value = bound * f
    problem = reference_problem(analyte, limit_value, limit)
    if problem:
        return problem
    threshold = factor * limit_value
    th = f"{op_symbol(op)} {factor_text} x {limit} = {fmt_num(threshold)}"
    ref = f"{limit} {fmt_num(limit_value)}"
    shown = unit or ""
    # in the note every run of whitespace is one space (as " ".join(note.split()) would make it)
    su = _squashed(shown)
    return threshold, th, ref, (f" {su}" if su else "", f"{th} {shown}".strip(), f"{ref} {shown}".strip())


_SQUASHED: dict[str, str] = {}


def _squashed(text: str) -> str:
    """``text`` with each run of whitespace as one space, and none at the ends (remembered, bounded)."""
    hit = _SQUASHED.get(text)
    if hit is None:
        hit = " ".join(text.split())
        if len(_SQUASHED) >= 4096:
            _SQUASHED.clear()
        _SQUASHED[text] = hit
    return hit


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
