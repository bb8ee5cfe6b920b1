"""The screening record: what a coordinator learns, kept apart from the clinical profile.

A :class:`ScreeningRecord` (pydantic, JSON) holds

* **answers** to the question plan -- a yes/no or coded fact (``pregnant:
  false``) or a test result (``creatinine 0.9 mg/dL on 2026-03-02``), each with
  who recorded it and when;
* the investigator's **decisions** on criteria only the investigator can decide
  (``judgment``): per trial and criterion id, met or not met, who, when, a note,
  and a *fingerprint* of the patient data the decision saw.

``match(patient, trial, decisions=record)`` and ``screen(..., decisions=record)``
apply it: answers become facts or results of the profile (their source says
"screening record"); a decision settles its criterion -- but only while the
criterion waits on the investigator alone (UNKNOWN for review) and while the
data it saw are unchanged.  The criterion's evidence then says "decided by the
investigator (dr-lee) on 2026-03-02: met; note: ...".  When the data under a
decision have changed, the decision is not applied, the evidence says so and
the result lists it in ``decisions_invalidated``: the investigator decides again.

The fingerprint (:func:`fingerprint`) of a criterion with a data part (``anc <
1 x10^9/L and judgment``) is a digest of that criterion's evidence -- facts,
values, units, conversions, thresholds, dates, sources -- as evaluated when the
decision was recorded.  A criterion that is judgment only (``judgment``: "any
other condition that would make the patient unsuitable") depends on the whole
chart: its fingerprint is a digest of the clinical profile (answers of the
screening record left out, so that answering a question does not undo it).
Record decisions with :func:`decide`, which computes the fingerprint.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any, Iterable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from eligimatch.errors import DecisionError, PatientDataError
from eligimatch.logic import Cause
from eligimatch.sources._patient import Patient, load_patient
from eligimatch.engine._result import (CriterionResult, Evidence, MatchResult, Outcome, criterion_row, evidence_model,
                                     make_evidence)

__all__ = ["Answer", "Decision", "ScreeningRecord", "DecisionError", "decide", "apply_answers", "fingerprint",
           "clinical_digest", "Prepared", "prepare"]

Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Answer(_Model):
    """An answer to a question: a fact's value, or a test result (an analyte with a value and unit)."""

    fact: str = Field(description="A fact of the catalog (pregnant, ecog ...) or an analyte (creatinine ...).")
    value: Scalar
    unit: str | None = Field(default=None, description="The unit of a numeric value.")
    date: _dt.date | None = Field(default=None, description="The date the value holds for (a test: when taken); "
                                                            "default: the day it was recorded.")
    by: str = Field(description="Who recorded it.")
    when: _dt.date = Field(description="When it was recorded.")
    note: str | None = None


class Decision(_Model):
    """The investigator's decision on one criterion of one trial."""

    trial: str = Field(description="The trial's id.")
    criterion: str = Field(description="The criterion's id.")
    met: bool = Field(description="Whether the patient satisfies the criterion (for an exclusion: not excluded).")
    by: str = Field(description="Who decided.")
    when: _dt.date = Field(description="When.")
    note: str | None = None
    fingerprint: str = Field(description="Digest of the patient data the decision saw (see decide()).")


class ScreeningRecord(_Model):
    """Answers and decisions for one patient, kept apart from the clinical profile."""

    schema_version: Literal["1"] | None = Field(default=None, description="The version of this JSON format "
                                                                          "(optional; '1').")
    patient_id: str | None = None
    answers: tuple[Answer, ...] = ()
    decisions: tuple[Decision, ...] = ()

    def with_answer(self, answer: Answer) -> ScreeningRecord:
        """This record with ``answer`` (replacing an earlier answer for the same fact)."""
        kept = tuple(a for a in self.answers if a.fact != answer.fact)
        return self.model_copy(update={"answers": kept + (answer,)})

    def with_decision(self, decision: Decision) -> ScreeningRecord:
        """This record with ``decision`` (replacing an earlier one on the same trial and criterion)."""
        kept = tuple(d for d in self.decisions
                     if (d.trial, d.criterion) != (decision.trial, decision.criterion))
        return self.model_copy(update={"decisions": kept + (decision,)})

    def decision(self, trial: str, criterion: str) -> Decision | None:
        for d in self.decisions:
            if d.trial == trial and d.criterion == criterion:
                return d
        return None


# ---- answers -------------------------------------------------------------------------------------

def apply_answers(patient: Patient, answers: Iterable[Answer], catalogs: Any) -> tuple[Patient, tuple[str, ...]]:
    """The profile with the answers added (validated as any profile), and warnings for answers not used.

    A fact answer is used when the chart has no value for the fact, or an older dated one; an answer for a
    fact the chart records otherwise (undated, or of the same date or later) is not used, and a warning says
    so: the chart is corrected at its source, not overruled here.  A test answer is added as a result.
    """
    answers = tuple(answers)
    if not answers:
        return patient, ()
    doc = patient.model_dump(mode="json", exclude_none=True)
    facts: dict[str, Any] = doc.setdefault("facts", {})
    observations: list[Any] = doc.setdefault("observations", [])
    warnings: list[str] = []
    for i, a in enumerate(answers):
        date = a.date or a.when
        source = {"type": "ScreeningRecord", "id": f"answer {a.fact} by {a.by} on {a.when}"}
        fd = catalogs.facts.resolve(a.fact)
        if fd is not None:
            key = next((k for k in facts if getattr(catalogs.facts.resolve(k), "id", None) == fd.id), fd.id)
            old = patient.fact(key)
            if old is not None:
                old_date = getattr(old, "date", None)
                newer = old_date is not None and _date_before(old_date, date)
                if not newer:
                    if old.value != a.value:
                        warnings.append(f"answers.{i}: the chart records {a.fact} = {old.value!r}"
                                        + (f" on {old_date}" if old_date else "")
                                        + f"; the answer {a.value!r} of {a.when} is not used")
                    continue
            fact: dict[str, Any] = {"value": a.value, "date": date.isoformat(), "source": source}
            if a.unit is not None:
                fact["unit"] = a.unit
            facts[key] = fact
        elif catalogs.analytes.resolve(a.fact) is not None:
            if isinstance(a.value, bool) or not isinstance(a.value, (int, float)):
                raise PatientDataError(f"answers.{i}.value: a result of {a.fact} is a number, not {a.value!r}",
                                       [{"path": f"answers.{i}.value", "loc": ("answers", i, "value"),
                                         "msg": "a number is required", "type": "value_error"}])
            obs: dict[str, Any] = {"analyte": a.fact, "value": a.value, "date": date.isoformat(), "source": source}
            if a.unit is not None:
                obs["unit"] = a.unit
            observations.append(obs)
        else:
            hint = "; ".join(catalogs.facts.suggest(a.fact))
            raise PatientDataError(f"answers.{i}.fact: {a.fact!r} is neither a fact nor an analyte of the catalogs"
                                   + (f" (did you mean {hint}?)" if hint else ""),
                                   [{"path": f"answers.{i}.fact", "loc": ("answers", i, "fact"),
                                     "msg": "unknown fact", "type": "value_error"}])
    return load_patient(doc), tuple(warnings)


def _date_before(old: Any, new: _dt.date) -> bool:
    """Whether a (possibly partial) chart date lies wholly before ``new``."""
    end = getattr(old, "latest", old)  # a PartialDate's last possible day, or a date
    return isinstance(end, _dt.date) and end < new


# ---- fingerprints -------------------------------------------------------------------------------

def clinical_digest(patient: Patient) -> str:
    """A digest of the whole clinical profile."""
    # the format's version is not clinical data: a profile with or without it has the same digest
    return hashlib.sha256(patient.model_dump_json(exclude={"schema_version"}).encode("utf-8")).hexdigest()[:32]


def _evidence_key(e: Evidence) -> list[Any]:
    return [e.fact, e.code, e.value, e.unit, e.converted, e.converted_unit, e.threshold, e.reference,
            e.date.isoformat() if e.date else None, e.source]


def fingerprint(trial_id: str, c: CriterionResult, judgment_only: bool, clinical: str) -> str:
    """The digest of the data a decision on ``c`` depends on (see the module's documentation)."""
    if judgment_only:
        data: Any = ["chart", clinical]
    else:
        data = ["evidence", [_evidence_key(e) for e in c.evidence if e.code not in ("review", "decision",
                                                                                       "decision_invalidated")]]
    text = json.dumps([trial_id, c.id, data], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def awaits_investigator(c: CriterionResult) -> bool:
    return c.outcome == Outcome.UNKNOWN and bool(c.causes) and all(x == Cause.REVIEW for x in c.causes)


# ---- applying decisions ---------------------------------------------------------------------------

class Prepared:
    """A record made ready for matching: the decisions by (trial, criterion), the clinical digest."""

    __slots__ = ("decisions", "clinical", "warnings")

    def __init__(self, decisions: dict[tuple[str, str], Decision], clinical: str, warnings: tuple[str, ...] = ()):
        self.decisions = decisions
        self.clinical = clinical
        self.warnings = warnings


def prepare(patient: Patient, record: ScreeningRecord | Iterable[Decision] | Prepared | None,
            catalogs: Any) -> tuple[Patient, Prepared | None]:
    """Apply the record's answers to ``patient`` and index its decisions (the clinical digest is of
    ``patient`` as given, before the answers)."""
    if record is None or isinstance(record, Prepared):
        return patient, record
    if not isinstance(record, ScreeningRecord):
        record = ScreeningRecord(decisions=tuple(record))
    clinical = clinical_digest(patient)
    patient2, warnings = apply_answers(patient, record.answers, catalogs)
    return patient2, Prepared({(d.trial, d.criterion): d for d in record.decisions}, clinical, warnings)


def _decision_note(d: Decision) -> str:
    verb = "met" if d.met else "not met"
    return f"decided by the investigator ({d.by}) on {d.when}: {verb}" + (f"; note: {d.note}" if d.note else "")


def apply_decisions(trial_id: str, results: list[CriterionResult], judgment_only: dict[str, bool],
                    prepared: Prepared) -> tuple[list[CriterionResult], tuple[str, ...], tuple[str, ...]]:
    """``results`` with the decisions on them applied; the ids decided and the ids whose decision lapsed."""
    decided: list[str] = []
    lapsed: list[str] = []
    out = []
    for c in results:
        d = prepared.decisions.get((trial_id, c.id))
        if d is None or not awaits_investigator(c):
            out.append(c)
            continue
        fp = fingerprint(trial_id, c, judgment_only.get(c.id, False), prepared.clinical)
        if fp != d.fingerprint:
            lapsed.append(c.id)
            ev = evidence_model(make_evidence(
                fact="judgment", code="decision_invalidated",
                note=f"the investigator's decision of {d.when} ({'met' if d.met else 'not met'}, by {d.by}) "
                     f"no longer applies: the patient data it saw have changed; decide again"))
            out.append(criterion_row(c.id, c.kind, c.text, c.cohort, c.outcome, c.met, c.causes,
                                     c.reasons + ("decision_invalidated",), c.evidence + (ev,), c.missing, c.line))
            continue
        decided.append(c.id)
        truth = d.met if c.kind == "inclusion" else not d.met
        ev = evidence_model(make_evidence(fact="judgment", code="decision", note=_decision_note(d), value=d.met,
                                          source=f"screening record ({d.by}, {d.when})"))
        evidence = tuple(e for e in c.evidence if e.code != "review") + (ev,)
        out.append(criterion_row(c.id, c.kind, c.text, c.cohort, Outcome.TRUE if truth else Outcome.FALSE, d.met,
                                 (), tuple(r for r in c.reasons if r != "review") + ("decided_by_investigator",),
                                 evidence, (), c.line))
    return out, tuple(decided), tuple(lapsed)


# ---- recording a decision ------------------------------------------------------------------------

def decide(patient: Patient, trial: Any, criterion: str, met: bool, *, by: str, when: _dt.date | None = None,
           note: str | None = None, record: ScreeningRecord | None = None, as_of: _dt.date | None = None,
           anchors: Any = None) -> Decision:
    """The investigator's decision on ``criterion`` of ``trial``, with the fingerprint of what it saw.

    The criterion is evaluated as ``match`` would (with the record's answers applied); it must be waiting on
    the investigator alone, or :class:`DecisionError` says why not (decided by the data, or data missing).
    """
    from eligimatch.engine._matching import match
    from eligimatch.screening._screen import trial_label

    label = trial_label(trial)
    base = record.model_copy(update={"decisions": ()}) if record is not None else None
    r: MatchResult = match(patient, trial, as_of=as_of, anchors=anchors, decisions=base)
    try:
        c = r.criterion(criterion)
    except KeyError:
        raise DecisionError(f"{label} has no criterion {criterion!r}") from None
    if not awaits_investigator(c):
        state = {True: "met", False: "not met", None: "unknown"}[c.met]
        why = ("the data decide it" if c.met is not None
               else "it also waits on data: " + "; ".join(m.detail for m in c.missing))
        raise DecisionError(f"{label} {criterion} is {state}; there is nothing for the investigator to decide "
                            f"({why})")
    compiled = next(x for x in trial.all_criteria() if x.id == criterion)
    clinical = clinical_digest(patient)
    return Decision(trial=label, criterion=criterion, met=met, by=by, when=when or _dt.date.today(), note=note,
                    fingerprint=fingerprint(label, c, compiled.judgment, clinical))


def load_record(data: str | bytes | dict) -> ScreeningRecord:
    """Validate a screening record document (JSON text or a dict)."""
    from pydantic import ValidationError

    try:
        if isinstance(data, dict):
            return ScreeningRecord.model_validate(data)
        return ScreeningRecord.model_validate_json(data)
    except ValidationError as exc:
        errors = [{"path": ".".join(str(x) for x in e["loc"]) or "(document)", "loc": e["loc"], "msg": e["msg"],
                   "type": e["type"]} for e in exc.errors()]
        lines = [f"  {e['path']}: {e['msg']}" for e in errors]
        raise PatientDataError("the screening record is not valid:\n" + "\n".join(lines), errors) from None
