"""The FHIR mapper: one patient's resources, indexed and checked (duplicates, references to the patient), mapped
record by record into a :class:`~eligimatch.Patient` with a :class:`~eligimatch.sources._report.MappingReport`.

The source-independent work (report lines, facts chosen by date, completeness, catalog and terminology resolution)
is the shared mapping core in :mod:`eligimatch.sources._collect` and :mod:`eligimatch.sources._resolve`; the FHIR
resource types are read by the mixins of :mod:`._observations`, :mod:`._records`, :mod:`._medications` and
:mod:`._oncology`.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from eligimatch.errors import FhirError
from eligimatch.sources._collect import Collector
from eligimatch.sources._patient import Completeness, Patient, Source
from eligimatch.sources._report import MappingReport, ReportLine
from eligimatch.sources.fhir._medications import MedicationMixin
from eligimatch.sources.fhir._observations import ObservationMixin
from eligimatch.sources.fhir._oncology import OncologyMixin
from eligimatch.sources.fhir._records import RecordMixin
from eligimatch.sources.fhir._validate import R4_ONLY, _Item
from eligimatch.sources.fhir._values import _REF_TAIL, _TYPE_REASONS, _code_labels

__all__ = ["FhirImport"]


@dataclass(frozen=True)
class FhirImport:
    """The result of reading FHIR: the patient profile and the mapping report."""

    patient: Patient
    report: MappingReport



class _Mapper(ObservationMixin, RecordMixin, MedicationMixin, OncologyMixin, Collector):
    def __init__(self, items: list[_Item], catalogs: Any, complete: Completeness, patient_id: str | None,
                 input_notes: Iterable[str] = (), terminology: Any = None):
        super().__init__(catalogs, complete, terminology)
        self.items = items
        self.condition_items: list[_Item] = []  # the item of each of self.conditions
        self.input_notes = tuple(input_notes)
        self.patient_id = patient_id
        self.by_url: dict[str, _Item] = {}
        self.by_key: dict[tuple[str, str], _Item] = {}
        self.patient_item: _Item | None = None
        self.medication_users: dict[int, list[str]] = {}
        self.conflicting: list[tuple[str, str]] = []

    def source(self, item: _Item) -> Source:
        return Source(type=item.rtype, id=item.rid or item.full_url)

    def fact_candidate(self, name: str, value: Any, when: Any, item: _Item, label: str,
                       codes: tuple[str, ...] = ()) -> None:
        super().fact_candidate(name, value, when, item, label, codes or _code_labels(item.model.code))

    # ---- indexing, duplicates, the patient
    def index(self) -> None:
        groups: dict[tuple[str, str], list[_Item]] = {}
        for item in self.items:
            if item.raw is None:
                self.lines.append(ReportLine("skipped", "(no resource)", None, item.where,
                                             "the entry holds no resource (e.g. a deletion in a history bundle)",
                                             item.index))
                item.usable = False
                continue
            if item.quarantine is not None:
                self.add("quarantined", item, item.quarantine)
                self.doubtful_for(item, unknown_type=True)
            for note in item.notes:
                self.add("note", item, note)
            if item.rid:
                groups.setdefault((item.rtype, item.rid), []).append(item)
            if item.full_url:
                other = self.by_url.get(item.full_url)
                if other is not None:
                    self.add("note", item, f"fullUrl {item.full_url} is also the fullUrl of {other.where}")
                else:
                    self.by_url[item.full_url] = item
        for key, group in groups.items():
            self.by_key[key] = group[0]
            group = [g for g in group if g.quarantine is None]
            if len(group) <= 1:
                continue
            first = group[0]
            if all(g.raw == first.raw for g in group[1:]):
                for g in group[1:]:
                    g.usable = False
                    self.add("skipped", g, f"duplicate of {first.where} (same id, identical content)")
            else:
                self.conflicting.append(key)
                places = ", ".join(g.where for g in group)
                for g in group:
                    g.usable = False
                    self.add("rejected", g, f"{key[0]}/{key[1]} appears {len(group)} times with different "
                                            f"content ({places}); none of them is used")
                    self.doubtful_for(g)

    def doubtful_for(self, item: _Item, unknown_type: bool = False) -> None:
        """A record of a history could not be used: that history cannot be complete.  With
        ``unknown_type``, a resource whose type is not a known R4 type (a DSTU2 MedicationOrder,
        a misspelt type) could be a record of any history."""
        history = {"Condition": "conditions", "Procedure": "procedures", "MedicationStatement": "therapies",
                   "MedicationRequest": "therapies", "MedicationAdministration": "therapies",
                   "MedicationOrder": "therapies", "Medication": "therapies"}.get(item.rtype)
        if history:
            self.doubtful(history)
        elif unknown_type and item.model is None and item.rtype not in _TYPE_REASONS and item.rtype != "Patient":
            for h in self.doubt:
                self.doubtful(h)

    def find_patient(self) -> _Item:
        # identical copies of a Patient were marked unusable but the first (index())
        patients = [i for i in self.items if i.rtype == "Patient" and i.raw is not None and i.usable]
        for rtype, rid in self.conflicting:
            if rtype == "Patient":
                first = self.by_key[(rtype, rid)]
                raise FhirError(f"{first.where}: Patient/{rid} appears more than once with different content",
                                resource_type="Patient", resource_id=rid, index=first.index, file=first.file)
        if self.patient_id is not None:
            chosen = [p for p in patients if p.rid == self.patient_id]
            if not chosen:
                known = ", ".join(sorted(p.rid or "(no id)" for p in patients)) or "none"
                raise FhirError(f"no Patient with id {self.patient_id!r} in the input (Patients: {known})")
            for p in patients:
                if p is not chosen[0]:
                    p.usable = False
                    self.add("skipped", p, f"another patient (Patient/{self.patient_id} was selected)")
            return chosen[0]
        if not patients:
            set_aside = [i for i in self.items if i.rtype == "Patient" and i.quarantine is not None]
            if set_aside:
                first = set_aside[0]
                raise FhirError(f"the input holds no usable Patient: {first.where} (Patient/{first.rid}) is not valid "
                                f"FHIR R4: {first.quarantine}", resource_type="Patient", resource_id=first.rid,
                                index=first.index, file=first.file)
            raise FhirError("the input holds no Patient resource: a FHIR bundle must describe one patient")
        if len(patients) > 1:
            shown = ", ".join(f"Patient/{p.rid} ({p.where})" for p in patients[:5])
            raise FhirError(f"the input holds {len(patients)} Patient resources ({shown}"
                            f"{', ...' if len(patients) > 5 else ''}); it must describe one patient "
                            "(choose one with patient_id=...)", resource_type="Patient")
        return patients[0]

    def resolve(self, reference: str | None) -> _Item | None:
        """The input resource a reference names: by fullUrl, else by its ``Type/id`` tail."""
        if not reference:
            return None
        if reference.startswith("#"):
            return None
        hit = self.by_url.get(reference)
        if hit is not None:
            return hit
        m = _REF_TAIL.search(reference)
        if m:
            return self.by_key.get((m.group(1), m.group(2)))
        return None

    def belongs(self, item: _Item, ref: Any, what: str) -> bool:
        """Whether ``ref`` (the subject/patient Reference) points to the selected Patient; reports when not."""
        reference = getattr(ref, "reference", None) if ref is not None else None
        if not reference:
            self.add("skipped", item, f"no {what} reference: whose record this is cannot be told")
            self.doubtful_for(item)
            return False
        target = self.resolve(reference)
        if target is self.patient_item:
            return True
        if target is None:
            self.add("skipped", item, f"{what} {reference} is not in the input: whose record this is cannot be told")
            self.doubtful_for(item)
        elif target.rtype == "Patient":
            self.add("skipped", item, f"belongs to another patient ({what} {reference})")
        else:
            self.add("skipped", item, f"{what} {reference} is a {target.rtype}, not the patient")
            self.doubtful_for(item)
        return False

    # ---- the run
    def run(self) -> FhirImport:
        self.index()
        self.patient_item = self.find_patient()
        self.oncology_setup()
        patient_fields = self.map_patient(self.patient_item)
        handlers = {
            "Observation": self.map_observation,
            "Condition": self.map_condition,
            "Procedure": self.map_procedure,
            "MedicationStatement": self.map_medication,
            "MedicationRequest": self.map_medication,
            "MedicationAdministration": self.map_medication,
            "ResearchSubject": self.map_research_subject,
        }
        for item in self.items:
            if item.raw is None or not item.usable or item is self.patient_item:
                continue
            if item.rtype == "Patient":
                continue
            if item.rtype == "Medication":
                continue  # reported after the records that may reference it
            handler = handlers.get(item.rtype)
            if handler is None:
                self.unmapped_type(item)
                continue
            ref = item.model.individual if item.rtype == "ResearchSubject" else item.model.subject
            if not self.belongs(item, ref, "individual" if item.rtype == "ResearchSubject" else "subject"):
                continue
            handler(item)
        for item in self.items:
            if item.rtype == "Medication" and item.raw is not None and item.usable:
                users = self.medication_users.get(id(item))
                if users:
                    self.add("mapped", item, "a medication definition, read through the record(s) that reference it",
                             _code_labels(item.model.code) if item.model is not None else (),
                             target="therapies via " + ", ".join(users))
                else:
                    self.add("unmapped", item, "a medication definition no mapped record references")
        self.finish_staging({id(i) for i in self.condition_items})
        for k, (cond_item, rec) in enumerate(zip(self.condition_items, self.conditions)):
            staged, notes = self.staged_attributes(cond_item)
            for note in notes:
                self.add("note", cond_item, note)
            if staged:
                self.conditions[k] = rec.model_copy(update={"attributes": {**rec.attributes, **staged}})
                self.add("note", cond_item, "staging: " + ", ".join(f"{k2} {v}" for k2, v in staged.items()))
        facts = self.choose_facts()
        complete = self.completeness()
        try:
            patient = Patient(
                id=patient_fields.get("id"),
                birth_date=patient_fields.get("birth_date"),
                sex=patient_fields.get("sex"),
                facts=facts,
                observations=tuple(self.observations),
                conditions=tuple(self.conditions),
                therapies=tuple(self.therapies),
                procedures=tuple(self.procedures),
                studies=tuple(self.studies),
                complete=complete,
            )
        except ValidationError as exc:  # every record was validated on its own; this would be a bug
            raise FhirError(f"the mapped profile does not validate: {exc}") from None
        # In input order (facts are chosen last), the input-wide notes at the end; stable otherwise.
        order: dict[str, int] = {}
        for n, item in enumerate(self.items):
            order.setdefault(item.where, n)
        lines = sorted(self.lines, key=lambda l: order.get(l.where, len(order)))
        notes = list(self.input_notes)
        old = [i for i in self.items if i.quarantine is not None and "older FHIR version" in i.quarantine]
        if old:
            notes.append(f"{len(old)} resource(s) are in the shape of an older FHIR version (DSTU2/STU3): this input "
                         "is probably not R4; those were quarantined, and resources that validate as R4 were read "
                         "as R4")
        lines = [ReportLine("note", "Bundle", None, "input", note) for note in notes] + lines
        return FhirImport(patient, MappingReport(tuple(lines), sum(1 for i in self.items if i.raw is not None)))

    def unmapped_type(self, item: _Item) -> None:
        if item.rtype in R4_ONLY:
            reason = "an R4 resource type not validated (fhir.resources R4B has no model for it) and not mapped"
        else:
            reason = _TYPE_REASONS.get(item.rtype, f"eligimatch does not map {item.rtype} resources")
        if item.model is None and item.rtype not in R4_ONLY:
            reason += " (not validated: validate='used')"
        self.add("unmapped", item, reason)
        # references to the patient are still checked, so a wrong subject is visible
        if isinstance(item.raw, dict):
            for attr in ("subject", "patient", "beneficiary"):
                ref = item.raw.get(attr)
                reference = ref.get("reference") if isinstance(ref, dict) else None
                if isinstance(reference, str) and reference:
                    target = self.resolve(reference)
                    if target is None and not reference.startswith("#"):
                        self.add("note", item, f"{attr} {reference} is not in the input")
                    break

    # ---- Patient
    def map_patient(self, item: _Item) -> dict:
        p = item.model
        out: dict[str, Any] = {"id": item.rid}
        gender = p.gender
        if gender in ("male", "female"):
            out["sex"] = gender
        else:
            self.add("note", item, f"gender {gender!r} is not male or female: sex left unknown" if gender
                     else "no gender: sex left unknown")
        birth = p.birthDate
        if isinstance(birth, _dt.date) and not isinstance(birth, _dt.datetime):
            out["birth_date"] = birth
        elif birth is not None:
            text = str(birth)
            if re.fullmatch(r"\d{4}(-\d{2})?", text):
                out["birth_date"] = text  # a partial birth date: the Patient model keeps it as an interval
                self.add("note", item, f"birthDate {text} is known only to the {'year' if len(text) == 4 else 'month'}"
                                       ": an age criterion is decided only when every possible birthday agrees")
            else:
                self.add("note", item, f"birthDate {birth} is not a date: age left unknown")
        else:
            self.add("note", item, "no birthDate: age left unknown")
        if p.deceasedBoolean or p.deceasedDateTime is not None:
            self.add("note", item, "the patient is recorded as deceased")
        self.add("mapped", item, "demographics", target="patient: " + ", ".join(
            f"{k}={v}" for k, v in out.items() if k != "id" and v is not None) or "patient")
        return out
