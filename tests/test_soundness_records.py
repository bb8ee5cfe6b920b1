"""Issue 18, records side: regression tests named after the defect they pin (see also
``tests/conformance/soundness_records.toml``)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eligimatch
from eligimatch.knowledge import age_bounds, interval_truth
from eligimatch.knowledge import PartialDate, window_end, window_start
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


# ---- D5: one window arithmetic -----------------------------------------------------------------------


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)), st.integers(0, 400),
       st.sampled_from(["day", "week", "month", "year"]))
def test_d5_window_end_is_the_inverse_of_window_start(event, n, unit):
    end = window_end(event, n, unit)
    assert window_start(end, n, unit) <= event  # the last anchor whose window holds the event ...
    assert window_start(end + dt.timedelta(days=1), n, unit) > event  # ... and the next one's does not


def test_d5_calendar_window_counts_back_from_anchor():
    crit = _one("therapy rituximab within 6 months before screening",
                {"therapies": [{"drug": "rituximab", "start": "2026-02-28", "end": "2026-02-28"}]},
                kind="exclusion", as_of=dt.date(2026, 8, 31), anchors={"screening": dt.date(2026, 8, 31)})
    assert crit.outcome.value == "true"
    assert window_end(dt.date(2026, 2, 28), 6, "month") == dt.date(2026, 8, 31)


# ---- D2 / D3 / D4 / D9: the settling fact is named -------------------------------------------------------

def test_d2_yes_no_recognises_only_declared_spellings():
    from eligimatch.engine import yes_no
    assert [yes_no(v) for v in (True, False, "yes", " No ", "TRUE", "false")] == [True, False, True, False, True,
                                                                                  False]
    assert [yes_no(v) for v in ("unknown", 1, 0, "Y", "N", "", None, 1.0)] == [None] * 8


def test_d2_unknown_attribute_names_the_attribute_and_the_value():
    crit = _one("condition brain_metastases where symptomatic",
                {"conditions": [{"name": "brain metastases", "onset": "2025-11", "status": "active",
                                 "attributes": {"symptomatic": "unknown"}}], "complete": {"conditions": True}},
                kind="exclusion")
    assert crit.outcome.value == "unknown"
    assert any("symptomatic" in m.detail and "'unknown'" in m.detail for m in crit.missing), crit.missing


@pytest.mark.parametrize("drug,classes,investigational", [
    ("XYZ-123", (), True), ("XYZ-123", (), False), ("XYZ-123", ("corticosteroid",), False),
    (None, (), True),
])
def test_d3_unmapped_drug_is_never_proved_not_a_class(drug, classes, investigational):
    cat = eligimatch.Catalogs.default().drugs
    record_classes = list(classes) + (["investigational_agent"] if investigational else [])
    assert cat.match_status(drug, record_classes, "monoclonal_antibody") is None


def test_d3_unknown_names_the_unmapped_drug():
    crit = _one("therapy monoclonal_antibody within 90 days before screening",
                {"therapies": [{"drug": "XYZ-123", "investigational": True, "start": "2026-02-01", "end": "2026-02-01"}],
                 "complete": {"therapies": True}}, kind="exclusion")
    assert crit.outcome.value == "unknown"
    assert [m.detail for m in crit.missing] == [
        ("whether XYZ-123 is monoclonal_antibody: the drug is not in the drug catalog (its own classes cannot "
         "rule monoclonal_antibody out)")]


def test_d4_broader_record_names_the_narrower_concept():
    crit = _one("condition brain_metastases",
                {"conditions": [{"code": "ICD10CM:C79.9", "onset": "2025-10", "status": "active"}],
                 "complete": {"conditions": True}}, kind="exclusion")
    assert crit.outcome.value == "unknown"
    assert any("is brain_metastases" in m.detail and "broader" in m.detail for m in crit.missing), crit.missing


def test_d4_broader_procedure_record_is_unknown():
    crit = _one("procedure central_venous_catheter",
                {"procedures": [{"name": "indwelling catheter", "date": "2026-02-01"}],
                 "complete": {"procedures": True}}, kind="exclusion")
    assert crit.outcome.value == "unknown"


def test_d9_condition_without_status_or_end_names_the_status():
    crit = _one("condition hepatitis_b", {"conditions": [{"name": "hepatitis B", "onset": "2010"}],
                                          "complete": {"conditions": True}}, kind="exclusion")
    assert crit.outcome.value == "unknown"
    assert [m.detail for m in crit.missing] == [
        "whether hepatitis B is current: a clinical status (active, resolved...) or an end date"]


# ---- D9 in FHIR: abatement of any type, verificationStatus in any coding or as text ------------------------

def _fhir_condition(**extra):
    r = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "66071002"}]},  # hepatitis B
         "onsetDateTime": "2010-01-01"}
    r.update(extra)
    return r


def _fhir_patient(*resources):
    from eligimatch.sources.fhir import patient_from_bundle
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1980-01-01"}},
        *({"resource": r} for r in resources)]}
    return patient_from_bundle(bundle, complete={"conditions": True}).patient


@pytest.mark.parametrize("abatement", [
    {"abatementAge": {"value": 30, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}},
    {"abatementString": "cleared in childhood"},
    {"abatementRange": {"low": {"value": 20, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}}},
    {"abatementPeriod": {}},
])
def test_d9_fhir_abatement_without_clinical_status_is_not_current(abatement):
    p = _fhir_patient(_fhir_condition(**abatement))
    (c,) = p.conditions
    assert c.status == "resolved"
    crit = _one("condition hepatitis_b", p.model_dump(mode="json"), kind="exclusion")
    assert crit.outcome.value == "false"


def test_d9_fhir_abatement_datetime_without_clinical_status_ends_it():
    p = _fhir_patient(_fhir_condition(abatementDateTime="2012-06-01"))
    (c,) = p.conditions
    assert c.end.text == "2012-06-01"
    assert _one("condition hepatitis_b", p.model_dump(mode="json"), kind="exclusion").outcome.value == "false"


def test_d9_fhir_no_clinical_status_no_abatement_is_not_known_current():
    p = _fhir_patient(_fhir_condition())
    assert _one("condition hepatitis_b", p.model_dump(mode="json"), kind="exclusion").outcome.value == "unknown"


@pytest.mark.parametrize("verification", [
    {"text": "Refuted"},
    {"text": "entered in error"},
    {"coding": [{"code": "confirmed"}, {"code": "refuted"}]},
    {"coding": [{"system": "http://example.org/local", "code": "C"},
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"}]},
])
def test_d9_fhir_refuted_as_text_or_second_coding_is_honoured(verification):
    p = _fhir_patient(_fhir_condition(clinicalStatus={"coding": [{"code": "active"}]},
                                      verificationStatus=verification))
    assert p.conditions == ()


# ---- properties: an age is decided from a partial birth date only when every possible day agrees ------------

_OPS = ("<", "<=", ">", ">=", "=", "!=")


@given(st.integers(1940, 2025), st.one_of(st.none(), st.integers(1, 12)),
       st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31)),
       st.sampled_from(_OPS), st.sampled_from([0.5, 1, 17.5, 18, 57, 58, 65.25, 70]),
       st.sampled_from(["year", "month"]))
def test_partial_birth_date_decides_only_when_every_day_agrees(year, month, on, op, threshold, unit):
    from eligimatch.knowledge import age_value, is_whole
    from eligimatch.knowledge import compare
    text = f"{year}" if month is None else f"{year}-{month:02d}"
    birth = PartialDate.parse(text)
    if unit == "month":
        threshold = threshold * 12
    exact = not is_whole(threshold)
    low, high = age_bounds(birth, on, unit, exact)
    decided = interval_truth(low, high, op, threshold)
    days = [birth.earliest + dt.timedelta(days=k) for k in range((birth.latest - birth.earliest).days + 1)]
    each = {compare(age_value(d, on, unit, exact), op, threshold) for d in days}
    if decided is not None:
        assert each == {decided}
    else:
        assert each == {True, False} or op in ("=", "!=")  # '=' may be undecided when no day gives equality


def test_partial_birth_date_engine_agrees_with_every_day_of_the_year():
    trial = eligimatch.compile_trial('inclusion:\n  - I1 "age":\n      age between 18 and 57 years\n')
    got = eligimatch.match(eligimatch.load_patient({"birth_date": "1968"}), trial, as_of=AS_OF).criteria[0]
    per_day = {eligimatch.match(eligimatch.load_patient({"birth_date": (dt.date(1968, 1, 1) + dt.timedelta(days=k))
                                                          .isoformat()}), trial, as_of=AS_OF).criteria[0].outcome.value
               for k in range(0, 366, 5)}
    assert per_day == {"true", "false"} and got.outcome.value == "unknown"


# ---- `therapy X started at least D before A` on a history not closed ---------------------------------

@pytest.mark.parametrize("prop,seed", [("removal", 1020063334), ("blurring", 1000064140)])
def test_started_at_least_is_undecided_on_an_open_history_long_run_seeds(prop, seed):
    """The two seeds of the long run (tests/longrun.py) that found it: removing an earlier record of a course
    (mycophenolate) turned UNKNOWN into FALSE -- the course's first remaining record "started too late" --,
    and removing an undated investigational agent (perhaps a TKI begun too late) turned UNKNOWN into TRUE."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import longrun

    assert longrun.run_one(prop, seed) is None


@pytest.mark.parametrize("complete,assume_absent,outcome", [
    (True, False, "true"), (False, True, "true"), (False, False, "unknown")])
def test_started_at_least_true_needs_a_closed_history(complete, assume_absent, outcome):
    """Every course of the class still taken at the limit must have begun by then: one course in time does
    not say that no other (unrecorded) course began since, unless the history is closed."""
    doc = {"therapies": [{"drug": "hydroxychloroquine", "start": "2024-01-01", "ongoing": True}],
           "complete": {"therapies": complete}}
    c = _one("therapy antimalarial started at least 12 weeks before screening", doc,
             anchors={"screening": AS_OF}, policy=eligimatch.Policy(assume_absent=assume_absent))
    assert c.outcome.value == outcome
    if outcome == "unknown":
        assert [m.detail for m in c.missing] == [
            "whether the patient received another course of antimalarial begun after 2025-12-07 (the therapies "
            "history is not marked complete)"]


@pytest.mark.parametrize("complete,outcome", [(True, "false"), (False, "unknown")])
def test_started_too_late_needs_a_closed_history(complete, outcome):
    """A first record after the limit is the course's first day only if no earlier record of it can be
    missing; removing the earlier record of a course that began in time must not decide FALSE."""
    full = {"therapies": [{"drug": "mycophenolate mofetil", "start": "2025-06-01", "end": "2026-01-16"},
                          {"drug": "mycophenolate mofetil", "start": "2026-01-17", "ongoing": True}],
            "complete": {"therapies": complete}}
    less = {"therapies": full["therapies"][1:], "complete": {"therapies": complete}}
    crit = "therapy immunosuppressant started at least 12 weeks before screening"
    kw = {"anchors": {"screening": AS_OF}}
    assert _one(crit, full, **kw).outcome.value == ("true" if complete else "unknown")
    assert _one(crit, less, **kw).outcome.value == outcome
