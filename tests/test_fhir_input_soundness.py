"""Issue 18, FHIR input side: duplicate JSON keys (D12), bounded reads (D15) and a Condition whose
verificationStatus is outside the R4 value set (never read as confirmed)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest

pytest.importorskip("fhir.resources")

import eligimatch
from eligimatch.errors import FhirError
from eligimatch.sources.fhir import load_patient_file, patient_from_bundle, patient_from_ndjson

PATIENT = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1980-01-01"}


def _bundle(*resources):
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (PATIENT, *resources)]}


def _ms(verification=None):
    cond = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "24700007"}]},
            "clinicalStatus": {"coding": [{"code": "active"}]}}
    if verification is not None:
        cond["verificationStatus"] = verification
    return cond


# --------------------------------------------------------------------------- D12 duplicate keys


def test_d12_fhir_bundle_with_a_duplicate_key_is_refused_with_its_path():
    text = json.dumps(_bundle()).replace('"gender": "female"', '"gender": "female", "gender": "male"')
    with pytest.raises(FhirError) as info:
        patient_from_bundle(text)
    assert "entry.0.resource.gender" in str(info.value)
    assert "more than once" in str(info.value)
    assert info.value.path == "entry.0.resource.gender"


def test_d12_fhir_bundle_file_with_a_duplicate_key_is_refused(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle()).replace('"birthDate": "1980-01-01"',
                                                  '"birthDate": "1980-01-01", "birthDate": "2010-01-01"'))
    with pytest.raises(FhirError, match=r"entry\.0\.resource\.birthDate.*more than once"):
        load_patient_file(path)


def test_d12_fhir_ndjson_line_with_a_duplicate_key_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "Patient.ndjson"
    obs = ('{"resourceType": "Observation", "id": "o", "status": "final", "subject": {"reference": "Patient/p"},'
           ' "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},'
           ' "valueQuantity": {"value": 1.0, "value": 4.0, "unit": "10*9/L"}, "effectiveDateTime": "2026-02-10"}')
    path.write_text(json.dumps(PATIENT) + "\n" + obs + "\n")
    with pytest.raises(FhirError, match=r"line 2: valueQuantity\.value: the key 'value' appears more than once"):
        patient_from_ndjson(path)


def test_fhir_bundle_with_a_byte_order_mark_is_still_read(tmp_path):
    path = tmp_path / "b.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_bundle()).encode())
    assert load_patient_file(path).sex == "female"


# --------------------------------------------------------------------------- D15 bounded reads


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_d15_fhir_reader_refuses_dev_zero_instead_of_reading_forever():
    with pytest.raises(FhirError, match="not a regular file"):
        patient_from_ndjson("/dev/zero")
    with pytest.raises(FhirError, match="not a regular file"):
        patient_from_bundle(Path("/dev/zero"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_d15_fhir_reader_refuses_a_named_pipe_without_waiting(tmp_path):
    fifo = tmp_path / "bundle.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            patient_from_bundle(fifo)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a named pipe blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], FhirError)
    assert "named pipe" in str(outcome[0])


def test_d15_fhir_file_over_the_limit_is_refused_by_bytes_read(tmp_path, monkeypatch):
    from eligimatch.sources.fhir import _bundle as fhir

    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle()))
    monkeypatch.setattr(fhir, "FHIR_FILE_LIMIT", 10)
    with pytest.raises(FhirError, match="too large"):
        load_patient_file(path)


# --------------------------------------------------------------------------- verificationStatus


TRIAL_EXCLUSION = eligimatch.compile_trial('trial "T"\nexclusion:\n  - E1: history of multiple_sclerosis\n')
TRIAL_INCLUSION = eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: history of multiple_sclerosis\n')
AS_OF = dt.date(2026, 3, 1)


@pytest.mark.parametrize("verification", [
    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "example-status"}]},
    {"coding": [{"code": "confirmed"}, {"code": "example-status"}]},
    {"text": "suspected"},
])
def test_unrecognised_verification_status_is_not_read_as_confirmed(verification):
    result = patient_from_bundle(_bundle(_ms(verification)), complete={"conditions": True})
    assert not result.patient.conditions
    (line,) = result.report.for_resource("Condition", "c")
    assert line.outcome == "skipped" and "not a code of the R4 value set" in line.reason
    # the history cannot be complete: the unused record may be the condition
    assert result.patient.complete.conditions is False
    assert eligimatch.match(result.patient, TRIAL_EXCLUSION, as_of=AS_OF).verdict.value == "unknown"
    assert eligimatch.match(result.patient, TRIAL_INCLUSION, as_of=AS_OF).verdict.value == "unknown"


@pytest.mark.parametrize("code", ["unconfirmed", "provisional", "differential"])
def test_uncertain_verification_status_stays_unknown(code):
    result = patient_from_bundle(_bundle(_ms({"coding": [{"code": code}]})), complete={"conditions": True})
    assert not result.patient.conditions
    assert result.patient.complete.conditions is False
    assert eligimatch.match(result.patient, TRIAL_EXCLUSION, as_of=AS_OF).verdict.value == "unknown"


@pytest.mark.parametrize("verification", [None, {"coding": [{"code": "confirmed"}]},
                                          {"coding": [{"code": "confirmed"}], "text": "Confirmed by MRI"}])
def test_confirmed_or_absent_verification_status_is_used(verification):
    result = patient_from_bundle(_bundle(_ms(verification)), complete={"conditions": True})
    assert len(result.patient.conditions) == 1
    assert eligimatch.match(result.patient, TRIAL_EXCLUSION, as_of=AS_OF).verdict.value == "no_match"


@pytest.mark.parametrize("code", ["refuted", "entered-in-error"])
def test_refuted_verification_status_still_wins_over_an_unrecognised_coding(code):
    verification = {"coding": [{"code": "example-status"}, {"code": code}]}
    result = patient_from_bundle(_bundle(_ms(verification)), complete={"conditions": True})
    assert not result.patient.conditions
    assert result.patient.complete.conditions is True
    assert eligimatch.match(result.patient, TRIAL_EXCLUSION, as_of=AS_OF).verdict.value == "match"
