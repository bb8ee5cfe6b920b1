"""The bundled trials say what their protocols say (issue 13's audit findings).

Each test evaluates one bundled trial file (``examples/trials``) against a small patient built
for one finding, and pins the outcome of the criteria the finding is about: the protocol's
reading, not only the language's.  Whole-trial verdicts are pinned by ``examples/expected``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import eligimatch
from eligimatch.knowledge import Catalogs

TRIALS = Path(__file__).resolve().parent.parent / "examples" / "trials"
AS_OF = dt.date(2026, 3, 2)


def outcomes(trial_id: str, patient: dict[str, Any], *ids: str, as_of: dt.date = AS_OF,
             anchors: dict[str, str] | None = None) -> dict[str, str]:
    trial = eligimatch.load_trial(TRIALS / f"{trial_id}.elig")
    given = {k: dt.date.fromisoformat(v) for k, v in (anchors or {}).items()}
    for name in trial.anchors:
        given.setdefault(name, as_of)
    result = eligimatch.match(eligimatch.load_patient(patient), trial, as_of=as_of, anchors=given)
    return {cid: result.criterion(cid).outcome.value for cid in ids}


COMPLETE = {"conditions": True, "therapies": True, "procedures": True}


# ---- finding 1 (catalog/trial side): the disease under study is never a "prior malignancy" -----

@pytest.mark.parametrize("record", [
    {"code": "ICD10CM:C91.02", "onset": "2024-01"},          # ALL in relapse: B or T, ICD-10-CM cannot say
    {"name": "B-ALL", "onset": "2024-01", "attributes": {"relapsed": True}},
])
def test_nct03754764_the_leukaemia_under_study_is_not_a_prior_malignancy(record):
    patient = {"conditions": [record], "complete": COMPLETE}
    assert outcomes("NCT03754764", patient, "E1") == {"E1": "false"}


def test_nct03754764_an_all_code_covering_b_and_t_all_leaves_i3a_open():
    """C91.02 (ALL in relapse) covers B- and T-ALL: I3a is UNKNOWN (not FALSE), and E1 stays FALSE."""
    patient = {"conditions": [{"code": "ICD10CM:C91.02", "onset": "2024-01", "status": "active",
                               "attributes": {"relapsed": True}}], "complete": COMPLETE}
    assert outcomes("NCT03754764", patient, "I3a", "E1") == {"I3a": "unknown", "E1": "false"}


def test_nct03754764_another_malignancy_still_excludes():
    patient = {"conditions": [{"code": "ICD10CM:C91.02", "onset": "2024-01"},
                              {"name": "breast cancer", "onset": "2015", "status": "resolved"}],
               "complete": COMPLETE}
    assert outcomes("NCT03754764", patient, "E1") == {"E1": "true"}


# ---- finding 2: the antiviral allowance is anti-HBV nucleos(t)ide prophylaxis, for hepatitis B --

def _hbv(drug: str | None) -> dict[str, Any]:
    therapies = [{"drug": drug, "start": "2026-01-05", "ongoing": True, "route": "oral"}] if drug else []
    return {"facts": {"hbsag": "positive", "hcv_antibody": "positive", "hcv_rna": "detectable"},
            "observations": [{"analyte": "hbv_dna", "value": 10000, "unit": "IU/mL", "date": "2026-02-26"}],
            "therapies": therapies, "complete": COMPLETE}


@pytest.mark.parametrize("drug,e7a", [
    ("valaciclovir", "true"),      # does nothing against HBV: still active hepatitis B
    ("acyclovir", "true"),
    ("interferon alfa-2b", "true"),
    (None, "true"),
    ("entecavir", "false"),        # HBV prophylaxis: allowed
    ("Viread", "false"),
    ("lamivudine", "false"),
])
def test_nct05621486_antiviral_allowance(drug, e7a):
    got = outcomes("NCT05621486", _hbv(drug), "E7a", "E7b")
    assert got == {"E7a": e7a, "E7b": "true"}  # no prophylaxis makes active hepatitis C acceptable


# ---- finding 5: "skin progression with mRSS >= 10" needs progression --------------------------

@pytest.mark.parametrize("progression,sscs2", [(False, "false"), (True, "true")])
def test_nct07301164_stable_mrss_is_not_skin_progression(progression, sscs2):
    patient = {"facts": {"conventional_therapy_inadequate": False, "ssc_skin_progression": progression},
               "observations": [{"analyte": "mrss", "value": 12, "date": "2026-02-25"},
                                {"analyte": "fvc_decline_percent", "value": 2, "unit": "%", "date": "2026-02-25"},
                                {"analyte": "dlco_decline_percent", "value": 3, "unit": "%", "date": "2026-02-25"}],
               "complete": COMPLETE}
    assert outcomes("NCT07301164", patient, "SSC2") == {"SSC2": sscs2}


# ---- finding 6: "CNS disease: including ..." is the whole group --------------------------------

def test_nct06350110_neuromyelitis_optica_is_cns_disease():
    patient = {"conditions": [{"name": "neuromyelitis optica", "onset": "2023-04", "status": "active"}], "complete": COMPLETE}
    assert outcomes("NCT06350110", patient, "E2") == {"E2": "true"}


def test_nct06350110_a_resolved_stroke_long_ago_is_for_the_investigator():
    patient = {"conditions": [{"name": "stroke", "onset": "2001-05-02", "end": "2001-06-01"}], "complete": COMPLETE}
    got = eligimatch.match(eligimatch.load_patient(patient), eligimatch.load_trial(TRIALS / "NCT06350110.elig"),
                           as_of=AS_OF)
    e2 = got.criterion("E2")
    assert e2.outcome.value == "unknown" and [c.value for c in e2.causes] == ["review"]


# ---- finding 7: muscle enzymes are CK, aldolase, LDH, AST and ALT ------------------------------

@pytest.mark.parametrize("enzyme", ["ldh", "ast", "alt", "creatine_kinase", "aldolase"])
def test_nct07301164_any_muscle_enzyme_counts(enzyme):
    obs = [{"analyte": "mmt8", "value": 120, "date": "2026-02-25"},
           {"analyte": "physician_global", "value": 3, "date": "2026-02-25"},
           {"analyte": "patient_global", "value": 1, "date": "2026-02-25"},
           {"analyte": "extramuscular_activity", "value": 1, "date": "2026-02-25"},
           {"analyte": "haq", "value": 0.1, "date": "2026-02-25"}]
    for name in ("ldh", "ast", "alt", "creatine_kinase", "aldolase"):
        value = 400 if name == enzyme else 20
        obs.append({"analyte": name, "value": value, "unit": "U/L", "date": "2026-02-25",
                    "reference_range": {"low": 0, "high": 100 if name != "aldolase" else 7.6 * 10}})
    assert outcomes("NCT07301164", {"observations": obs}, "IM3") == {"IM3": "true"}


# ---- finding 9: "active" hepatitis ---------------------------------------------------------------

@pytest.mark.parametrize("active,want", [(True, "true"), (False, "false"), (None, "unknown")])
def test_active_hepatitis_reads_the_active_attribute(active, want):
    attrs = {} if active is None else {"active": active}
    patient = {"conditions": [{"name": "hepatitis B", "onset": "2010", "status": "active", "attributes": attrs}], "complete": COMPLETE}
    assert outcomes("NCT03754764", patient, "E7a") == {"E7a": want}
    assert outcomes("NCT06350110", patient, "E6b") == {"E6b": want}


# ---- finding 11: CT1192 I6 counts systemic steroids only --------------------------------------

def _steroid(route: str, dose: float) -> dict[str, Any]:
    return {"drug": "prednisone" if route == "oral" else "budesonide", "start": "2025-06-01", "ongoing": True,
            "route": route, "dose": {"value": dose, "unit": "mg/day"}}


@pytest.mark.parametrize("therapies,want", [
    ([_steroid("inhaled", 0.8)], "unknown"),                       # not the therapy meant: no dose minimum
    ([_steroid("oral", 5)], "false"),                              # systemic, alone, below 7.5 mg/day
    ([_steroid("oral", 10)], "unknown"),                           # meets it; the rest is for review
    ([_steroid("oral", 5), _steroid("inhaled", 0.8)], "false"),    # the inhaled dose does not make up the 7.5
])
def test_ct1192_i6_route_filter(therapies, want):
    got = eligimatch.match(eligimatch.load_patient({"therapies": therapies, "complete": COMPLETE}),
                           eligimatch.load_trial(TRIALS / "CT1192-SLE.elig"), as_of=AS_OF,
                           anchors={"screening": AS_OF})
    i6 = got.criterion("I6")
    assert i6.outcome.value == want, got.explain()
    if want == "unknown":
        assert [c.value for c in i6.causes] == ["review"], got.explain()


# ---- finding 13: the cause of the biliary obstruction ---------------------------------------------

@pytest.mark.parametrize("attrs,want", [({"tumor_related": True}, "true"), ({"tumor_related": False}, "false"),
                                        ({}, "unknown")])
def test_nct05621486_e19_needs_the_tumour_as_cause(attrs, want):
    patient = {"conditions": [{"name": "pancreatic cancer", "onset": "2025-04", "status": "active"},
                              {"name": "biliary obstruction", "onset": "2026-02-20", "status": "active",
                               "attributes": attrs}],
               "complete": COMPLETE}
    assert outcomes("NCT05621486", patient, "E19") == {"E19": want}


# ---- finding 15: a urinary tract infection is a bacterial infection ------------------------------

def test_nct07301164_uti_is_an_active_bacterial_infection():
    patient = {"conditions": [{"name": "urinary tract infection", "onset": "2026-02-27", "status": "active"}], "complete": COMPLETE}
    assert outcomes("NCT07301164", patient, "E6") == {"E6": "true"}


# ---- finding 17: half-lives from the labels --------------------------------------------------------

@pytest.mark.parametrize("drug,days", [("obinutuzumab", 28.4), ("etanercept", 4.25), ("trastuzumab", 38),
                                       ("warfarin", 7)])
def test_catalog_half_lives(drug, days):
    d = Catalogs.default().drugs.get(drug)
    assert d.half_life_days == pytest.approx(days)


def test_nct07301164_obinutuzumab_washout_is_decided():
    patient = {"therapies": [{"drug": "Gazyva", "start": "2025-01-10", "end": "2025-06-10", "route": "intravenous"}],
               "complete": COMPLETE}
    # 5 x 28.4 = 142 days after 2025-06-10 is 2025-10-30: complete by screening on 2026-03-02
    assert outcomes("NCT07301164", patient, "I4c") == {"I4c": "true"}


# ---- finding 12: participation in another study, from FHIR ResearchSubject ----------------------------

def test_fhir_research_subject_is_a_study_record():
    from eligimatch.sources.fhir import patient_from_bundle

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01", "gender": "female"}},
        {"resource": {"resourceType": "ResearchSubject", "id": "rs1", "status": "off-study",
                      "period": {"start": "2025-11-01", "end": "2026-01-20"},
                      "study": {"identifier": {"value": "NCT09999999"}},
                      "individual": {"reference": "Patient/p1"}}},
        {"resource": {"resourceType": "ResearchSubject", "id": "rs2", "status": "candidate",
                      "study": {"identifier": {"value": "NCT08888888"}},
                      "individual": {"reference": "Patient/p1"}}},
        {"resource": {"resourceType": "MedicationStatement", "id": "m1", "status": "active",
                      "subject": {"reference": "Patient/p1"},
                      "medicationCodeableConcept": {"text": "tacrolimus"},
                      "reasonCode": [{"text": "chronic GVHD"}], "effectivePeriod": {"start": "2025-06-01"}}},
    ]}
    imported = patient_from_bundle(bundle)
    p = imported.patient
    assert [(s.study, str(s.start), str(s.end)) for s in p.studies] == [("NCT09999999", "2025-11-01", "2026-01-20")]
    assert p.therapies[0].indication == "chronic_gvhd"
    got = eligimatch.match(p, eligimatch.load_trial(TRIALS / "NCT06350110.elig"), as_of=AS_OF,
                           anchors={"enrollment": AS_OF})
    assert got.criterion("E16").outcome.value == "true"


@pytest.mark.parametrize("studies,want", [
    ([{"study": "NCT09999999", "start": "2025-10-01", "end": "2026-01-15"}], "true"),   # no drug record left
    ([{"study": "NCT09999999", "start": "2025-01-01", "end": "2025-10-15"}], "false"),  # ended before the 3 months
    ([], "false"),
])
def test_ct1192_e19_participation_without_a_drug_record(studies, want):
    patient = {"studies": studies, "complete": dict(COMPLETE, studies=True)}
    assert outcomes("CT1192-SLE", patient, "E19") == {"E19": want}


# ---- finding 4: immunosuppression for another disease ------------------------------------------------

@pytest.mark.parametrize("indication,want", [("acute lymphoblastic leukemia", "false"), ("ICD10CM:C91.02", "false"),
                                             ("chronic GVHD", "true"), ("myasthenia gravis", "true"),
                                             (None, "unknown")])
def test_nct03754764_e5c_maintenance_methotrexate_is_not_another_disease(indication, want):
    patient = {"therapies": [{"drug": "methotrexate", "start": "2025-06-01", "ongoing": True, "route": "oral",
                              "indication": indication}], "complete": COMPLETE}
    assert outcomes("NCT03754764", patient, "E5c") == {"E5c": want}


# ---- I3c: class and target of one record ---------------------------------------------------------------

@pytest.mark.parametrize("therapies,want", [
    ([{"drug": "Kymriah", "start": "2025-01-10", "end": "2025-01-10"}], "true"),
    ([{"drug": "Abecma", "start": "2025-01-10", "end": "2025-01-10"},
      {"drug": "blinatumomab", "start": "2024-01-10", "end": "2024-02-10"}], "false"),
])
def test_nct03754764_i3c_one_cd19_car_t(therapies, want):
    assert outcomes("NCT03754764", {"therapies": therapies, "complete": COMPLETE}, "I3c") == {"I3c": want}


# ---- finding 8: any creatinine in the window ---------------------------------------------------------

def test_nct06350110_e1a_an_earlier_creatinine_counts():
    patient = {"conditions": [{"name": "lupus nephritis", "onset": "2024-05", "status": "active"}],
               "observations": [{"analyte": "creatinine", "value": 2.9, "unit": "mg/dL", "date": "2026-01-20"},
                                {"analyte": "creatinine", "value": 1.4, "unit": "mg/dL", "date": "2026-02-26"}],
               "complete": COMPLETE}
    assert outcomes("NCT06350110", patient, "E1a") == {"E1a": "true"}


# ---- finding 14: allergens through the drug catalog ----------------------------------------------------

@pytest.mark.parametrize("allergen,want", [("Cytoxan", "true"), ("CTX", "true"), ("Tylenol", "true"),
                                           ("albumin human", "true"), ("Erbitux", "true"), ("DMSO", "true"),
                                           (None, "unknown")])
def test_nct05621486_e6_allergens_by_any_name(allergen, want):
    attrs = {"allergen": allergen} if allergen else {}
    patient = {"conditions": [{"name": "allergy", "onset": "2015", "attributes": attrs}], "complete": COMPLETE}
    assert outcomes("NCT05621486", patient, "E6") == {"E6": want}


def test_nct05621486_e6_another_drug_allergy_is_for_the_investigator():
    patient = {"conditions": [{"name": "drug allergy", "onset": "2015", "attributes": {"allergen": "penicillin"}}],
               "complete": COMPLETE}
    got = eligimatch.match(eligimatch.load_patient(patient), eligimatch.load_trial(TRIALS / "NCT05621486.elig"),
                           as_of=AS_OF)
    assert got.criterion("E6").outcome.value == "unknown"
    assert [c.value for c in got.criterion("E6").causes] == ["review"]


# ---- finding 16: a generic cannula is caught, a central line is not ----------------------------------------

@pytest.mark.parametrize("name,want", [("cannula", "true"), ("Foley catheter", "true"), ("chest tube", "true"),
                                       ("PICC line", "false"), ("central venous catheter", "false")])
def test_nct06350110_e13_cannula_but_not_central_line(name, want):
    patient = {"procedures": [{"name": name, "date": "2026-02-20", "attributes": {"in_place": True}}],
               "complete": COMPLETE}
    assert outcomes("NCT06350110", patient, "E13") == {"E13": want}


# ---- the completed washout (NCT07301164 I4c): rituximab, 5 x 22 days = 110 days --------------------------

@pytest.mark.parametrize("as_of,want", [(dt.date(2026, 2, 18), "false"), (dt.date(2026, 2, 19), "true")])
def test_nct07301164_i4c_washout_complete_on_day_110(as_of, want):
    patient = {"therapies": [{"drug": "rituximab", "start": "2025-10-18", "end": "2025-11-01"}], "complete": COMPLETE}
    assert outcomes("NCT07301164", patient, "I4c", as_of=as_of) == {"I4c": want}


# ---- finding 10: the pregnancy test is dated ----------------------------------------------------------

@pytest.mark.parametrize("date,want", [("2026-02-27", "true"), ("2024-05-02", "unknown")])
def test_nct06350110_i11a_an_old_pregnancy_test_does_not_pass(date, want):
    patient = {"sex": "female", "facts": {"childbearing_potential": True,
                                         "pregnancy_test_negative": {"value": True, "date": date}}}
    assert outcomes("NCT06350110", patient, "I11a") == {"I11a": want}


@pytest.mark.parametrize("facts,want", [
    ({"serum_hcg": {"value": "negative", "date": "2026-03-03"}}, "true"),
    ({"serum_hcg": {"value": "negative", "date": "2026-02-20"}}, "unknown"),   # more than 7 days before
    ({"serum_hcg": {"value": "positive", "date": "2026-03-03"}}, "false"),
    ({"pregnancy_test_negative": {"value": True, "date": "2026-03-03"}}, "unknown"),  # not the serum test
])
def test_nct07301164_i3b_serum_hcg_within_7_days_before_enrollment(facts, want):
    patient = {"sex": "female", "facts": dict(facts, childbearing_potential=True)}
    got = outcomes("NCT07301164", patient, "I3b", as_of=dt.date(2026, 3, 4),
                   anchors={"enrollment": "2026-03-09"})
    assert got == {"I3b": want}
