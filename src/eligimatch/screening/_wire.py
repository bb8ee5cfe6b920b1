"""One patient's screening as plain data (:class:`Screened`), how a worker of ``screen_many`` sends it, and the
:class:`ScreenResult` made from it at the API edge.

Screening a patient runs on plain records: an :class:`~eligimatch.engine.Evaluation` per trial (rows of
tuples), ranked and planned from those (:func:`~eligimatch.screening._ranking.rank_result` and
:func:`~eligimatch.screening._questions.question_plan` read an evaluation as they read a result).  The
pydantic :class:`ScreenResult` is made last, by :func:`to_record`, with the same code wherever it runs:

* in one process (``screen``, ``screen_many(workers=1)``, the chunks the caller screens itself), right away;
* from a worker, in the caller: the worker evaluates with the evidence as plain
  :class:`~eligimatch.engine._result.EvidenceRecord` tuples and makes no result object at all; it sends
  :func:`encode`'s tuples (each row without its compiled criterion: the caller has the same trials), which
  the pool pickles; the caller puts each row back with its criterion and makes the record as
  :func:`to_record` does (:meth:`Decoder.records`).  What it pickles is tuples, strings, numbers, dates and
  enums — a few pydantic objects per patient (the rankings, questions and plan) — not the hundred models of
  each patient's results, which pickle (and unpickle) at the cost of validating them again.

The records are therefore the same objects, field for field and down to ``model_fields_set``, whichever
process screened the patient (``tests/test_screen.py``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from eligimatch.engine._evaluation import CohortRow, Evaluation, MissingItem, Row
from eligimatch.engine._result import EvidenceRecord, MatchResult
from eligimatch.engine._trial import CompiledCriterion, CompiledTrial
from eligimatch.screening._questions import PlannedQuestion
from eligimatch.screening._ranking import Ranking
from eligimatch.screening._results import Question, ScreenResult

__all__ = ["Screened", "to_record", "encode", "Decoder"]


class Screened(NamedTuple):
    """One patient screened against a batch's trials, as plain data: the evaluations in ranked order."""

    input_index: int  # the patient's position in the batch (ScreenResult.index)
    source: str | None
    patient_id: str | None
    as_of: _dt.date
    evaluations: tuple[Evaluation, ...] | tuple[MatchResult, ...]  # results where the record is made
    positions: tuple[int, ...]  # the trial (its position in the batch's trials) of each evaluation
    rankings: tuple[Ranking, ...]
    questions: tuple[Question, ...]
    plan: tuple[PlannedQuestion, ...]
    warnings: tuple[str, ...]


def to_record(s: Screened) -> ScreenResult:
    """The pydantic :class:`ScreenResult` of a screening (every :class:`MatchResult` made here)."""
    results = tuple([e if isinstance(e, MatchResult) else e.result() for e in s.evaluations])
    return _record(s.input_index, s.source, s.patient_id, s.as_of, results, s.rankings, s.questions, s.plan,
                   s.warnings)


def _record(index: int, source: str | None, patient_id: str | None, as_of: _dt.date, results: tuple,
            rankings: tuple, questions: tuple, plan: tuple, warnings: tuple) -> ScreenResult:
    return ScreenResult(index=index, source=source, patient_id=patient_id, as_of=as_of, results=results,
                        ranking=rankings, questions=questions, plan=plan, warnings=warnings)


# ---- the wire ----------------------------------------------------------------------------------

_tuple_new = tuple.__new__
_EVIDENCE = EvidenceRecord


def _row_out(r: Row) -> tuple:
    # (id, cohort, truth, flag, met, blocking, missing, evidence, result): the row without its criterion
    return (r.id, r.cohort, r.truth, r.flag, r.met, r.blocking, tuple(map(tuple, r.missing)) if r.missing else (),
            tuple([tuple(e) if e.__class__ is _EVIDENCE else e for e in r.evidence]) if r.evidence else (),
            r.result)


def _evaluation_out(e: Evaluation, position: int) -> tuple:
    return (position, e.trial_id, e.title, e.patient_id, e.as_of, e.anchors, e.anchors_defaulted, e.verdict,
            e.deciding, tuple(map(_row_out, e.rows)),
            tuple((c.id, c.title, c.verdict, c.deciding, tuple(map(tuple, c.missing))) for c in e.cohorts),
            tuple(map(tuple, e.missing)), e.review, e.excluded_unless, e.matched_cohorts, e.warnings, e.policy,
            e.decided, e.decisions_invalidated, e.evidence)


def encode(s: Screened) -> tuple:
    """A worker's screening as plain tuples (what it pickles): see :class:`Decoder` for the way back.  The
    worker screens without making results (``screen_plain(..., results=False)``): ``s`` holds evaluations."""
    evaluations = cast("tuple[Evaluation, ...]", s.evaluations)
    return (s.input_index, s.source, s.patient_id, s.as_of,
            tuple(_evaluation_out(e, p) for e, p in zip(evaluations, s.positions)),
            s.rankings, s.questions, s.plan, s.warnings)


def _missing_in(items: tuple) -> tuple[MissingItem, ...]:
    return tuple([_tuple_new(MissingItem, m) for m in items]) if items else ()


class Decoder:
    """The way back from :func:`encode`, in the caller, which has the batch's compiled trials."""

    def __init__(self, trials: tuple[CompiledTrial, ...]):
        self.trials = trials
        self._criteria: list[dict[str, CompiledCriterion]] = [{c.id: c for c in t.all_criteria()} for t in trials]

    def _evaluation(self, w: tuple) -> Evaluation:
        (position, trial_id, title, patient_id, as_of, anchors, defaulted, verdict, deciding, rows, cohorts,
         missing, review, excluded_unless, matched, warnings, policy, decided, lapsed, evidence) = w
        by_id = self._criteria[position]
        new = _tuple_new
        out = []
        for cid, cohort, truth, flag, met, blocking, miss, ev, result in rows:
            if ev:
                ev = tuple([new(_EVIDENCE, x) if x.__class__ is tuple else x for x in ev])
            out.append(new(Row, (cid, cohort, truth, flag, met, blocking, _missing_in(miss), ev,
                                 by_id[cid] if result is None else None, result)))
        cohort_rows = tuple(new(CohortRow, (cid, ctitle, cverdict, cdeciding, _missing_in(cmiss)))
                            for cid, ctitle, cverdict, cdeciding, cmiss in cohorts)
        return Evaluation(trial_id, title, patient_id, as_of, anchors, defaulted, verdict, deciding, tuple(out),
                          cohort_rows, _missing_in(missing), review, excluded_unless, matched, warnings, policy,
                          decided, lapsed, evidence)

    def records(self, ws: Sequence[Any]) -> list[ScreenResult]:
        """The records of :func:`encode`'s tuples, for a block of patients (as a worker screened them): what
        :func:`to_record` makes of each worker's :class:`Screened`.

        Each :class:`MatchResult` is made as soon as its evaluation is put back: the plain rows of one trial
        are used while they are in the CPU's cache and then dropped, instead of a whole record's rows put
        back before the first result is made (the caller of a two-worker batch spends much of its time
        here).  And they are made trial by trial: each trial's compiled criteria, which making a result
        reads, are read once for the block rather than once per patient (with many trials, they are not in
        the CPU's cache; :mod:`eligimatch.screening._plain`)."""
        results: list[list[Any]] = [[None] * len(w[4]) for w in ws]
        # (trial position, patient, rank): a patient's evaluations come in ranked order, not the trials'
        todo = sorted((e[0], k, j) for k, w in enumerate(ws) for j, e in enumerate(w[4]))
        for _, k, j in todo:
            results[k][j] = self._evaluation(ws[k][4][j]).result()
        return [_record(index, source, patient_id, as_of, tuple(made), rankings, questions, plan, warnings)
                for (index, source, patient_id, as_of, _, rankings, questions, plan, warnings), made
                in zip(ws, results)]
