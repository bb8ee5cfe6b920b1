"""Named regression tests for issue 18 (labs, facts and doses) where the conformance format does not fit.

Each test names the defect it pins (D8, D11, ...; the list is in docs/reliability.md).  The criteria and
patients of the other regressions are data: tests/conformance/same_day.toml, facts_recency.toml, doses.toml.
"""

from __future__ import annotations

import datetime as dt

import pytest

import eligimatch
from eligimatch.errors import PatientDataError

AS_OF = dt.date(2026, 3, 1)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def _anc(id: str, when: str, value: float) -> dict:
    return {"resourceType": "Observation", "id": id, "status": "final", "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": LOINC, "code": "751-8"}]}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "system": UCUM, "code": "10*9/L"}}


def _bundle(*resources: dict) -> dict:
    patient = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1980-01-01"}
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in (patient, *resources)]}


@pytest.mark.parametrize("order", [1, -1])
def test_D8_fhir_keeps_the_time_of_day_so_the_1800_result_is_the_latest(order):
    """D8: the FHIR path kept only the date of effectiveDateTime, so two results of one day were decided by
    the order of the bundle's entries.  The 18:00 result (1.0) is the latest, whatever the order."""
    pytest.importorskip("fhir.resources")
    from eligimatch.fhir import patient_from_bundle

    morning = _anc("morning", "2026-02-20T08:00:00+01:00", 2.0)
    evening = _anc("evening", "2026-02-20T18:00:00+01:00", 1.0)
    patient = patient_from_bundle(_bundle(*[morning, evening][::order])).patient
    times = sorted(o.time for o in patient.observations)
    assert [t.hour for t in times] == [8, 18]
    trial = eligimatch.compile_trial('inclusion:\n  - C1: anc >= 1.5 x10^9/L')
    result = eligimatch.match(patient, trial, as_of=AS_OF)
    assert result.criteria[0].outcome.value == "false", result.explain()
    assert "Observation/evening" in [e.source for e in result.criteria[0].evidence]


def test_D8_fhir_results_of_one_day_without_times_that_disagree_are_conflicting():
    pytest.importorskip("fhir.resources")
    from eligimatch.fhir import patient_from_bundle

    patient = patient_from_bundle(_bundle(_anc("a", "2026-02-20", 2.0), _anc("b", "2026-02-20", 1.0))).patient
    trial = eligimatch.compile_trial('inclusion:\n  - C1: anc >= 1.5 x10^9/L')
    result = eligimatch.match(patient, trial, as_of=AS_OF)
    crit = result.criteria[0]
    assert crit.outcome.value == "unknown"
    assert [c.value for c in crit.causes] == ["conflicting"]
    assert any(m.cause.value == "conflicting" for m in result.missing)
    assert "conflicting" in result.explain()


def test_D8_observation_time_needs_a_date_and_is_text():
    with pytest.raises(PatientDataError) as info:
        eligimatch.load_patient({"observations": [{"analyte": "anc", "value": 1, "unit": "10*9/L",
                                                   "time": "18:00"}]})
    assert "observations.0" in str(info.value)
    with pytest.raises(PatientDataError) as info:
        eligimatch.load_patient({"observations": [{"analyte": "anc", "value": 1, "unit": "10*9/L",
                                                   "date": "2026-02-20", "time": 64800}]})
    assert "observations.0.time" in str(info.value)


@pytest.mark.parametrize("therapy,says", [
    ({"drug": "prednisone", "start": "2026-01-01", "dose_since": "2025-06-01", "dose": {"value": 10, "unit": "mg/day"}},
     "dose_since 2025-06-01 is before start"),
    ({"drug": "prednisone", "start": "2026-01-01", "end": "2026-02-01", "dose_since": "2026-02-10",
      "dose": {"value": 10, "unit": "mg/day"}}, "end 2026-02-01 is before dose_since"),
    ({"drug": "prednisone", "start": "2026-01-01", "dose_since": "2026-02-10"}, "give the dose too"),
])
def test_dose_since_is_checked_against_the_course(therapy, says):
    """Issue 18 (a dose change could not be recorded without the previous dose): `dose_since` is new; a
    dose_since outside the course, or without the dose it dates, is refused with the field's path."""
    with pytest.raises(PatientDataError) as info:
        eligimatch.load_patient({"therapies": [therapy]})
    assert "therapies.0" in str(info.value) and says in str(info.value), str(info.value)


def test_E15a_reads_the_steroid_dose_as_received_over_the_7_days():
    """Issue 13, finding 3: "≥ 70 mg prednisone ... within 7 days before apheresis" has no "/day".  Read as
    the total received: prednisone 10 mg/day every day of the window (80 mg) excludes, though no day reaches
    70 mg/day; 5 days of it (50 mg) do not."""
    from pathlib import Path

    trial = eligimatch.load_trial(Path(__file__).resolve().parent.parent / "examples/trials/NCT05621486.elig")

    def e15a(therapy: dict) -> str:
        patient = eligimatch.load_patient({"therapies": [therapy], "complete": {"therapies": True},
                                           "facts": {"corticosteroid_prophylaxis_only": False}})
        result = eligimatch.match(patient, trial, as_of=AS_OF, anchors={"apheresis": AS_OF})
        return result.criterion("E15a").outcome.value

    daily = {"drug": "prednisone", "route": "oral", "dose": {"value": 10, "unit": "mg/day"}}
    assert e15a({**daily, "start": "2026-01-01", "ongoing": True}) == "true"
    assert e15a({**daily, "start": "2026-02-20", "end": "2026-02-26"}) == "false"
    assert e15a({**daily, "route": "inhaled", "start": "2026-01-01", "ongoing": True}) == "false"
