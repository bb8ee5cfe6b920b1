"""``match(patient, trial)``: evaluate every criterion and reach a verdict.

Verdict rules:

* NO_MATCH if any inclusion criterion is FALSE or any exclusion criterion is TRUE;
* MATCH if every inclusion is TRUE and every exclusion FALSE, leaving aside
  criteria that only the investigator can decide (UNKNOWN with cause *review*
  alone): those are listed in ``review``;
* UNKNOWN otherwise, with the missing facts that would settle it.

A trial with disease cohorts matches when its general criteria match and at
least one cohort's criteria match; the result names every cohort's verdict.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from typing import Any, Iterable, Mapping

from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.plan._check import STANDARD_ANCHORS
from eligimatch.errors import AnchorError, EligimatchError
from eligimatch.engine._evaluate import Context, PatientIndex, Policy
from eligimatch.engine._evaluation import (EVIDENCE_MODES, CohortRow, Evaluation, EvidenceMode, MissingItem, Row,
                                           criterion_result, merge_missing, row_of,
                                           row_of_result)
from eligimatch.sources._patient import Patient
from eligimatch.engine._result import CriterionResult, MatchResult, Verdict, records_only
from eligimatch.engine._trial import CompiledTrial

__all__ = ["match", "evaluate", "Evaluation", "EvidenceMode", "Policy", "check_anchor_names", "declared_anchors",
           "DEFAULTED_ANCHORS"]

_RANK = {Verdict.NO_MATCH: 0, Verdict.UNKNOWN: 1, Verdict.MATCH: 2}


def _verdict(rows: list[Row]) -> tuple[Verdict, tuple[str, ...], tuple[MissingItem, ...]]:
    failed = tuple(r.id for r in rows if r.met is False)
    if failed:
        return Verdict.NO_MATCH, failed, ()
    open_ = [r for r in rows if r.blocking]
    if open_:
        return Verdict.UNKNOWN, tuple(r.id for r in open_), merge_missing(open_)
    return Verdict.MATCH, (), ()


#: Anchors that are visit dates of the screening itself: when the caller does not give one, the
#: evaluation date stands in for it (and the result says so).  Any other anchor (``diagnosis``,
#: ``randomisation``, ``last_treatment`` ...) is a date of the patient's own history: it has no
#: default, and a criterion counted from it is UNKNOWN until the date is given.
DEFAULTED_ANCHORS = frozenset(STANDARD_ANCHORS)


def declared_anchors(trial: CompiledTrial) -> tuple[str, ...]:
    """The anchors a trial's criteria may be counted from: its header's, or the standard ones."""
    return tuple(trial.anchors) or STANDARD_ANCHORS


def check_anchor_names(trials: Iterable[CompiledTrial], names: Iterable[str]) -> None:
    """Raise :class:`AnchorError` for a given anchor that none of ``trials`` declares (with a did-you-mean)."""
    declared: dict[str, None] = {}
    for t in trials:
        declared.update(dict.fromkeys(declared_anchors(t)))
    unknown = [n for n in names if n not in declared]
    if not unknown:
        return
    parts = []
    for n in unknown:
        close = difflib.get_close_matches(n, list(declared), n=1, cutoff=0.6)
        parts.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise AnchorError(f"anchor {', '.join(parts)} is not declared by the trial; its anchors are "
                      f"{', '.join(declared)}")


def resolve_anchors(trial: CompiledTrial, patient: Patient, as_of: _dt.date,
                    anchors: Mapping[str, _dt.date] | None) -> tuple[dict[str, _dt.date], tuple[str, ...]]:
    """The dates of the trial's anchors: given by the caller, else by the patient's ``anchors``, else the
    evaluation date for a visit anchor (listed as defaulted); an anchor of another kind stays unset.
    A caller's anchor the trial does not declare is an error; the patient's own other anchors (for
    other trials) are ignored."""
    names = declared_anchors(trial)
    check_anchor_names((trial,), anchors or {})
    given = dict(patient.anchors)
    given.update(anchors or {})
    resolved: dict[str, _dt.date] = {}
    defaulted = []
    for n in names:
        if n in given:
            resolved[n] = given[n]
        elif n in DEFAULTED_ANCHORS:
            resolved[n] = as_of
            defaulted.append(n)
    return resolved, tuple(defaulted)


def match(patient: Patient, trial: CompiledTrial, *, as_of: _dt.date | None = None,
          anchors: Mapping[str, _dt.date] | None = None, policy: Policy | None = None,
          assume_absent: bool | None = None, index: PatientIndex | None = None,
          decisions: Any = None, evidence: EvidenceMode = "all") -> MatchResult:
    """Evaluate ``trial`` for ``patient`` on ``as_of`` (default: today).

    ``anchors`` gives the dates of named anchors (screening, apheresis, ...);
    each visit anchor not given (here or in the patient's own ``anchors``) falls back
    to ``as_of``, and the result says so; an anchor of another kind (``diagnosis``)
    has no default: what is counted from it is UNKNOWN.  A name the trial does not
    declare raises :class:`~eligimatch.errors.AnchorError`.  ``policy``/``assume_absent`` decide
    whether a missing record counts as absent when the history is not complete.
    ``decisions``: a :class:`~eligimatch.screening._decisions.ScreeningRecord` (or a list of its
    decisions): its answers are added to the profile, and each investigator's decision settles its
    criterion while the data it saw are unchanged (see docs/screening.md).

    ``evidence``: which criteria carry their :class:`~eligimatch.Evidence` (the values, units, dates
    and thresholds behind their outcome): ``"all"`` (default), ``"deciding"`` (those behind the
    verdict: for a NO_MATCH or UNKNOWN the deciding criteria and every unknown one, for a MATCH all)
    or ``"none"``.  The verdict, the deciding criteria, the missing facts and every criterion's
    outcome are the same in the three modes; fewer objects are made.

        >>> import datetime, eligimatch
        >>> trial = eligimatch.load_trial("examples/trials/NCT03754764.elig")
        >>> patient = eligimatch.load_patient(open("examples/patients/nct03754764-unknown.json").read())
        >>> result = match(patient, trial, as_of=datetime.date(2026, 3, 1))
        >>> result.verdict, result.deciding
        (<Verdict.UNKNOWN: 'unknown'>, ('I3b', 'E4a'))
        >>> [m.fact for m in result.missing][:2]   # what would settle it
        ['tumor_cd38', 'condition acute_gvhd']
        >>> print(result.explain())   # doctest: +ELLIPSIS
        NCT03754764 — A Feasibility and Safety Study ...
        patient NCT03754764-P03 on 2026-03-01: UNKNOWN
        ...
    """
    return evaluate(patient, trial, as_of=as_of, anchors=anchors, policy=policy, assume_absent=assume_absent,
                    index=index, decisions=decisions, evidence=evidence).result()


def evaluate(patient: Patient, trial: CompiledTrial, *, as_of: _dt.date | None = None,
             anchors: Mapping[str, _dt.date] | None = None, policy: Policy | None = None,
             assume_absent: bool | None = None, index: PatientIndex | None = None,
             decisions: Any = None, evidence: EvidenceMode = "all", trial_id: str | None = None) -> Evaluation:
    """:func:`match` without the result objects: the same verdict as plain data (an :class:`Evaluation`);
    its ``result()`` is what :func:`match` returns.  ``trial_id`` stands in for a trial without an id."""
    if not isinstance(patient, Patient):
        raise TypeError(f"match() takes a Patient, not {type(patient).__name__}; "
                        f"use eligimatch.load_patient() to validate a document")
    if not isinstance(trial, CompiledTrial):
        raise TypeError(f"match() takes a CompiledTrial, not {type(trial).__name__}; use eligimatch.compile_trial()")
    if evidence not in EVIDENCE_MODES:
        raise ValueError(f"evidence must be one of {', '.join(map(repr, EVIDENCE_MODES))}, not {evidence!r}")
    if as_of is None:
        as_of = _dt.date.today()
    if isinstance(as_of, _dt.datetime):
        as_of = as_of.date()
    pol = policy or Policy()
    if assume_absent is not None:
        pol = Policy(assume_absent=assume_absent)
    cats = trial.catalogs or Catalogs.default()
    prepared = None
    if decisions is not None:
        from eligimatch.screening._decisions import prepare

        patient, prepared = prepare(patient, decisions, cats)
    if index is None or index.patient is not patient or index.catalogs is not cats:
        index = PatientIndex(patient, cats)
    resolved, defaulted = resolve_anchors(trial, patient, as_of, anchors)
    # verdicts only (no evidence kept, no decision to check against it): `and`/`or` stop at a deciding operand
    ctx = Context(index, as_of, resolved, pol, trial.lab_recency, trial.fact_recency,
                  short_circuit=evidence == "none" and prepared is None)
    # evidence for some criteria, or a caller that sends the rows elsewhere (a worker of screen_many):
    # plain records until the edge
    token = records_only.set(evidence != "all" or records_only.get())
    try:
        general = [row_of(c, c.fn(ctx)) for c in trial.criteria]
        per_cohort = [(cid, title, [row_of(c, c.fn(ctx)) for c in crits]) for cid, title, crits in trial.cohorts]
    except RecursionError:  # pragma: no cover - nesting is bounded at compile time
        raise EligimatchError("the criteria are nested too deeply to evaluate") from None
    finally:
        records_only.reset(token)
    decided: tuple[str, ...] = ()
    lapsed: tuple[str, ...] = ()
    if prepared is not None and prepared.decisions:
        general, per_cohort, decided, lapsed = _decide(trial, general, per_cohort, prepared)
    cohort_rows: list[CohortRow] = []
    all_rows = list(general)
    for cid, title, rs in per_cohort:
        all_rows.extend(rs)
        v, deciding, miss = _verdict(rs)
        cohort_rows.append(CohortRow(cid, title, v, deciding, miss))

    verdict, deciding, miss = _verdict(general)
    matched = tuple(c.id for c in cohort_rows if c.verdict == Verdict.MATCH)
    if cohort_rows and verdict != Verdict.NO_MATCH:
        best = max(cohort_rows, key=lambda c: _RANK[c.verdict]).verdict
        if _RANK[best] < _RANK[verdict]:
            verdict = best
            if best == Verdict.NO_MATCH:
                deciding = tuple(f"cohort {c.id}" for c in cohort_rows)
            else:
                open_cohorts = [c for c in cohort_rows if c.verdict == Verdict.UNKNOWN]
                open_ids = {c.id for c in open_cohorts}
                deciding = deciding + tuple(i for c in open_cohorts for i in c.deciding)
                miss = merge_missing([r for r in all_rows if r.blocking and (r.cohort is None or r.cohort in open_ids)])
    review = tuple(r.id for r in all_rows if r.met is None and not r.blocking)
    excluded_unless: tuple[str, ...] = ()
    if review:
        exceptions = {c.id for c in trial.all_criteria() if c.judgment_exception}
        excluded_unless = tuple(r.id for r in all_rows if r.id in exceptions and r.met is None and not r.blocking)
    return Evaluation(
        trial.id if trial.id is not None else trial_id, trial.title, patient.id, as_of, resolved, defaulted,
        verdict, deciding, tuple(all_rows), tuple(cohort_rows), miss, review, excluded_unless, matched,
        tuple(index.warnings) + (prepared.warnings if prepared else ()), pol.name, decided, lapsed, evidence)


def _decide(trial: CompiledTrial, general: list[Row], per_cohort: list, prepared: Any) -> tuple:
    """Apply the investigator's decisions of ``prepared`` to the criterion rows (on their full results:
    a decision is checked against the evidence the investigator saw)."""
    from eligimatch.screening._screen import trial_label
    from eligimatch.screening._decisions import apply_decisions

    def full(rows: list[Row]) -> list[CriterionResult]:
        return [criterion_result(r, True) for r in rows]

    label = trial_label(trial)
    judgment_only = {c.id: c.judgment for c in trial.all_criteria()}
    results, decided, lapsed = apply_decisions(label, full(general), judgment_only, prepared)
    general = [row_of_result(r) for r in results]
    cohorts = []
    for cid, title, rs in per_cohort:
        results, d, lp = apply_decisions(label, full(rs), judgment_only, prepared)
        decided += d
        lapsed += lp
        cohorts.append((cid, title, [row_of_result(r) for r in results]))
    return general, cohorts, decided, lapsed
