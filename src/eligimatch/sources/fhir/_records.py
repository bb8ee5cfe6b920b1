"""FHIR Conditions, Procedures and ResearchSubjects: verification and clinical status rules, onset and abatement,
codes resolved through the catalogs and the terminology (:class:`eligimatch.sources._resolve.Resolver`).  Part of
the FHIR mapper (:mod:`eligimatch.sources.fhir._mapper`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from eligimatch.sources._patient import Condition, Procedure, StudyParticipation
from eligimatch.sources._resolve import short_error
from eligimatch.sources.fhir._parts import FhirParts
from eligimatch.sources.fhir._validate import _Item
from eligimatch.sources.fhir._values import (
    _COND_CLINICAL,
    _PROC_USED,
    _STUDY_TAKING_PART,
    _UNCERTAIN,
    VERIFICATION_CODES,
    _abated,
    _code_labels,
    _codings,
    _fhir_date,
    _names,
    _verification,
)

__all__ = ["RecordMixin"]


class RecordMixin(FhirParts):
    """The Condition, Procedure and ResearchSubject part of the FHIR mapper."""

    def map_condition(self, item: _Item) -> None:
        c = item.model
        codes = _code_labels(c.code)
        ver_code = _verification(c.verificationStatus)
        if ver_code in ("refuted", "entered-in-error"):
            self.add("skipped", item, f"verificationStatus {ver_code!r}: not a condition of the patient", codes)
            return
        if ver_code in _UNCERTAIN:
            self.add("skipped", item, f"verificationStatus {ver_code!r}: a diagnosis not confirmed is not used",
                     codes)
            self.doubtful("conditions")
            return
        if ver_code is not None and ver_code not in VERIFICATION_CODES:
            # outside the value set: whether the diagnosis is confirmed cannot be told; never read as confirmed
            self.add("skipped", item, f"verificationStatus {ver_code!r} is not a code of the R4 value set "
                                      f"condition-ver-status: whether the diagnosis is confirmed is unknown, "
                                      f"so it is not used", codes)
            self.doubtful("conditions")
            return
        concept, code, name, how = self.concept_of(c.code, self.cat.conditions, ("SNOMED", "ICD10CM"))
        if concept is None:
            self.add("unmapped", item, "condition code not in the condition catalog" if codes else
                     "no code and no name the condition catalog knows", codes, history="conditions")
            return
        clinical = _codings(c.clinicalStatus)
        status: Any = _COND_CLINICAL.get(clinical[0][1]) if clinical else None
        notes = []
        onset, n = self.cond_onset(c)
        if n:
            notes.append(n)
        end, n = self.cond_end(c)
        if n:
            notes.append(n)
        if c.clinicalStatus is None and end is None and _abated(c):
            # an abatement of any type (an age, a range, a text, a period without dates) says the condition
            # ended, though not when: without a clinicalStatus it is not current (D9)
            status = "resolved"
            notes.append("abatement recorded without a date and without clinicalStatus: read as resolved")
        attributes, attr_notes = self.condition_attributes(item, c, _codings)
        notes += attr_notes
        try:
            rec = Condition(name=name, code=code, onset=onset, end=end, status=status, attributes=attributes,
                            source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"invalid: {short_error(exc)}", codes, history="conditions")
            return
        self.conditions.append(rec)
        self.condition_items.append(item)
        self.add("mapped", item, f"{concept.name}{how}", codes,
                 target=f"conditions: {concept.id} (onset {onset or 'not recorded'}"
                        f"{', ended ' + str(end) if end else ''}{', ' + status if status else ''})")
        for note in notes:
            self.add("note", item, note)

    def concept_of(self, cc: Any, catalog: Any, systems: tuple[str, ...]) -> tuple[Any, str | None, str | None, str]:
        """(concept, code used, name to record, how) for a CodeableConcept (see :meth:`Resolver.concept_of`)."""
        return self.terms.concept_of(_codings(cc), _names(cc), catalog, systems, getattr(cc, "text", None))

    # ---- ResearchSubject (issue 13: participation in another study)
    def map_research_subject(self, item: _Item) -> None:
        r = item.model
        if r.status not in _STUDY_TAKING_PART:
            self.add("skipped", item, f"status {r.status!r}: not (yet) taking part in the study")
            return
        ref = r.study
        ident = getattr(getattr(ref, "identifier", None), "value", None)
        study = ident or getattr(ref, "display", None) or getattr(ref, "reference", None)
        period = r.period
        start = _fhir_date(period.start)[0] if period is not None and period.start is not None else None
        end = _fhir_date(period.end)[0] if period is not None and period.end is not None else None
        try:
            rec = StudyParticipation(study=study, start=start, end=end, source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"invalid: {short_error(exc)}")
            return
        self.studies.append(rec)
        self.add("mapped", item, f"study {study or '(not named)'}",
                 target=f"studies: {study or '(not named)'} ({start or '?'} to {end or 'ongoing'})")

    def med_indication(self, m: Any) -> str | None:
        """The condition a medication was given for (``reasonCode``, issue 13): the first the condition catalog
        places, else the first one's text (an indication the criteria cannot place leaves them UNKNOWN)."""
        reasons = getattr(m, "reasonCode", None) or []
        for cc in reasons:
            concept = self.concept_of(cc, self.cat.conditions, ("ICD10CM", "SNOMED"))[0]
            if concept is not None:
                return concept.id
        return next((n for cc in reasons for n in _names(cc)), None)

    def cond_onset(self, c: Any) -> tuple[Any, str | None]:
        if c.onsetDateTime is not None:
            return _fhir_date(c.onsetDateTime)
        if c.onsetPeriod is not None:
            if c.onsetPeriod.start is not None:
                return _fhir_date(c.onsetPeriod.start)
            return None, "onsetPeriod has no start: onset left unknown"
        for attr in ("onsetAge", "onsetRange", "onsetString"):
            if getattr(c, attr) is not None:
                return None, f"{attr} is not converted to a date: onset left unknown"
        return None, None

    def cond_end(self, c: Any) -> tuple[Any, str | None]:
        if c.abatementDateTime is not None:
            return _fhir_date(c.abatementDateTime)
        if c.abatementPeriod is not None:
            p = c.abatementPeriod
            if p.end is not None:
                return _fhir_date(p.end)
            if p.start is not None:
                return _fhir_date(p.start)
        for attr in ("abatementAge", "abatementRange", "abatementString"):
            if getattr(c, attr) is not None:
                return None, f"{attr} is not converted to a date: end left unknown"
        return None, None

    # ---- Procedure
    def map_procedure(self, item: _Item) -> None:
        p = item.model
        codes = _code_labels(p.code)
        if p.status not in _PROC_USED:
            self.add("skipped", item, f"status {p.status!r}: only completed and in-progress procedures are used",
                     codes)
            if p.status in ("stopped", "on-hold", "unknown"):
                self.doubtful("procedures")
            return
        concept, code, name, how = self.concept_of(p.code, self.cat.procedures, ("SNOMED", "CPT"))
        if concept is None:
            self.add("unmapped", item, "procedure code not in the procedure catalog" if codes else
                     "no code and no name the procedure catalog knows", codes, history="procedures")
            return
        note = None
        when = None
        if p.performedDateTime is not None:
            when, note = _fhir_date(p.performedDateTime)
        elif p.performedPeriod is not None:
            when, note = _fhir_date(p.performedPeriod.start or p.performedPeriod.end)
        elif any(getattr(p, a) is not None for a in ("performedString", "performedAge", "performedRange")):
            note = "performed[x] is not a date: date left unknown"
        try:
            rec = Procedure(name=name, code=code, date=when, source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"invalid: {short_error(exc)}", codes, history="procedures")
            return
        self.procedures.append(rec)
        self.add("mapped", item, f"{concept.name}{how}", codes,
                 target=f"procedures: {concept.id} ({when or 'date not recorded'})")
        if note:
            self.add("note", item, note)

