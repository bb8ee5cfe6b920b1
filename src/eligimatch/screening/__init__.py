"""Screening a patient against many trials: ranking, the question plan, the screening record, reports.

* :mod:`.ranking` -- a tier and a score in [0, 1] per trial, with the reasons;
* :mod:`.disease` -- what a trial is for (``disease``/``defining``, declared or inferred);
* :mod:`.questions` -- the grouped, capped, ordered question plan;
* :mod:`.decisions` -- the screening record (answers, investigator decisions) and its fingerprints;
* :mod:`.html` -- the self-contained HTML report.

See docs/screening.md.
"""

from __future__ import annotations

from eligimatch.screening._decisions import Answer, Decision, DecisionError, ScreeningRecord, decide, load_record
from eligimatch.screening._questions import PlannedQuestion, question_plan
from eligimatch.screening._ranking import Ranking, Tier

__all__ = ["Answer", "Decision", "DecisionError", "ScreeningRecord", "decide", "load_record", "PlannedQuestion",
           "question_plan", "Ranking", "Tier"]
