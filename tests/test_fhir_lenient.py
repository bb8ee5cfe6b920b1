"""Real FHIR is not clean R4: lenient reading (the default) and strict reading.

Each malformation found in ../shared/corpora/fhir/ has a small bundle of its own
here; the corpus itself is read at the end (skipped when the folder is absent).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from eligimatch.errors import FhirError
from eligimatch.sources.fhir import patient_from_bundle
from eligimatch.sources.fhir import resource_outcomes, report_summary as summary

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("ELIGIMATCH_SHARED", ROOT.parent / "shared")) / "corpora" / "fhir"


def _patient(**extra):
    p = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1980-01-01"}
    p.update(extra)
    return p


def _bundle(*resources, patient=None, type="collection"):
    entries = [patient or _patient(), *resources]
    return {"resourceType": "Bundle", "type": type, "entry": [{"resource": r} for r in entries]}


def _obs(id="o", code="751-8", value=2.0, unit="10*9/L", **extra):
    r = {"resourceType": "Observation", "id": id, "status": "final", "subject": {"reference": "Patient/p"},
         "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": "2026-02-10",
         "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit}}
    r.update(extra)
    return r


def _condition(id="c", **extra):
    r = {"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p"},
         "clinicalStatus": {"coding": [{"code": "active"}]},
         "code": {"coding": [{"system": SNOMED, "code": "55464009"}]}, "onsetDateTime": "2019-04-01"}
    r.update(extra)
    return r


def _lines(result, rid):
    return [l for l in result.report.lines if l.resource_id == rid]


def _outcome(result, rid):
    return {l.outcome for l in _lines(result, rid) if l.outcome != "note"}


# --------------------------------------------------------------------------- one invalid resource


def test_an_invalid_resource_is_quarantined_and_the_rest_is_used():
    result = patient_from_bundle(_bundle(_obs(id="bad", value="lots"), _obs(id="good", value=2.5)))
    assert [o.value for o in result.patient.observations] == [2.5]
    (line,) = result.report.quarantined
    assert (line.resource_id, line.where) == ("bad", "entry 1")
    assert "Observation.valueQuantity.value" in line.reason and "'lots'" in line.reason
    assert "1 quarantined" in result.report.text() and "Quarantined" in result.report.text()


def test_strict_keeps_all_or_nothing():
    with pytest.raises(FhirError) as err:
        patient_from_bundle(_bundle(_obs(id="bad", value="lots"), _obs(id="good")), strict=True)
    assert err.value.path == "Observation.valueQuantity.value"


def test_a_tumour_marker_with_two_values_is_quarantined_not_the_bundle():
    marker = _obs(id="her2", code="48676-1", valueCodeableConcept={"coding": [{"system": SNOMED, "code": "10828004"}]})
    result = patient_from_bundle(_bundle(marker, _obs(id="anc")))
    assert _outcome(result, "her2") == {"quarantined"} and _outcome(result, "anc") == {"mapped"}


def test_a_component_without_code_is_quarantined():
    bp = _obs(id="bp", code="85354-9", component=[{"valueQuantity": {"value": 120}}])
    del bp["valueQuantity"]
    result = patient_from_bundle(_bundle(bp))
    (line,) = result.report.quarantined
    assert "Observation.component[0].code" in line.reason


def test_unknown_resource_type_is_quarantined_and_histories_are_not_complete():
    result = patient_from_bundle(_bundle({"resourceType": "Observaton", "id": "x"}, _condition()),
                                 complete={"conditions": True})
    assert _outcome(result, "x") == {"quarantined"}
    assert "not a FHIR R4 resource type" in _lines(result, "x")[0].reason
    assert result.patient.complete.conditions is False  # it could have been a condition


def test_no_usable_patient_rejects_the_input_with_the_reason():
    with pytest.raises(FhirError, match=r"no usable Patient.*Patient.gender"):
        patient_from_bundle(_bundle(patient=_patient(gender=17)))


# --------------------------------------------------------------------------- placeholders


def test_placeholder_date_in_a_read_element_quarantines_the_resource():
    req = {"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": "order",
           "subject": {"reference": "Patient/p"}, "authoredOn": "YYYY-MM-DD",
           "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                     "code": "6851"}]}}
    result = patient_from_bundle(_bundle(req))
    (line,) = result.report.quarantined
    assert "MedicationRequest.authoredOn" in line.reason and "placeholder" in line.reason
    assert result.patient.therapies == ()


def test_placeholder_date_in_an_unread_extension_is_dropped_with_a_note():
    asserted = {"url": "http://hl7.org/fhir/StructureDefinition/condition-assertedDate", "valueDateTime": "YYYY-MM-DD"}
    result = patient_from_bundle(_bundle(_condition(extension=[asserted])))
    assert [c.code for c in result.patient.conditions] == ["SNOMED:55464009"]
    notes = [l.reason for l in _lines(result, "c") if l.outcome == "note"]
    assert any("Condition.extension[0]" in n and "dropped" in n and "placeholder" in n for n in notes)


# --------------------------------------------------------------------------- older FHIR versions


def test_dstu2_medication_order_is_told_apart():
    order = {"resourceType": "MedicationOrder", "id": "mo", "status": "active", "patient": {"reference": "Patient/p"},
             "medicationCodeableConcept": {"text": "Methotrexate 2.5 MG Oral Tablet"}}
    result = patient_from_bundle(_bundle(order), complete={"therapies": True})
    (line,) = result.report.quarantined
    assert "DSTU2" in line.reason and "MedicationRequest" in line.reason
    assert result.patient.therapies == () and result.patient.complete.therapies is False
    with pytest.raises(FhirError, match="DSTU2"):
        patient_from_bundle(_bundle(order), strict=True)


def test_stu3_observation_context_is_not_read_as_r4():
    result = patient_from_bundle(_bundle(_obs(context={"reference": "Encounter/e"})))
    (line,) = result.report.quarantined
    assert "Observation.context" in line.reason and "STU3" in line.reason
    assert result.patient.observations == ()


def test_stu3_requester_agent_is_not_read_as_r4():
    req = {"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": "order",
           "subject": {"reference": "Patient/p"}, "authoredOn": "2026-01-01",
           "requester": {"agent": {"reference": "Practitioner/x"}},
           "medicationCodeableConcept": {"text": "Methotrexate 2.5 MG Oral Tablet"}}
    result = patient_from_bundle(_bundle(req))
    (line,) = result.report.quarantined
    assert "requester.agent" in line.reason


def test_stu3_condition_with_plain_status_codes_is_quarantined():
    cond = _condition(clinicalStatus="active", verificationStatus="refuted")
    result = patient_from_bundle(_bundle(cond), complete={"conditions": True})
    (line,) = result.report.quarantined
    assert "Condition.clinicalStatus as a plain code" in line.reason
    assert result.patient.conditions == () and result.patient.complete.conditions is False


def test_dstu2_patient_keeps_its_demographics():
    patient = _patient(name=[{"family": ["Smith-Mitre"], "given": ["Elizabeth"]}], birthDate="1942-01-07")
    result = patient_from_bundle(_bundle(patient=patient))
    assert result.patient.birth_date == dt.date(1942, 1, 7) and result.patient.sex == "female"
    notes = [l.reason for l in _lines(result, "p") if l.outcome == "note"]
    assert any("Patient.name" in n and "dropped" in n and "DSTU2" in n for n in notes)
    with pytest.raises(FhirError, match="Patient.name"):
        patient_from_bundle(_bundle(patient=patient), strict=True)


# --------------------------------------------------------------------------- bundle shapes


def test_a_bundle_entry_wrapping_a_bundle_is_unwrapped_with_a_note():
    wrapped = {"fullUrl": "urn:uuid:b", "resource": _bundle(_obs())}
    result = patient_from_bundle(wrapped)
    assert len(result.patient.observations) == 1
    assert any("Bundle.entry wrapping a Bundle" in l.reason for l in result.report.notes)
    with pytest.raises(FhirError, match="expected a FHIR Bundle"):
        patient_from_bundle(wrapped, strict=True)


def test_a_bundle_inside_an_entry_has_its_entries_read():
    outer = {"resourceType": "Bundle", "type": "collection",
             "entry": [{"resource": _bundle(_obs())}]}
    result = patient_from_bundle(outer)
    assert result.patient.id == "p" and len(result.patient.observations) == 1
    assert result.report.for_resource("Observation", "o")[0].where == "entry 0 > entry 1"


def test_document_bundle_with_composition_and_urn_uuid_references():
    composition = {"resourceType": "Composition", "id": "doc", "status": "final", "date": "2026-01-01",
                   "type": {"coding": [{"system": LOINC, "code": "60591-5"}]}, "title": "Patient summary",
                   "subject": {"reference": "urn:uuid:pat"}, "author": [{"reference": "urn:uuid:pat"}]}
    med = {"resourceType": "Medication", "id": "m", "code": {"text": "Methotrexate"}}
    statement = {"resourceType": "MedicationStatement", "id": "ms", "status": "active",
                 "subject": {"reference": "urn:uuid:pat"}, "medicationReference": {"reference": "urn:uuid:med"},
                 "effectiveDateTime": "2025-06"}
    cond = _condition(subject={"reference": "urn:uuid:pat"})
    bundle = {"resourceType": "Bundle", "type": "document", "identifier": {"value": "x"},
              "timestamp": "2026-01-01T00:00:00Z",
              "entry": [{"fullUrl": "urn:uuid:doc", "resource": composition},
                        {"fullUrl": "urn:uuid:pat", "resource": _patient()},
                        {"fullUrl": "urn:uuid:med", "resource": med},
                        {"fullUrl": "urn:uuid:ms", "resource": statement},
                        {"fullUrl": "urn:uuid:c", "resource": cond}]}
    result = patient_from_bundle(bundle)
    assert [t.drug for t in result.patient.therapies] == ["methotrexate"]
    assert len(result.patient.conditions) == 1
    assert _outcome(result, "doc") == {"unmapped"} and _outcome(result, "m") == {"mapped"}


# --------------------------------------------------------------------------- data absent


def test_primitive_extensions_with_data_absent_reason():
    patient = {"resourceType": "Patient", "id": "p",
               "_deceasedDateTime": {"extension": [{"url": DAR, "valueCode": "unknown"}]}}
    proc = {"resourceType": "Procedure", "id": "pr",
            "_performedDateTime": {"extension": [{"url": DAR, "valueCode": "unknown"}]}}
    result = patient_from_bundle(_bundle(proc, patient=patient))
    assert any("deceasedDateTime is absent (data-absent-reason: unknown)" in l.reason for l in _lines(result, "p"))
    (line,) = result.report.quarantined  # a Procedure with no subject or status is not valid R4
    assert line.resource_id == "pr" and "Procedure.subject" in line.reason


def test_a_value_that_also_carries_data_absent_reason_is_not_used():
    """Issue 18 D16: a value given together with dataAbsentReason is contradictory, never used."""
    obs = _obs(dataAbsentReason={"coding": [{"code": "error"}]})
    result = patient_from_bundle(_bundle(obs))
    assert result.patient.observations == ()
    reasons = [l.reason for l in _lines(result, "o")]
    assert any("valueQuantity is given with a data-absent-reason (error)" in r for r in reasons)


def test_a_primitive_value_marked_absent_is_not_used():
    patient = _patient(_birthDate={"extension": [{"url": DAR, "valueCode": "masked"}]})
    obs = _obs(_effectiveDateTime={"extension": [{"url": DAR, "valueCode": "unknown"}]})
    qty = _obs(id="q")
    qty["valueQuantity"]["_value"] = {"extension": [{"url": DAR, "valueCode": "error"}]}
    result = patient_from_bundle(_bundle(obs, qty, patient=patient))
    assert result.patient.birth_date is None
    assert [(o.value, o.date) for o in result.patient.observations] == [(2.0, None)]
    assert _outcome(result, "q") == {"skipped"}


# --------------------------------------------------------------------------- the summary


def test_summary_counts_resources():
    result = patient_from_bundle(_bundle(_obs(id="bad", value="x"), _obs(id="good"), _obs(id="nope", code="1-8")))
    outcomes = {key[1]: o for key, (o, _) in resource_outcomes(result.report).items()}
    assert outcomes == {"p": "mapped", "bad": "quarantined", "good": "mapped", "nope": "not mapped"}
    text = summary(result.report)
    assert text.startswith("FHIR: 4 resource(s): 2 mapped, 1 not mapped, 1 quarantined")
    assert "Observation/bad" in text and "Observation/nope" in text


# --------------------------------------------------------------------------- the corpus


def _corpus_files():
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.glob("*/*.json"))


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the FHIR corpus is not at {CORPUS} (set "
                                  "ELIGIMATCH_SHARED to the folder holding corpora/)")


def _has_patient(doc) -> bool:
    return '"resourceType": "Patient"' in json.dumps(doc)


@needs_corpus
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_corpus_bundle_with_a_patient_is_rejected_whole(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not _has_patient(doc):
        with pytest.raises(FhirError, match="no Patient"):
            patient_from_bundle(path)
        return
    result = patient_from_bundle(path)
    assert result.patient is not None
    for line in result.report.quarantined:
        assert line.reason and line.where.startswith("entry")
    assert result.report.resources >= 1


@needs_corpus
def test_corpus_old_versions_are_told_apart():
    dstu2 = patient_from_bundle(CORPUS / "inferno" / "sample_record.json")
    reasons = [l.reason for l in dstu2.report.quarantined]
    assert any("MedicationOrder is a DSTU2 resource type" in r for r in reasons)
    assert dstu2.patient.birth_date == dt.date(1964, 2, 10)
    stu3 = patient_from_bundle(next((CORPUS / "inferno").glob("Bud153_*.json")))
    reasons = [l.reason for l in stu3.report.quarantined]
    assert any("Observation.context (STU3" in r for r in reasons)
    assert any("requester.agent" in r or "MedicationRequest.context" in r for r in reasons)
    assert stu3.patient.observations == ()  # nothing of an STU3 export is read as R4


@needs_corpus
def test_corpus_malformed_mcode_patient_and_nested_bundle():
    patient = patient_from_bundle(CORPUS / "mcode-extraction" / "patient-bundle.json").patient
    assert (patient.birth_date, patient.sex) == (dt.date(1942, 1, 7), "female")
    nested = patient_from_bundle(CORPUS / "mcode-extraction" / "test-bundle.json")
    assert nested.patient.id == "any-unique-id"
    assert any("wrapping a Bundle" in l.reason for l in nested.report.notes)
