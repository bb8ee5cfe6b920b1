"""Screening a patient against many trials: ranking, the question plan, the screening record, reports.

* :func:`screen` / :func:`screen_many` match patients against trials (in worker processes when the batch is
  large, :func:`workers_for`) and give a :class:`ScreenResult` per patient, with the trials ranked;
* ranking (:class:`Ranking`, :class:`Tier`, :func:`rank_result`) -- a tier and a score in [0, 1] per trial,
  with the reasons;
* what a trial is for (:func:`disease_profile`, :func:`describe`: ``disease``/``defining``, declared or inferred);
* the grouped, capped, ordered question plan (:func:`question_plan`);
* the screening record (:class:`ScreeningRecord`, :class:`Answer`, :class:`Decision`, :func:`decide`) and its
  fingerprints;
* :func:`batch_gc` tunes the garbage collector for a batch (what the workers of :func:`screen_many` do);
* the self-contained HTML report (:func:`render_html_report`, :func:`write_html_report`).

See docs/screening.md.
"""

from __future__ import annotations

from eligimatch.errors import DecisionError
from eligimatch.screening._decisions import (
    Answer,
    Decision,
    ScreeningRecord,
    apply_answers,
    clinical_digest,
    decide,
    fingerprint,
    load_record,
)
from eligimatch.screening._disease import DiseaseProfile, describe, disease_profile
from eligimatch.screening._gc import BATCH_THRESHOLDS, batch_gc
from eligimatch.screening._html import render_report as render_html_report
from eligimatch.screening._html import write_report as write_html_report
from eligimatch.screening._questions import DEFAULT_QUESTIONS, PlannedQuestion, question_plan
from eligimatch.screening._ranking import TIER_ORDER, Ranking, Tier, rank_result, rank_results
from eligimatch.screening._results import FieldProblem, Question, ScreenError, ScreenResult, rank
from eligimatch.screening._screen import (
    SMALL_BATCH_PAIRS,
    default_workers,
    match_each,
    screen,
    screen_many,
    trial_label,
    workers_for,
)

__all__ = ["screen", "screen_many", "match_each", "rank", "ScreenResult", "ScreenError", "Question", "FieldProblem",
           "trial_label", "default_workers", "workers_for", "SMALL_BATCH_PAIRS",
           "Ranking", "Tier", "TIER_ORDER", "rank_result", "rank_results",
           "DiseaseProfile", "describe", "disease_profile",
           "PlannedQuestion", "question_plan", "DEFAULT_QUESTIONS",
           "Answer", "Decision", "DecisionError", "ScreeningRecord", "decide", "load_record", "apply_answers",
           "fingerprint", "clinical_digest",
           "render_html_report", "write_html_report", "batch_gc", "BATCH_THRESHOLDS"]
