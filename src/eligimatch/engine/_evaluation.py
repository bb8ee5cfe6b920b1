"""The outcome of one match as plain records, and the pydantic :class:`MatchResult` made from it.

:func:`eligimatch.engine._matching.evaluate` reaches the verdict on plain
tuples: one :class:`Row` per criterion (its truth, cause flag, whether it is
met, its missing facts and the evaluators' evidence), one :class:`CohortRow`
per cohort, and an :class:`Evaluation` for the whole.  When only some criteria
are to be explained (``"deciding"``, ``"none"``) the evaluators' evidence is a
plain :class:`EvidenceRecord` and no pydantic object is made on the way; when
every criterion is (``"all"``, the default) it is the :class:`Evidence` itself,
made once (:data:`~eligimatch.engine._result.records_only`).
:meth:`Evaluation.result` makes the :class:`MatchResult` at the API edge, with
:class:`Evidence` for the criteria the evaluation was asked to explain:

* ``"all"`` (the default of :func:`eligimatch.match`): every criterion;
* ``"deciding"``: the criteria behind the verdict — for a NO_MATCH or an
  UNKNOWN, the criteria named in ``deciding`` (and a named cohort's own deciding
  criteria) and every criterion left UNKNOWN; for a MATCH, every criterion
  (each is part of the reason);
* ``"none"``: no criterion.

A criterion without its evidence keeps everything else: outcome, met, causes,
missing facts; its ``reasons`` are then only its causes (the evidence's reason
codes go with the evidence).  The verdict, ``deciding``, ``missing``,
``review``, cohorts and every criterion's outcome are the same in the three
modes (``tests/test_evidence_modes.py``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Literal, NamedTuple

from eligimatch.engine._result import (CriterionResult, EvidenceRecord, MatchResult, MissingFact,
                                       Outcome, Verdict, criterion_row, evidence_model, make_cohort, make_match,
                                       missing_row)
from eligimatch.logic import FLAG_VALUES, Cause, CauseFlag, Truth

if TYPE_CHECKING:  # pragma: no cover
    from eligimatch.engine._trial import CompiledCriterion

__all__ = ["EvidenceMode", "EVIDENCE_MODES", "MissingItem", "Row", "CohortRow", "Evaluation", "row_of",
           "row_of_result", "merge_missing", "criterion_result", "deciding_ids"]

#: Which criteria of a result carry their evidence: every one, those behind the verdict, or none.
EvidenceMode = Literal["all", "deciding", "none"]
EVIDENCE_MODES: tuple[str, ...] = ("all", "deciding", "none")

_OUTCOME = {Truth.TRUE: Outcome.TRUE, Truth.FALSE: Outcome.FALSE, Truth.UNKNOWN: Outcome.UNKNOWN}
# the causes an UNKNOWN's flag stands for, by flag value
_CAUSES = tuple(tuple(CauseFlag(i).causes()) for i in FLAG_VALUES)
_CAUSE_VALUES = tuple(tuple(c.value for c in causes) for causes in _CAUSES)
_NOT_REVIEW = ~int(CauseFlag.REVIEW)
_T, _F, _U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN


class MissingItem(NamedTuple):
    """A fact that would settle an UNKNOWN, and the criteria it would settle (plain :class:`MissingFact`)."""

    fact: str
    detail: str
    cause: Cause
    criteria: tuple[str, ...]


if MissingItem._fields != tuple(MissingFact.model_fields):  # pragma: no cover - _missing_models relies on it
    raise TypeError(f"MissingItem fields {MissingItem._fields} are not MissingFact's")


class Row(NamedTuple):
    """One criterion's outcome, plain: what :class:`CriterionResult` is made from."""

    id: str
    cohort: str | None
    truth: Truth
    flag: int
    met: bool | None
    blocking: bool  # UNKNOWN for a cause other than the investigator's review alone
    missing: tuple[MissingItem, ...]
    evidence: tuple[EvidenceRecord, ...]
    criterion: "CompiledCriterion | None"
    result: CriterionResult | None  # already made (a decision applied to it)


class CohortRow(NamedTuple):
    id: str
    title: str | None
    verdict: Verdict
    deciding: tuple[str, ...]
    missing: tuple[MissingItem, ...]


_new_row = tuple.__new__  # Row(...) without its Python-level __new__: the hottest constructor of evaluate()


def row_of(c: "CompiledCriterion", answer: tuple) -> Row:
    """The row of criterion ``c`` from its function's answer ``(truth, flag, missing, evidence)``."""
    truth, flag, miss, evidence = answer
    if truth == _U:
        met = None
        blocking = bool(flag & _NOT_REVIEW)
    else:
        met = (truth == _T) if c.kind == "inclusion" else (truth == _F)
        blocking = False
    if miss:
        ids = (c.id,)
        items = tuple(MissingItem(m.fact, m.detail, m.cause, ids) for m in dict.fromkeys(miss))
    else:
        items = ()
    return _new_row(Row, (c.id, c.cohort, truth, flag, met, blocking, items, evidence, c, None))


def row_of_result(r: CriterionResult) -> Row:
    """The row of a criterion result made already (after an investigator's decision was applied)."""
    flag = 0
    for cause in r.causes:
        flag |= int(CauseFlag[Cause(cause).value.upper()])
    truth = {Outcome.TRUE: _T, Outcome.FALSE: _F, Outcome.UNKNOWN: _U}[Outcome(r.outcome)]
    blocking = r.met is None and any(Cause(cause) != Cause.REVIEW for cause in r.causes)
    missing = tuple(MissingItem(m.fact, m.detail, Cause(m.cause), tuple(m.criteria)) for m in r.missing)
    return Row(r.id, r.cohort, truth, flag, r.met, blocking, missing, (), None, r)


def merge_missing(rows: Iterable[Row]) -> tuple[MissingItem, ...]:
    """One entry per fact and cause, with every criterion it would settle; most criteria first."""
    merged: dict[tuple[str, Any], list[str]] = {}
    details: dict[tuple[str, Any], str] = {}
    for r in rows:
        for m in r.missing:
            key = (m.fact, m.cause)
            ids = merged.get(key)
            if ids is None:
                ids = merged[key] = []
                details[key] = m.detail
            for cid in m.criteria:
                if cid not in ids:
                    ids.append(cid)
    items = [MissingItem(f, details[(f, c)], c, tuple(ids)) for (f, c), ids in merged.items()]
    items.sort(key=lambda m: -len(m.criteria))
    return tuple(items)


#: One :class:`MissingFact` per distinct missing item, shared by every result that reports it.  A missing
#: fact recurs (the same test missing for most patients, with the same wording and criteria): 300 generated
#: patients against the five seed trials report 29,682 missing items, 1,032 of them distinct.  The models are
#: frozen and their ``model_fields_set`` is already shared, so sharing them changes no result, and a record
#: of many trials (several MB, alive while it is made) is a fifth smaller.  Bounded: emptied when full.
#: (An item's cause is always a :class:`~eligimatch.logic.Cause`: the evaluators' ``missing()`` and
#: ``row_of_result`` make it one.)
_SHARED_MISSING: dict[MissingItem, MissingFact] = {}
_SHARED_MISSING_MAX = 20_000


def _missing_models(items: tuple[MissingItem, ...]) -> tuple[MissingFact, ...]:
    return tuple([_missing_model(m) for m in items])


def _missing_model(m: MissingItem) -> MissingFact:
    f = _SHARED_MISSING.get(m)
    if f is None:
        if len(_SHARED_MISSING) >= _SHARED_MISSING_MAX:
            _SHARED_MISSING.clear()
        f = _SHARED_MISSING[m] = missing_row(*m)  # a MissingItem's fields are MissingFact's, in order
    return f


def criterion_result(r: Row, explained: bool) -> CriterionResult:
    """The :class:`CriterionResult` of a row, with its evidence if ``explained``."""
    if r.result is not None:
        if explained or not r.result.evidence:
            return r.result
        return r.result.model_copy(update={"evidence": (), "reasons": tuple(c.value for c in r.result.causes)})
    c = r.criterion
    assert c is not None
    truth, flag = r.truth, r.flag
    # the evaluators' evidence is already Evidence when every criterion is explained (the default)
    evidence: Any = tuple(map(evidence_model, r.evidence)) if explained and r.evidence else ()
    if not evidence:
        codes: tuple[str, ...] = ()
    elif len(evidence) > 1:
        # the same record seen by two predicates is one line; equal evidence has equal notes, so
        # hashing whole models is needed only when two notes are the same
        if len({e.note for e in evidence}) < len(evidence):
            evidence = tuple(dict.fromkeys(evidence))
        codes = tuple(dict.fromkeys([e.code for e in evidence]))
    else:
        codes = (evidence[0].code,)
    if truth == _U:
        causes = _CAUSES[flag]
        reasons = tuple(dict.fromkeys(codes + _CAUSE_VALUES[flag])) if codes else _CAUSE_VALUES[flag]
    else:
        causes = ()
        reasons = codes
    missing = _missing_models(r.missing) if r.missing else ()
    return criterion_row(c.id, c.kind, c.text, c.cohort, _OUTCOME[truth], r.met, causes, reasons,
                         evidence, missing, c.line)


def deciding_ids(deciding: Iterable[str], cohorts: Iterable[Any]) -> set[str]:
    """The ids in a verdict's ``deciding`` with, where a cohort is named there (``cohort <id>``), that cohort's
    own deciding criteria: what decided the verdict.  ``cohorts``: rows or results, each with ``id`` and
    ``deciding``."""
    keep = set(deciding)
    for co in cohorts:
        if f"cohort {co.id}" in keep:
            keep.update(co.deciding)
    return keep


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of matching one patient against one trial, as plain data (no pydantic object).

    The fields mean what :class:`MatchResult`'s mean; ``rows`` holds one :class:`Row` per criterion
    (general criteria, then each cohort's), ``evidence`` the mode asked for.  :meth:`result` makes
    the :class:`MatchResult`.
    """

    trial_id: str | None
    title: str | None
    patient_id: str | None
    as_of: _dt.date
    anchors: dict[str, _dt.date]
    anchors_defaulted: tuple[str, ...]
    verdict: Verdict
    deciding: tuple[str, ...]
    rows: tuple[Row, ...]
    cohorts: tuple[CohortRow, ...]
    missing: tuple[MissingItem, ...]
    review: tuple[str, ...]
    excluded_unless: tuple[str, ...]
    matched_cohorts: tuple[str, ...]
    warnings: tuple[str, ...]
    policy: str
    decided: tuple[str, ...]
    decisions_invalidated: tuple[str, ...]
    evidence: str

    def explained(self) -> frozenset[str] | None:
        """The ids of the criteria whose evidence the result carries (None: every criterion)."""
        if self.evidence == "all" or (self.evidence == "deciding" and self.verdict == Verdict.MATCH):
            return None
        if self.evidence == "none":
            return frozenset()
        keep = deciding_ids(self.deciding, self.cohorts)
        keep.update(r.id for r in self.rows if r.met is None)
        return frozenset(keep)

    def result(self) -> MatchResult:
        """The pydantic :class:`MatchResult` (made anew on each call)."""
        keep = self.explained()
        if keep is None:
            criteria = tuple(criterion_result(r, True) for r in self.rows)
        else:
            criteria = tuple(criterion_result(r, r.id in keep) for r in self.rows)
        cohorts = tuple(make_cohort(id=co.id, title=co.title, verdict=co.verdict, deciding=co.deciding,
                                    missing=_missing_models(co.missing)) for co in self.cohorts)
        return make_match(
            trial_id=self.trial_id, title=self.title, patient_id=self.patient_id, as_of=self.as_of,
            anchors=self.anchors, anchors_defaulted=self.anchors_defaulted, verdict=self.verdict,
            deciding=self.deciding, criteria=criteria, missing=_missing_models(self.missing), review=self.review,
            excluded_unless=self.excluded_unless, cohorts=cohorts, matched_cohorts=self.matched_cohorts,
            warnings=self.warnings, policy=self.policy, decided=self.decided,
            decisions_invalidated=self.decisions_invalidated)
