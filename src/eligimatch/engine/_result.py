"""What :func:`eligimatch.match` returns, and how it explains itself.

Pydantic models, so that ``result.model_dump_json()`` is the same report for a
screening service as ``result.explain()`` is for a person.
"""

from __future__ import annotations

import datetime as _dt
import sys
from enum import Enum
from contextvars import ContextVar
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from eligimatch.logic import Cause
from eligimatch.engine._reasons import reason_code_schema

#: The version of the result, patient, screening-record and trial-summary JSON formats
#: (``eligimatch schema NAME``); a document carries it as ``schema_version``.
SCHEMA_VERSION = "1"

__all__ = ["Verdict", "Outcome", "Evidence", "MissingFact", "CriterionResult", "CohortResult", "MatchResult", "SCHEMA_VERSION",
           "EvidenceRecord", "make_evidence", "evidence_model"]


class Verdict(str, Enum):
    """The answer for one patient and one trial (or cohort).

    ``MATCH``: every inclusion is met and no exclusion applies, on the data given.
    ``NO_MATCH``: some criterion decides against, on data that could be checked.
    ``UNKNOWN``: nothing decides against, but some criterion cannot be decided — missing, stale,
    ambiguous or conflicting data, or a judgment only the investigator can make; the result's
    ``missing`` says which facts would settle it.  Unknown is never a no.

        >>> Verdict("no_match") is Verdict.NO_MATCH
        True
    """

    MATCH = "match"
    NO_MATCH = "no_match"
    UNKNOWN = "unknown"


class Outcome(str, Enum):
    """The three-valued outcome of one criterion's expression.

    >>> from eligimatch import Outcome
    >>> tuple(o.value for o in Outcome)
    ('true', 'false', 'unknown')
    """

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, use_enum_values=False)


class Evidence(_Out):
    """One fact used to reach an outcome: the value as recorded, how it was converted, against what.

    >>> import datetime, eligimatch
    >>> trial = eligimatch.load_trial("examples/trials/NCT05621486.elig")
    >>> with open("examples/patients/nct05621486-match-si.json", encoding="utf-8") as f:
    ...     patient = eligimatch.load_patient(f.read())
    >>> result = eligimatch.match(patient, trial, as_of=datetime.date(2026, 3, 1))
    >>> evidence = result.criteria[1].evidence[0]
    >>> evidence.code, evidence.note
    ('in_range', 'age 58 years (completed) is between 18 and 70 years inclusive (born 1967-09-14, on 2026-03-01)')
    """

    fact: str = Field(description="The fact, lab or record, e.g. 'anc' or 'condition malignancy'.")
    code: str = Field(description="Reason code (eligimatch.ReasonCode), e.g. 'threshold_met', "
                                  "'record_found', 'absent_history_complete'.",
                      json_schema_extra=reason_code_schema())
    note: str = Field(description="One readable line.")
    value: float | int | bool | str | None = None
    unit: str | None = None
    converted: float | None = None
    converted_unit: str | None = None
    threshold: str | None = None
    reference: str | None = None
    date: _dt.date | None = None
    source: str | None = None
    passes_on: _dt.date | None = Field(default=None, description="For a criterion failing only on time: the first date it would pass.")


class MissingFact(_Out):
    """A fact whose value would settle an UNKNOWN.

    >>> import datetime, eligimatch
    >>> trial = eligimatch.load_trial("examples/trials/NCT05621486.elig")
    >>> with open("examples/patients/nct05621486-unknown.json", encoding="utf-8") as f:
    ...     patient = eligimatch.load_patient(f.read())
    >>> missing = eligimatch.match(patient, trial, as_of=datetime.date(2026, 3, 1)).missing[0]
    >>> missing.fact, missing.detail, missing.criteria, missing.cause.value
    ('tumor_bt001', 'BT-001 expression on the tumour (IHC)', ('I5c',), 'missing')
    """

    fact: str
    detail: str
    cause: Cause = Cause.MISSING
    criteria: tuple[str, ...] = ()


class CriterionResult(_Out):
    """The outcome of one criterion for one patient: whether it is met, why (evidence), and what is missing.

    >>> import datetime, eligimatch
    >>> trial = eligimatch.load_trial("examples/trials/NCT05621486.elig")
    >>> with open("examples/patients/nct05621486-match-si.json", encoding="utf-8") as f:
    ...     patient = eligimatch.load_patient(f.read())
    >>> criterion = eligimatch.match(patient, trial, as_of=datetime.date(2026, 3, 1)).criteria[1]
    >>> criterion.id, criterion.kind, criterion.outcome.value, criterion.met
    ('I2', 'inclusion', 'true', True)
    """

    id: str
    kind: str = Field(description="'inclusion' or 'exclusion'.")
    text: str | None = Field(description="The protocol's own sentence.")
    cohort: str | None = None
    outcome: Outcome = Field(description="Truth of the criterion's expression.")
    met: bool | None = Field(description="Whether the patient satisfies this criterion (an exclusion is met when FALSE); None if unknown.")
    causes: tuple[Cause, ...] = ()
    reasons: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[MissingFact, ...] = ()
    line: int = 0


class CohortResult(_Out):
    """The verdict of one cohort (a group of criteria a patient may enter by) of a trial."""

    id: str
    title: str | None
    verdict: Verdict
    deciding: tuple[str, ...] = ()
    missing: tuple[MissingFact, ...] = ()


class MatchResult(_Out):
    """What :func:`eligimatch.match` returns: the verdict for one patient and one trial, explained.

    ``verdict`` is MATCH, NO_MATCH or UNKNOWN; ``deciding`` names the criteria that decided it;
    ``criteria`` holds one :class:`CriterionResult` per criterion with its evidence (the patient's value
    used, converted, dated, from which record, against what threshold); ``missing`` lists the facts
    that would settle an UNKNOWN, most useful first.  ``explain()`` renders it for a person,
    ``model_dump_json()`` for a program (its JSON Schema: ``eligimatch schema result``).

        >>> import datetime, eligimatch
        >>> trial = eligimatch.load_trial("examples/trials/NCT03754764.elig")
        >>> patient = eligimatch.load_patient(open("examples/patients/nct03754764-match.json").read())
        >>> result = eligimatch.match(patient, trial, as_of=datetime.date(2026, 3, 1))
        >>> result.verdict
        <Verdict.MATCH: 'match'>
        >>> result.schema_version
        '1'
    """

    schema_version: str = Field(default=SCHEMA_VERSION, description="The version of this JSON format.")
    trial_id: str | None
    title: str | None
    patient_id: str | None
    as_of: _dt.date
    anchors: dict[str, _dt.date] = Field(description="The dates used for each named anchor.")
    anchors_defaulted: tuple[str, ...] = Field(default=(), description="Anchors that fell back to the evaluation date.")
    verdict: Verdict
    deciding: tuple[str, ...] = Field(default=(), description="Criteria that decided a NO_MATCH, or left it UNKNOWN.")
    criteria: tuple[CriterionResult, ...]
    missing: tuple[MissingFact, ...] = Field(default=(), description="Facts that would settle the unknowns, most useful first.")
    review: tuple[str, ...] = Field(default=(), description="Criteria only the investigator can decide.")
    excluded_unless: tuple[str, ...] = Field(
        default=(), description="Exclusions whose data part is met, pending only the investigator's judgment of "
                                "an exception: the patient is excluded unless the investigator judges otherwise.")
    cohorts: tuple[CohortResult, ...] = ()
    matched_cohorts: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    policy: str = "strict"
    decided: tuple[str, ...] = Field(default=(), description="Criteria settled by the investigator's recorded "
                                                             "decision (screening record).")
    decisions_invalidated: tuple[str, ...] = Field(
        default=(), description="Criteria whose recorded decision no longer applies: the data it saw changed.")

    def criterion(self, cid: str) -> CriterionResult:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def explain(self) -> str:
        """A readable report: the verdict, then one block per criterion, one line per fact."""
        from eligimatch.engine._explain import render_report

        return render_report(self)


def _slot_setter(name: str) -> Any:
    """The setter of one of BaseModel's instance slots (``__dict__``, ``__pydantic_fields_set__``, ...)."""
    slot = BaseModel.__dict__.get(name)
    if slot is not None and hasattr(slot, "__set__"):
        return slot.__set__
    return lambda obj, value: object.__setattr__(obj, name, value)  # pragma: no cover - another pydantic layout


_set_dict = _slot_setter("__dict__")
_set_fields_set = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")


def _check_plain(cls: type[BaseModel]) -> dict[str, Any]:
    """The defaults of ``cls``'s fields, in order, after checking that nothing but them needs setting;
    a dict that shares its keys with ``cls`` (:func:`_key_sharing`)."""
    template: dict[str, Any] = {}
    for name, f in cls.model_fields.items():
        if f.alias is not None or f.validation_alias is not None or f.default_factory is not None:
            raise TypeError(f"{cls.__name__}.{name}: aliases and default factories need model_construct")
        template[name] = None if f.is_required() else f.default
    if cls.__pydantic_post_init__ is not None or cls.__pydantic_root_model__:
        raise TypeError(f"{cls.__name__}: a post-init or root model needs model_construct")
    return _key_sharing(cls, template)


def _key_sharing(cls: type[BaseModel], template: dict[str, Any]) -> dict[str, Any]:
    """``template`` as a key-sharing dict of ``cls`` (CPython's split table: the keys kept once, by the class,
    each instance holding only its values), made by setting the attributes of a bare instance in order.

    A copy of it, given the same keys again (``d[k] = v``, ``update``), stays one: with eleven keys or more,
    about 30 % smaller than a dict literal of the same items (337 against 473 bytes allocated on CPython
    3.11) and as fast to fill.  A result holds one per criterion and evidence; a record of 100 trials is
    several MB, alive while it is made, and the smaller it is the more of it stays in the CPU's cache
    (docs/performance.md).  A small model's values array is larger than its plain dict (the class's keys
    leave room for 30), and an interpreter may not share keys: then ``template`` is returned as it is.
    Either way only the memory differs.
    """
    probe = cls.__new__(cls)
    try:
        for name, value in template.items():
            object.__setattr__(probe, name, value)
        shared = probe.__dict__
    except (AttributeError, TypeError):  # pragma: no cover - another pydantic layout
        return template
    if list(shared.items()) != list(template.items()):  # pragma: no cover - not an insertion-ordered dict
        return template
    return shared if sys.getsizeof(shared.copy()) < sys.getsizeof(template.copy()) else template


def _maker(cls: type[BaseModel], all_set: bool = False) -> Any:
    """A constructor for trusted data, equivalent to ``cls.model_construct(**values)``.

    The evaluator builds tens of these models per patient and trial; pydantic's
    ``model_construct`` walks every field and its aliases on each call, which
    dominated the cost of :func:`eligimatch.match`.  These models have no
    aliases, no default factories and no post-init, so the field walk is done
    once here: a template of the defaults, in field order, updated with the
    values given; the instance slots are set as ``model_construct`` sets them.
    Only the evaluator's own code calls these, with valid names.
    ``all_set``: every field counts as set (``model_fields_set``), as when each is passed.
    """
    template = _check_plain(cls)
    new = cls.__new__
    copy = template.copy
    names = frozenset(template)

    def make(**values: Any) -> Any:
        m = new(cls)
        d = copy()
        if not names.issuperset(values):  # as model_construct: what is not a field is ignored
            values = {k: v for k, v in values.items() if k in names}
        d.update(values)
        _set_dict(m, d)
        _set_fields_set(m, set(names if all_set else values))
        _set_extra(m, None)
        _set_private(m, None)
        return m

    make.__name__ = make.__qualname__ = f"make_{cls.__name__}"
    return make


_EVIDENCE_FIELDS = tuple(Evidence.model_fields)


class EvidenceRecord(NamedTuple):
    """One :class:`Evidence` as a plain tuple with the same fields, in its order (checked below).

    While an evaluation explains only some criteria (``match(..., evidence="deciding" | "none")``) the
    evaluators' :func:`make_evidence` writes these; a pydantic :class:`Evidence` is made from one
    (:func:`evidence_model`) only for the criteria whose evidence the caller asked for.
    """

    fact: str
    code: str
    note: str
    value: float | int | bool | str | None = None
    unit: str | None = None
    converted: float | None = None
    converted_unit: str | None = None
    threshold: str | None = None
    reference: str | None = None
    date: _dt.date | None = None
    source: str | None = None
    passes_on: _dt.date | None = None


if EvidenceRecord._fields != _EVIDENCE_FIELDS:  # pragma: no cover - a field added to one and not the other
    raise TypeError(f"EvidenceRecord fields {EvidenceRecord._fields} are not Evidence's {_EVIDENCE_FIELDS}")


class _FieldsSet(set):  # type: ignore[type-arg]
    """The ``model_fields_set`` of a result the evaluator makes with every field given: one set per model
    class, shared by every instance, instead of a copy each.  A set of a dozen names takes 728 bytes: a copy
    for each criterion, evidence and missing fact was some 45 KB a patient and trial, and a record of 100
    trials (several MB, alive while it is made) no longer fitted the CPU's cache (docs/performance.md).
    The results are frozen, so pydantic never adds to it; changing it in place raises, and a copy
    (``model_copy``, ``copy.copy``, a pickle) is a plain set of its own."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("the model_fields_set of an eligimatch result is shared and read-only; copy it first")

    add = discard = remove = pop = clear = update = _refuse
    difference_update = intersection_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: Any) -> set[str]:
        return set(self)

    def __reduce__(self) -> Any:
        return (set, (list(self),))


_tuple_new = tuple.__new__
_new_evidence = Evidence.__new__
_evidence_dict = _check_plain(Evidence).copy  # a key-sharing dict (see _key_sharing)
_ALL_EVIDENCE_FIELDS = _FieldsSet(_EVIDENCE_FIELDS)

#: True while an evaluation builds evidence for only some criteria (``evidence="deciding"``/``"none"``):
#: the evaluators' evidence is then a plain :class:`EvidenceRecord`, made an :class:`Evidence` at the edge
#: for the criteria asked for; otherwise (every criterion explained, the default) it is the
#: :class:`Evidence` itself, made once.  Set by :func:`eligimatch.engine._matching.evaluate` for the span
#: of one evaluation (a context variable: each thread and task has its own); a worker of ``screen_many``
#: sets it for its whole chunk, since it sends the rows to the caller as plain tuples
#: (:mod:`eligimatch.screening._wire`) and makes no result object.
records_only: ContextVar[bool] = ContextVar("eligimatch_evidence_records_only", default=False)
_records_only = records_only.get


def make_evidence(fact: str, code: str, note: str, value: Any = None, unit: str | None = None,
                  converted: float | None = None, converted_unit: str | None = None, threshold: str | None = None,
                  reference: str | None = None, date: _dt.date | None = None, source: str | None = None,
                  passes_on: _dt.date | None = None, **ignored: Any) -> EvidenceRecord | Evidence:
    """The evaluators' evidence: an :class:`Evidence`, or its plain :class:`EvidenceRecord` while
    :data:`records_only` is set (what is not a field of Evidence is ignored, as ``model_construct`` does)."""
    values = (fact, code, note, value, unit, converted, converted_unit, threshold, reference, date, source,
              passes_on)
    if _records_only():
        return _tuple_new(EvidenceRecord, values)
    return _evidence_of(values)


def _evidence_of(values: tuple) -> Evidence:
    """An :class:`Evidence` of its field values, in order, every field counted as set."""
    m = _new_evidence(Evidence)
    d = _evidence_dict()  # filled in field order, so that it stays key-sharing
    (d["fact"], d["code"], d["note"], d["value"], d["unit"], d["converted"], d["converted_unit"], d["threshold"],
     d["reference"], d["date"], d["source"], d["passes_on"]) = values
    _set_dict(m, d)
    _set_fields_set(m, _ALL_EVIDENCE_FIELDS)
    _set_extra(m, None)
    _set_private(m, None)
    return m


if (tuple(make_evidence.__code__.co_varnames[:len(_EVIDENCE_FIELDS)]) != _EVIDENCE_FIELDS
        or tuple(make_evidence("f", "review", "n").__dict__) != _EVIDENCE_FIELDS):  # pragma: no cover
    raise TypeError("make_evidence's parameters and the Evidence it makes are not Evidence's fields, in order")



def evidence_model(record: EvidenceRecord | Evidence) -> Evidence:
    """The pydantic :class:`Evidence` of a record (every field counted as set, as before records existed)."""
    if record.__class__ is not EvidenceRecord:
        return record  # type: ignore[return-value]
    return _evidence_of(record)


make_cohort = _maker(CohortResult)
make_match = _maker(MatchResult)

_CRITERION_FIELDS = ("id", "kind", "text", "cohort", "outcome", "met", "causes", "reasons", "evidence", "missing",
                     "line")
if tuple(_check_plain(CriterionResult)) != _CRITERION_FIELDS:  # criterion_row below spells them out
    raise TypeError(f"CriterionResult fields are {tuple(CriterionResult.model_fields)}, not {_CRITERION_FIELDS}")


def criterion_row(id: str, kind: str, text: str | None, cohort: str | None, outcome: Outcome, met: bool | None,
                  causes: tuple, reasons: tuple, evidence: tuple, missing: tuple, line: int) -> CriterionResult:
    """A :class:`CriterionResult` with every field given, positionally: the hottest constructor of :func:`match`."""
    m = _new_criterion(CriterionResult)
    d = _criterion_dict()  # filled in field order, so that it stays key-sharing
    (d["id"], d["kind"], d["text"], d["cohort"], d["outcome"], d["met"], d["causes"], d["reasons"], d["evidence"],
     d["missing"], d["line"]) = (id, kind, text, cohort, outcome, met, causes, reasons, evidence, missing, line)
    _set_dict(m, d)
    _set_fields_set(m, _CRITERION_FIELDS_SET)
    _set_extra(m, None)
    _set_private(m, None)
    return m


_new_criterion = CriterionResult.__new__
_criterion_dict = _check_plain(CriterionResult).copy
_CRITERION_FIELDS_SET = _FieldsSet(_CRITERION_FIELDS)

_new_missing = MissingFact.__new__
_MISSING_FIELDS = ("fact", "detail", "cause", "criteria")
_MISSING_FIELDS_SET = _FieldsSet(_MISSING_FIELDS)
if tuple(_check_plain(MissingFact)) != _MISSING_FIELDS:  # missing_row below spells them out
    raise TypeError(f"MissingFact fields are {tuple(MissingFact.model_fields)}, not {_MISSING_FIELDS}")


def missing_row(fact: str, detail: str, cause: Any, criteria: tuple[str, ...]) -> MissingFact:
    """A :class:`MissingFact` with every field given, positionally (as ``model_construct`` with all four)."""
    m = _new_missing(MissingFact)
    _set_dict(m, {"fact": fact, "detail": detail, "cause": cause, "criteria": criteria})
    _set_fields_set(m, _MISSING_FIELDS_SET)
    _set_extra(m, None)
    _set_private(m, None)
    return m
