"""Screening patients on plain records: each trial evaluated, ranked and trimmed, the questions planned.

:func:`screen_plain` screens a few patients against a batch's trials and gives each a
:class:`~eligimatch.screening._wire.Screened` (plain data; :func:`~eligimatch.screening._wire.to_record`
makes the pydantic record).  :func:`~eligimatch.screening._screen.screen` screens one patient with it,
``screen_many`` a block of patients at a time (:func:`block_size`).

**Blocks.**  With many trials, the compiled trials no longer fit in the CPU's cache: each of the five
seed trials keeps about 80 KB of closures, plan nodes and criteria that evaluating it reads, and a core's
cache (L2) holds about a dozen.  Screened one patient at a time, every trial is read again from memory
for every patient: 100 distinct trials cost 15–22 % more per pair than the same five trials screened
twenty times over (``bench/run_workers.py``, docs/performance.md).  From :data:`BLOCK_TRIALS` trials,
``screen_many`` evaluates :data:`BLOCK` patients trial by trial instead: each trial is read once for the
block.  The results are the same objects in the same order either way (``tests/test_screen.py``): only
the order in which the pairs are evaluated changes, and a pair's evaluation reads nothing of another's.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from eligimatch.engine._evaluate import PatientIndex, Policy
from eligimatch.engine._evaluation import EvidenceMode, deciding_ids
from eligimatch.engine._matching import Evaluation, check_anchor_names, declared_anchors, evaluate
from eligimatch.engine._result import Verdict, records_only
from eligimatch.engine._trial import CompiledTrial
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.screening._ranking import Ranking, rank_result
from eligimatch.screening._results import _questions
from eligimatch.screening._wire import Screened
from eligimatch.sources._patient import Patient

__all__ = ["BLOCK", "BLOCK_TRIALS", "block_size", "evaluate_block", "screen_plain", "trial_label"]

#: From this many trials, ``screen_many`` evaluates :data:`BLOCK` patients at a time, trial by trial.  Measured
#: on the seed trials (docs/performance.md, "Blocks of patients"): 10 distinct trials cost per pair what 5 do
#: one patient at a time, 20 already about 12 % more; and a block makes 5 trials 2–4 % slower (four patients' records
#: in the cache instead of one, for trials that were in it anyway).
BLOCK_TRIALS = 16
#: Patients per block: four patients' indexes and results beside one trial's compiled criteria fit in a core's
#: cache; with 100 trials, four made a pair 8 % cheaper than one, eight no cheaper than four.
BLOCK = 4


def block_size(n_trials: int) -> int:
    """How many patients ``screen_many`` screens together against ``n_trials`` trials."""
    return BLOCK if n_trials >= BLOCK_TRIALS else 1


def trial_label(trial: CompiledTrial) -> str:
    """The trial's id, or its file name without the suffix when the file declares none."""
    if trial.id:
        return trial.id
    return Path(trial.filename).stem if trial.filename and not trial.filename.startswith("<") else "(trial)"


Each = Callable[[Evaluation], Any]
Evaluated = tuple[tuple[Any, ...], tuple[str, ...], tuple[Ranking, ...]]


def evaluate_block(patients: Sequence[Patient], trials: tuple[CompiledTrial, ...], as_of: _dt.date,
                   anchors: Mapping[str, _dt.date] | None, policy: Policy | None, decisions: Any = None,
                   evidence: EvidenceMode = "all", each: Each | None = None) -> list[Evaluated]:
    """:func:`~eligimatch.screening.match_each` on plain records, for each patient: each trial's
    :class:`Evaluation` (no result object made) and the warnings about the patient's records.

    With ``each``, each evaluation is ranked as soon as it is made and replaced by ``each(it)`` (its rows
    still in the CPU's cache; with many trials, they would not be after the last trial), and the rankings
    are returned too.  The trials are evaluated in turn, each for every patient (a block: see the module's
    documentation).  ``decisions`` (a screening record) apply to one patient only."""
    if anchors:  # a name no trial declares is an error; each trial gets the anchors it declares
        check_anchor_names(trials, anchors)
    extra: dict[str, Any] = {}
    if decisions is not None:  # the record's answers applied once, for every trial
        from eligimatch.screening._decisions import prepare

        if len(patients) != 1:
            raise ValueError("decisions are one patient's: screen that patient alone")
        cats0 = (trials[0].catalogs if trials else None) or Catalogs.default()
        patient, prepared = prepare(patients[0], decisions, cats0)
        patients = [patient]
        extra = {"decisions": prepared}
    indexes: list[dict[int, PatientIndex]] = [{} for _ in patients]
    evaluations: list[list[Any]] = [[] for _ in patients]
    rankings: list[list[Ranking]] = [[] for _ in patients]
    for position, trial in enumerate(trials):
        mine = {k: v for k, v in anchors.items() if k in declared_anchors(trial)} if anchors else anchors
        cats = trial.catalogs or Catalogs.default()
        label = trial_label(trial)
        for k, patient in enumerate(patients):
            idx = indexes[k].get(id(cats))
            if idx is None:
                idx = indexes[k][id(cats)] = PatientIndex(patient, cats)
            e = evaluate(patient, trial, as_of=as_of, anchors=mine, policy=policy, index=idx, evidence=evidence,
                         trial_id=label, **extra)
            if each is None:
                evaluations[k].append(e)
            else:
                rankings[k].append(rank_result(e, trial, idx, as_of, position))
                evaluations[k].append(each(e))
    return [(tuple(evaluations[k]), tuple(dict.fromkeys(w for idx in indexes[k].values() for w in idx.warnings)),
             tuple(rankings[k])) for k in range(len(patients))]


def screen_plain(patients: Sequence[tuple[int, str | None, Patient]], trials: tuple[CompiledTrial, ...],
                 as_of: _dt.date, anchors: Mapping[str, _dt.date] | None, policy: Policy | None, *,
                 with_criteria: bool | str = True, decisions: Any = None, max_questions: int | None = None,
                 evidence: EvidenceMode = "all", results: bool = False) -> list[Screened]:
    """Screen patients (each with its index in the batch and its source) on plain records, in one block:
    evaluate, rank, keep what ``with_criteria`` keeps, order, plan.
    :func:`~eligimatch.screening._wire.to_record` makes each :class:`ScreenResult` (the same as
    ``ScreenResult.build`` makes from the results).

    Each trial is evaluated, ranked and trimmed in turn, and with ``results`` (where the record is made, not
    in a worker) its :class:`MatchResult` is made right then, in place of the evaluation: one trial's rows
    are used while they are in the CPU's cache and dropped, instead of every trial's rows kept until the
    last result is made (with 100 trials, several MB).  Without ``results`` (a worker's screening, sent as
    plain tuples) the caller makes them (:meth:`~eligimatch.screening._wire.Decoder.records`).
    """
    from eligimatch.screening._questions import DEFAULT_QUESTIONS, question_plan
    from eligimatch.screening._ranking import order

    # what the results keep decides what is worth building: no criteria, no evidence; the deciding
    # criteria, their evidence (the criteria dropped below are the ones "deciding" leaves bare)
    if not with_criteria:
        evidence = "none"
    elif with_criteria == "deciding" and evidence == "all":
        evidence = "deciding"
    trim = _deciding_rows if with_criteria == "deciding" else _no_rows if not with_criteria else None
    each: Each
    if results:
        each = (lambda e: trim(e).result()) if trim is not None else Evaluation.result
    else:
        each = trim if trim is not None else _same
    # a worker (no results here) evaluates with the evidence as plain tuples: it sends them to the caller,
    # which makes the Evidence asked for; here, each result is made as soon as its trial is evaluated, from
    # the Evidence the evaluators made
    token = records_only.set(not results or records_only.get())
    try:
        evaluated = evaluate_block([p for _, _, p in patients], trials, as_of, anchors, policy, decisions,
                                   evidence, each=each)
    finally:
        records_only.reset(token)
    limit = DEFAULT_QUESTIONS if max_questions is None else max_questions
    out = []
    for (index, source, patient), (evaluations, warnings, rankings) in zip(patients, evaluated):
        pos = order(rankings, evaluations)
        ranked = tuple(evaluations[i] for i in pos)
        ranks = tuple(rankings[i] for i in pos)
        plan = question_plan(ranked, ranks, tuple(trials[i] for i in pos), limit=limit)
        out.append(Screened(index, source, patient.id, as_of, ranked, tuple(pos), ranks, _questions(ranked), plan,
                            warnings))
    return out


def _same(e: Evaluation) -> Evaluation:
    return e


def _no_rows(e: Evaluation) -> Evaluation:
    return replace(e, rows=())


def _deciding_rows(e: Evaluation) -> Evaluation:
    """:func:`~eligimatch.screening._screen._deciding_only` on an evaluation: the rows of the criteria that
    decided its verdict (criterion ids are unique within a trial, so the evidence of the rows kept is what it
    was)."""
    if e.verdict == Verdict.MATCH:
        return e
    keep = deciding_ids(e.deciding, e.cohorts)
    return replace(e, rows=tuple(r for r in e.rows if r.id in keep))
