"""Issue 18, records side: regression tests named after the defect they pin (see also
``tests/conformance/soundness_records.toml``)."""

from __future__ import annotations

import datetime as dt

import pytest

import eligimatch
from eligimatch.ages import age_bounds, interval_truth
from eligimatch.dates import PartialDate
from eligimatch.errors import PatientDataError

AS_OF = dt.date(2026, 3, 1)


def _one(criterion: str, patient: dict, kind: str = "inclusion", as_of: dt.date = AS_OF, **kw):
    trial = eligimatch.compile_trial(f'{kind}:\n  - C1 "c":\n      {criterion}\n')
    result = eligimatch.match(eligimatch.load_patient(patient), trial, as_of=as_of, **kw)
    return result.criteria[0]


# ---- partial birth dates --------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["1968", "1968-05"])
def test_partial_birth_date_is_accepted_by_the_patient_model(text):
    p = eligimatch.load_patient({"birth_date": text})
    assert isinstance(p.birth_date, PartialDate) and p.birth_date.text == text
    assert eligimatch.load_patient(p.model_dump_json()).birth_date == p.birth_date


def test_full_birth_date_stays_a_date():
    p = eligimatch.load_patient('{"birth_date": "1968-05-14"}')
    assert p.birth_date == dt.date(1968, 5, 14)
    assert p.model_dump(mode="json")["birth_date"] == "1968-05-14"


@pytest.mark.parametrize("bad", [0, 19680514, True, "1968-13", "68", "1968-05-14T10:00"])
def test_birth_date_refuses_numbers_and_malformed_text(bad):
    with pytest.raises(PatientDataError, match="birth_date"):
        eligimatch.load_patient({"birth_date": bad})


def test_partial_birth_date_evidence_says_the_age_is_from_a_partial_birth_date():
    crit = _one("age between 18 and 70 years", {"birth_date": "1968"})
    assert crit.outcome.value == "true"
    notes = " ".join(e.note for e in crit.evidence)
    assert "partial birth date 1968" in notes and "57 and 58" in notes


def test_partial_birth_date_unknown_names_the_full_birth_date():
    crit = _one("age >= 58 years", {"birth_date": "1968"})
    assert crit.outcome.value == "unknown"
    assert [m.fact for m in crit.missing] == ["birth_date"]
    assert "only 1968 is recorded" in crit.missing[0].detail


def test_partial_birth_date_decides_a_computed_clearance_only_when_both_ends_agree():
    obs = [{"analyte": "creatinine", "value": 0.8, "unit": "mg/dL", "date": "2026-02-20"},
           {"analyte": "weight", "value": 70, "unit": "kg", "date": "2026-02-20"}]
    # Cockcroft-Gault, male, 70 kg, 0.8 mg/dL: 57 y -> 100.3 mL/min, 58 y -> 99.1 mL/min
    sure = _one("creatinine_clearance by cockcroft_gault >= 60 mL/min",
                {"birth_date": "1968", "sex": "male", "observations": obs})
    assert sure.outcome.value == "true"
    unsure = _one("creatinine_clearance by cockcroft_gault >= 100 mL/min",
                  {"birth_date": "1968", "sex": "male", "observations": obs})
    assert unsure.outcome.value == "unknown" and unsure.missing[0].fact == "birth_date"


def test_age_bounds_of_a_year_only_birth_date():
    assert age_bounds(PartialDate.parse("1968"), AS_OF, "year", False) == (57.0, 58.0)
    assert age_bounds(PartialDate.parse("2026"), AS_OF, "day", False) == (0.0, 59.0)
    assert interval_truth(57, 58, ">=", 18) is True
    assert interval_truth(57, 58, ">=", 58) is None
    assert interval_truth(57, 58, "=", 60) is False
    assert interval_truth(57, 57, "!=", 57) is False
