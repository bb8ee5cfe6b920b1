"""The reason codes of :class:`~eligimatch.engine._result.Evidence`: why one fact counted as it did.

Each piece of evidence in a result carries a ``code``, a stable machine-readable
word (the JSON value is the enum's value), next to its readable ``note``.  The
codes are listed here, each with what it means; the result's JSON Schema
(``eligimatch schema result``) carries the same list and descriptions, so that an
integrator in any language can rely on them.

    >>> from eligimatch import ReasonCode
    >>> ReasonCode("threshold_met").description
    'A numeric value (converted to the criterion’s unit) satisfies the threshold.'
"""

from __future__ import annotations

from enum import Enum

__all__ = ["REASON_DESCRIPTIONS", "ReasonCode", "reason_code_schema"]


class ReasonCode(str, Enum):
    """Why one piece of evidence counted as it did (the ``code`` of an :class:`~eligimatch.engine._result.Evidence`).

    Values are the strings that appear in the result JSON; :attr:`description` says what each means.

    >>> from eligimatch import ReasonCode
    >>> ReasonCode("threshold_met").description
    'A numeric value (converted to the criterion’s unit) satisfies the threshold.'
    """

    THRESHOLD_MET = "threshold_met"
    THRESHOLD_NOT_MET = "threshold_not_met"
    IN_RANGE = "in_range"
    OUT_OF_RANGE = "out_of_range"
    IN_SET = "in_set"
    NOT_IN_SET = "not_in_set"
    FACT_RECORDED = "fact_recorded"
    STALE = "stale"
    UNDATED = "undated"
    INVALID_VALUE = "invalid_value"
    INDETERMINATE = "indeterminate"
    CONFLICTING_RESULTS = "conflicting_results"
    SAME_DAY_RESULTS_AGREE = "same_day_results_agree"
    RECORD_FOUND = "record_found"
    RECORD_OUTSIDE_SCOPE = "record_outside_scope"
    RECORD_UNCERTAIN = "record_uncertain"
    RECORD_EXCEPTED = "record_excepted"
    STARTED_TOO_LATE = "started_too_late"
    ABSENT_HISTORY_COMPLETE = "absent_history_complete"
    ABSENT_ASSUMED = "absent_assumed"
    NOT_EXPOSED = "not_exposed"
    DOSE_USED = "dose_used"
    DOSE_UNKNOWN = "dose_unknown"
    DOSE_BOUNDS = "dose_bounds"
    DOSE_CHANGED = "dose_changed"
    DOSE_STABLE = "dose_stable"
    DOSE_PERIOD = "dose_period"
    DOSE_STARTED_LATE = "dose_started_late"
    REVIEW = "review"
    DECISION = "decision"
    DECISION_INVALIDATED = "decision_invalidated"

    @property
    def description(self) -> str:
        """What the code means, in one sentence."""
        return REASON_DESCRIPTIONS[self]


REASON_DESCRIPTIONS: dict[ReasonCode, str] = {
    ReasonCode.THRESHOLD_MET: "A numeric value (converted to the criterion’s unit) satisfies the threshold.",
    ReasonCode.THRESHOLD_NOT_MET: "A numeric value (converted to the criterion’s unit) does not satisfy the "
                                  "threshold.",
    ReasonCode.IN_RANGE: "A value lies inside the criterion’s range.",
    ReasonCode.OUT_OF_RANGE: "A value lies outside the criterion’s range.",
    ReasonCode.IN_SET: "A value is one of the criterion’s listed values.",
    ReasonCode.NOT_IN_SET: "A value is none of the criterion’s listed values.",
    ReasonCode.FACT_RECORDED: "A fact’s recorded value (yes/no, category or number) was used as is.",
    ReasonCode.STALE: "A value older than the criterion’s recency window: it does not decide (UNKNOWN, cause "
                      "'stale').",
    ReasonCode.UNDATED: "A value without a date where the criterion needs one: it does not decide.",
    ReasonCode.INVALID_VALUE: "A recorded value outside the fact’s declared values (or of another kind, such as "
                              "true/false for a category): it does not decide (UNKNOWN, cause 'invalid'); the "
                              "note names the allowed values.",
    ReasonCode.INDETERMINATE: "A partial date allows both outcomes: UNKNOWN (cause 'indeterminate').",
    ReasonCode.CONFLICTING_RESULTS: "Results of the same date (and time) disagree: UNKNOWN (cause "
                                    "'conflicting').",
    ReasonCode.SAME_DAY_RESULTS_AGREE: "Several results of the same date agree on the outcome.",
    ReasonCode.RECORD_FOUND: "A condition, therapy or procedure record satisfies the criterion’s concept, "
                             "window and attributes.",
    ReasonCode.RECORD_OUTSIDE_SCOPE: "A record of the concept exists but falls outside the criterion’s window, "
                                     "status or attributes.",
    ReasonCode.RECORD_UNCERTAIN: "A record may satisfy the criterion but cannot be placed (broader code, "
                                 "partial date, unknown attribute): UNKNOWN.",
    ReasonCode.RECORD_EXCEPTED: "A record matches the concept but falls under the criterion’s `except` list.",
    ReasonCode.STARTED_TOO_LATE: "A therapy started after the latest start the criterion allows.",
    ReasonCode.ABSENT_HISTORY_COMPLETE: "No record, and the patient’s history of that kind is marked complete: "
                                        "counted as absent.",
    ReasonCode.ABSENT_ASSUMED: "No record, counted as absent only because the policy assumes absence "
                               "(--assume-absent); the verdict says so.",
    ReasonCode.NOT_EXPOSED: "No exposure to the drug in the period the dose criterion looks at.",
    ReasonCode.DOSE_USED: "The dose (daily, per kilogram or cumulative) the criterion was compared with.",
    ReasonCode.DOSE_UNKNOWN: "A dose the criterion needs is not recorded or cannot be converted: UNKNOWN.",
    ReasonCode.DOSE_BOUNDS: "The bounds within which an uncertain dose lies, and whether they decide.",
    ReasonCode.DOSE_CHANGED: "The dose changed within the period the criterion requires stable.",
    ReasonCode.DOSE_STABLE: "The dose did not change within the period the criterion requires stable.",
    ReasonCode.DOSE_PERIOD: "One period of a constant daily dose within the course the criterion looks at.",
    ReasonCode.DOSE_STARTED_LATE: "The current dose started after the date the criterion requires.",
    ReasonCode.REVIEW: "A judgment criterion: only the investigator can decide (UNKNOWN, cause 'review').",
    ReasonCode.DECISION: "Settled by the investigator’s recorded decision (screening record).",
    ReasonCode.DECISION_INVALIDATED: "A recorded decision no longer applies: the data it saw changed.",
}



def reason_code_schema() -> dict:
    """The JSON Schema of a reason code: one of the codes, each with its description."""
    return {"oneOf": [{"const": c.value, "description": REASON_DESCRIPTIONS[c]} for c in ReasonCode]}


if set(REASON_DESCRIPTIONS) != set(ReasonCode):  # pragma: no cover - guarded by tests
    raise TypeError("every ReasonCode needs a description")
