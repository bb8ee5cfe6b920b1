"""Oncology from FHIR (mCODE, IPS): cancer conditions, staging, tumour markers, disease status.

tests/fhir/mcode_breast.json is a small mCODE bundle written for these tests in the shape
the issue describes (the CodeX matching-service fixtures): a year-only birth date, a primary
breast cancer coded SNOMED 372137005 + 408643008 with histology and laterality, a secondary
(lung) cancer 94391008, TNM and stage group coded in SNOMED CT, disease status 97509-4, ER/PR/
HER2 with coded results, a marker with two values (invalid R4), two RxNorm medications,
a lumpectomy and a radiotherapy course (codes from the mCODE IG's Jenny M. example).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

import eligimatch
from eligimatch.sources.fhir import patient_from_bundle
from eligimatch.knowledge import normalize_stage, normalize_tnm

HERE = Path(__file__).resolve().parent
MCODE = HERE / "fhir" / "mcode_breast.json"
CORPUS = Path(os.environ.get("ELIGIMATCH_SHARED", HERE.parent.parent / "shared")) / "corpora" / "fhir"
S = "http://snomed.info/sct"
L = "http://loinc.org"
AS_OF = dt.date(2026, 3, 1)


@pytest.fixture(scope="module")
def mcode():
    return patient_from_bundle(MCODE)


def _cond(patient, rid):
    (c,) = [c for c in patient.conditions if c.source.id == rid]
    return c


# --------------------------------------------------------------------------- value sets


@pytest.mark.parametrize("text", ["Stage IIB", "IIB", "2B", "stage 2b", "Stage II B", "AJCC stage IIB",
                                  "American Joint Committee on Cancer stage IIB (qualifier value)"])
def test_stage_spellings_normalise_to_one_value(text):
    assert normalize_stage(text) == "IIB"


@pytest.mark.parametrize("text", ["IIE", "limited", "stage V", "IIBB", "", "T3", "4D"])
def test_other_stage_texts_are_not_guessed(text):
    assert normalize_stage(text) is None


@pytest.mark.parametrize("kind,text,expected", [
    ("t", "cT3", "T3"), ("t", "pT1c", "T1c"), ("t", "Tis", "Tis"), ("t", "ypT2", "T2"),
    ("n", "cN0", "N0"), ("n", "pN1a", "N1a"), ("n", "N1mi", "N1mi"), ("m", "cM0", "M0"), ("m", "pM1b", "M1b"),
    ("t", "N0", None), ("m", "M2", None), ("n", "stage II", None),
])
def test_tnm_categories(kind, text, expected):
    assert normalize_tnm(kind, text) == expected


# --------------------------------------------------------------------------- the mCODE bundle


def test_primary_cancer_with_histology_laterality_and_stage(mcode):
    primary = _cond(mcode.patient, "primary")
    assert primary.code == "SNOMED:372137005"
    assert primary.attributes == {"histology": "infiltrating_ductal_carcinoma", "body_site": "SNOMED:76752008",
                                  "laterality": "left", "clinical_stage": "IIB", "t": "T3", "n": "N0", "m": "M0",
                                  "stage": "IIB"}


def test_secondary_cancer_is_metastatic_disease(mcode):
    assert _cond(mcode.patient, "secondary").code == "SNOMED:94391008"
    cats = eligimatch.Catalogs.default()
    assert cats.conditions.resolve("SNOMED:94391008").id == "metastasis"


def test_tumour_markers_and_disease_status_are_facts(mcode):
    facts = {k: v.value for k, v in mcode.patient.facts.items()}
    assert facts == {"er": "positive", "pr": "negative", "her2": "positive", "her2_ihc": "3+",
                     "cancer_disease_status": "stable", "ecog": 1}
    assert mcode.patient.facts["er"].source.id == "er"


def test_a_marker_with_two_values_is_quarantined_alone(mcode):
    (line,) = mcode.report.quarantined
    assert line.resource_id == "marker-two-values" and "got multiple" in line.reason


def test_cancer_medications_and_procedures(mcode):
    assert {t.drug for t in mcode.patient.therapies} == {"palbociclib", "letrozole"}
    cats = eligimatch.Catalogs.default()
    kinds = {cats.procedures.resolve(p.code).id for p in mcode.patient.procedures}
    assert kinds == {"partial_mastectomy", "radiotherapy"}


def test_every_resource_of_the_bundle_is_accounted_for(mcode):
    assert mcode.report.counts()["unmapped"] == 0 and mcode.report.counts()["rejected"] == 0


ONCOLOGY_TRIAL = '''trial "ONC-1"
inclusion:
  - I0 "Adults up to 70 (the bundle gives the birth year only)": age between 18 and 70 years
  - I1 "Solid tumour": condition solid_tumor
  - I2 "Breast cancer, stage II": condition breast_cancer where stage in (IIA, IIB)
  - I3 "ER positive": er = positive
  - I4 "HER2 IHC 2+ or 3+": her2_ihc in ("2+", "3+")
  - I5 "Metastatic": condition metastasis
  - I6 "Clinical T3": condition breast_cancer where t = T3
exclusion:
  - E1 "Progressing": cancer_disease_status = worsening
  - E2 "Prior CDK4/6 inhibitor": therapy cdk4_6_inhibitor within 30 days before screening
'''


def test_the_breast_cancer_patient_is_usable_by_criteria(mcode):
    trial = eligimatch.compile_trial(ONCOLOGY_TRIAL)
    result = eligimatch.match(mcode.patient, trial, as_of=AS_OF, anchors={"screening": AS_OF})
    outcomes = {c.id: c.outcome.name for c in result.criteria}
    assert outcomes == {"I0": "TRUE", "I1": "TRUE", "I2": "TRUE", "I3": "TRUE", "I4": "TRUE", "I5": "TRUE", "I6": "TRUE",
                        "E1": "FALSE", "E2": "TRUE"}  # E2: palbociclib is ongoing
    assert result.verdict.name == "NO_MATCH"  # excluded by E2 only
    assert [c.id for c in result.criteria if c.id.startswith("E") and c.outcome.name == "TRUE"] == ["E2"]


def test_order_comparisons_need_an_ordered_fact():
    with pytest.raises(eligimatch.CriteriaError, match=r"takes = , != or in \(\.\.\.\), not an order comparison"):
        eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: er >= positive\n')
    with pytest.raises(eligimatch.CriteriaError, match=r"is one of 0, 1\+, 2\+, 3\+, not '2'"):
        eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: her2_ihc >= 2\n')
    with pytest.raises(eligimatch.CriteriaError, match=r"compared with a number, not '2\+'"):
        eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: ecog <= 2+\n')


@pytest.mark.parametrize("op,threshold,holds_for", [
    (">=", "2+", {"2+", "3+"}),
    (">", "2+", {"3+"}),
    ("<=", "1+", {"0", "1+"}),
    ("<", "0", set()),
])
def test_ranked_values_of_an_ordered_fact(op, threshold, holds_for):
    # her2_ihc is ordered 0 < 1+ < 2+ < 3+: a comparison holds for the values ranked on its side of the threshold
    trial = eligimatch.compile_trial(f'trial "T"\ninclusion:\n  - I1: her2_ihc {op} "{threshold}"\n')
    for value in ("0", "1+", "2+", "3+"):
        patient = eligimatch.load_patient({"id": "p", "facts": {"her2_ihc": value}})
        outcome = eligimatch.match(patient, trial, as_of=dt.date(2026, 3, 1)).criteria[0].outcome
        assert outcome == (eligimatch.Outcome.TRUE if value in holds_for else eligimatch.Outcome.FALSE), (value, op)


def test_an_undeclared_marker_value_is_a_compile_error():
    with pytest.raises(eligimatch.CriteriaError, match=r"positive, negative, equivocal"):
        eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: er = postive\n')
    with pytest.raises(eligimatch.CriteriaError, match=r"3\+"):
        eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: her2_ihc = "4+"\n')


# --------------------------------------------------------------------------- staging rules


def _bundle(*resources):
    patient = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1960-01-01"}
    entries = [patient, *resources]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries]}


def _breast(**extra):
    r = {"resourceType": "Condition", "id": "c", "subject": {"reference": "urn:uuid:p"},
         "code": {"coding": [{"system": S, "code": "254837009"}]}, "onsetDateTime": "2024-01-01"}
    r.update(extra)
    return r


def _stage(id, value, code="21908-9", when="2024-02-01", **extra):
    r = {"resourceType": "Observation", "id": id, "status": "final", "subject": {"reference": "urn:uuid:p"},
         "code": {"coding": [{"system": L, "code": code}]}, "effectiveDateTime": when,
         "valueCodeableConcept": {"coding": [{"system": "http://cancerstaging.org", "code": value}]}}
    r.update(extra)
    return r


def test_staging_without_a_focus_is_not_attached_to_a_guess():
    result = patient_from_bundle(_bundle(_breast(), _stage("s", "2B")))
    assert result.patient.conditions[0].attributes == {}
    (line,) = [l for l in result.report.lines if l.resource_id == "s"]
    assert line.outcome == "unmapped" and "without a focus Condition" in line.reason


def test_stage_assessment_links_the_stage_group_and_its_members():
    t = _stage("t", "cT2", code="21905-5")
    group = _stage("g", "2A", hasMember=[{"reference": "urn:uuid:t"}])
    cond = _breast(stage=[{"assessment": [{"reference": "urn:uuid:g"}]}])
    attrs = patient_from_bundle(_bundle(cond, group, t)).patient.conditions[0].attributes
    assert (attrs["stage"], attrs["clinical_stage"], attrs["t"]) == ("IIA", "IIA", "T2")


def test_pathological_stage_supersedes_clinical():
    focus = {"focus": [{"reference": "urn:uuid:c"}]}
    clinical = _stage("cs", "2A", **focus)
    pathological = _stage("ps", "3A", code="21902-2", when="2024-03-01", **focus)
    attrs = patient_from_bundle(_bundle(_breast(), clinical, pathological)).patient.conditions[0].attributes
    assert (attrs["clinical_stage"], attrs["pathological_stage"], attrs["stage"]) == ("IIA", "IIIA", "IIIA")


def test_summary_and_stage_group_that_disagree_leave_the_stage_unknown():
    summary = {"summary": {"coding": [{"system": S, "code": "1222806003",
                                       "display": "American Joint Committee on Cancer stage IIIC"}]}}
    cond = _breast(stage=[summary])
    group = _stage("g", "2B", focus=[{"reference": "urn:uuid:c"}])
    result = patient_from_bundle(_bundle(cond, group))
    attrs = result.patient.conditions[0].attributes
    assert "stage" not in attrs and attrs["clinical_stage"] == "IIB"
    assert any("stage not recorded" in l.reason for l in result.report.notes)
    trial = eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: condition breast_cancer where stage = IIIC\n')
    assert eligimatch.match(result.patient, trial, as_of=AS_OF).verdict.name == "UNKNOWN"


def test_an_unreadable_stage_is_rejected():
    result = patient_from_bundle(_bundle(_breast(), _stage("g", "stage V", focus=[{"reference": "urn:uuid:c"}])))
    assert {l.outcome for l in result.report.lines if l.resource_id == "g"} == {"rejected"}


def test_marker_as_a_percentage_is_not_read_as_positive():
    er = {"resourceType": "Observation", "id": "er", "status": "final", "subject": {"reference": "urn:uuid:p"},
          "code": {"coding": [{"system": L, "code": "85337-4"}]}, "effectiveDateTime": "2024-01-05",
          "valueQuantity": {"value": 90, "unit": "%"}}
    result = patient_from_bundle(_bundle(er))
    assert "er" not in result.patient.facts
    assert {l.outcome for l in result.report.lines if l.resource_id == "er"} == {"rejected"}


# --------------------------------------------------------------------------- the corpus


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the FHIR corpus is not at {CORPUS} (set "
                                  "ELIGIMATCH_SHARED to the folder holding corpora/)")


@needs_corpus
@pytest.mark.parametrize("name", ["inferno/Bundle-IPS-examples-Bundle-01.json"])
def test_ips_breast_cancer_patient_has_a_solid_tumour(name):
    result = patient_from_bundle(CORPUS / name)
    trial = eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: history of solid_tumor\n'
                                     '  - I2: history of breast_cancer\n')
    verdict = eligimatch.match(result.patient, trial, as_of=AS_OF)
    assert verdict.verdict.name == "MATCH", verdict.explain()
    breast = [c for c in result.patient.conditions if c.code == "SNOMED:254837009"]
    assert breast and breast[0].attributes.get("histology") == "infiltrating_ductal_carcinoma"  # ICD-O-3 8500/3


@needs_corpus
def test_synthea_nsclc_stage_from_the_diagnosis_code():
    hits = []
    for path in sorted((CORPUS / "synthea-smart").glob("*.json")):
        if "424132000" in path.read_text(encoding="utf-8"):
            p = patient_from_bundle(path).patient
            hits += [c for c in p.conditions if c.code == "SNOMED:424132000"]
    assert hits and all(c.attributes.get("stage") == "I" for c in hits)


def test_mcode_fixture_is_valid_json():
    assert json.loads(MCODE.read_text())["resourceType"] == "Bundle"
