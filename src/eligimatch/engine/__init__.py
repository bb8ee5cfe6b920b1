"""The row engine: a trial compiled against the catalogs, evaluated against one patient, with results and
explanations.

* :func:`load_trial` / :func:`compile_trial` give a :class:`CompiledTrial` (checked, units resolved);
* :func:`match` evaluates it for one patient under a :class:`Policy` and returns a :class:`MatchResult`:
  a :class:`Verdict`, one :class:`CriterionResult` per criterion (:class:`Outcome`, :class:`Evidence`,
  :class:`MissingFact` for each unknown) and :class:`CohortResult` per cohort; ``evidence="all" | "deciding" |
  "none"`` (:data:`EvidenceMode`) says which criteria carry their evidence;
* :func:`evaluate` is :func:`match` without the result objects: an :class:`Evaluation` of plain records
  (``.verdict``, ``.deciding``; ``.result()`` makes the :class:`MatchResult`);
* :class:`ReasonCode` is the documented enum of reason codes in results (:data:`REASON_DESCRIPTIONS`);
* :func:`render_report` is the plain-text explanation (``MatchResult.explain()``);
* :class:`PatientIndex` is a patient's records indexed once for several trials (``match(..., index=)``);
* :data:`STANDARD_ANCHORS` are the anchor dates a trial may use without declaring them;
  :func:`yes_no` is how a recorded yes/no attribute is read (anything but a declared spelling is unknown).
"""

from __future__ import annotations

from eligimatch.engine._compile import compile_trial, load_trial
from eligimatch.engine._evaluate import PatientIndex, Policy
from eligimatch.engine._explain import render_report
from eligimatch.engine._history import yes_no
from eligimatch.engine._matching import Evaluation, EvidenceMode, evaluate, match
from eligimatch.engine._reasons import REASON_DESCRIPTIONS, ReasonCode, reason_code_schema
from eligimatch.engine._result import (
    CohortResult,
    CriterionResult,
    Evidence,
    MatchResult,
    MissingFact,
    Outcome,
    Verdict,
)
from eligimatch.engine._trial import CompiledCriterion, CompiledTrial, TrialOptions
from eligimatch.plan._check import STANDARD_ANCHORS

__all__ = ["compile_trial", "load_trial", "CompiledTrial", "CompiledCriterion", "TrialOptions", "Policy", "match",
           "MatchResult", "CriterionResult", "CohortResult", "Evidence", "MissingFact", "Outcome", "Verdict",
           "ReasonCode", "REASON_DESCRIPTIONS", "reason_code_schema", "render_report",
           "PatientIndex", "STANDARD_ANCHORS", "yes_no", "evaluate", "Evaluation", "EvidenceMode"]
