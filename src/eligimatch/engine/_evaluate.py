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
import weakref
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from eligimatch.knowledge._dates import PartialDate
from eligimatch.knowledge._dates import window_start as window_start_of  # the one window arithmetic of every kind of record
from eligimatch.knowledge._tolerance import REL_TOL, compare
from eligimatch.logic import FLAG_VALUES, Cause, CauseFlag, Truth
from eligimatch.errors import MissingAnchor  # noqa: F401  (defined in errors.py; importable from here as before)
from eligimatch.sources._patient import Condition, Observation, Patient, Procedure, Therapy
from eligimatch.engine._result import Evidence, EvidenceRecord, make_evidence

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

    >>> import datetime, eligimatch
    >>> trial = eligimatch.load_trial("examples/trials/NCT05621486.elig")
    >>> with open("examples/patients/nct05621486-unknown.json", encoding="utf-8") as f:
    ...     patient = eligimatch.load_patient(f.read())
    >>> result = eligimatch.match(patient, trial, as_of=datetime.date(2026, 3, 1),
    ...                           policy=eligimatch.Policy(assume_absent=True))
    >>> result.policy
    'assume_absent'
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


def ev(fact: str, code: str, note: str, **kw: Any) -> EvidenceRecord | Evidence:
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


def indication_under(conditions_catalog: Any, indication: str | None, conditions: frozenset[str]) -> bool | None:
    """Is a therapy record's indication (a kind of) one of ``conditions``?  None when no indication is
    recorded, when it is not in the condition catalog, when it is broader than or overlaps one of them, or
    when a condition is unknown to the catalog: only a known indication decides."""
    if indication is None:
        return None
    concept = conditions_catalog.resolve(indication)
    if concept is None:
        return None
    try:
        kinds = [conditions_catalog.kind_of(concept.id, c) for c in sorted(conditions)]
    except KeyError:
        return None
    return True if any(k is True for k in kinds) else None if any(k is None for k in kinds) else False


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
        self.conditions: list[tuple[Condition, Any]] = self._concepts(patient.conditions, "condition",
                                                                       catalogs.conditions)
        self.procedures: list[tuple[Procedure, Any]] = self._concepts(patient.procedures, "procedure",
                                                                       catalogs.procedures)
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


    def _concepts(self, records: Any, domain: str, catalog: Any) -> list[tuple[Any, Any]]:
        """Each record (condition, procedure) with the concept of ``catalog`` its code or name denotes; None,
        and a warning naming the record, when it denotes none."""
        memo = self._memo
        out = []
        for i, r in enumerate(records):
            concept = memo((domain, r.code, r.name), _resolve_record, catalog, r.code, r.name)
            if concept is None:
                self.warnings.append(f"{domain}s.{i}: {r.name or r.code!r} is not in the {domain} catalog")
            out.append((r, concept))
        return out
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
            if status is None and drug_id is not None:
                # a drug in the class only for some indications (methotrexate is chemotherapy for a cancer)
                conditions = self._memo(("conditional", drug_id, selector), self.catalogs.drugs.conditions_for,
                                        drug_id, selector)
                if conditions:
                    status = self._memo(("indication", t.indication, conditions), indication_under,
                                        self.catalogs.conditions, t.indication, conditions)
            hit = T if status is True else F if status is False else U
            self._match_cache[key] = hit
        return hit


class Context:
    """One evaluation: a patient, a date, the anchors' dates, a policy.

    ``short_circuit``: the caller wants verdicts, not explanations (``evidence="none"``).  Then ``and``,
    ``or`` and ``at least N of`` stop at the first operands that decide them (a FALSE of an ``and``, a TRUE of
    an ``or``) and leave the others unevaluated: the truth, causes and missing facts are the same, the
    evidence holds only what was evaluated.
    """

    __slots__ = ("patient", "index", "as_of", "anchors", "policy", "catalogs", "default_recency", "fact_recency",
                 "starts", "short_circuit")

    def __init__(self, index: PatientIndex, as_of: _dt.date, anchors: dict[str, _dt.date], policy: Policy,
                 default_recency: Any = None, fact_recency: Any = None, *, short_circuit: bool = False):
        self.short_circuit = short_circuit
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


def _date_of(d: Any) -> _dt.date | None:
    if d is None:
        return None
    if isinstance(d, PartialDate):
        return d.earliest if d.exact else None
    return d


# ---- observations (labs, vitals, scores) ---------------------------------------------------------


