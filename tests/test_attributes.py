"""Declared attribute vocabularies (catalog/attributes.toml): stage, TNM, laterality, histology."""

from __future__ import annotations

import pytest

import eligimatch
from eligimatch.knowledge import AttributeCatalog
from eligimatch.errors import CatalogError

VOCAB = AttributeCatalog.default()


@pytest.mark.parametrize("written", ["IIB", "Stage IIB", "2B", "stage 2b", "iib", "AJCC stage IIB"])
def test_stage_synonyms(written):
    assert VOCAB.get("stage").normalize(written) == "IIB"


def test_stage_descriptors_are_another_scale():
    stage = VOCAB.get("stage")
    assert stage.normalize("Locally advanced") == "locally_advanced"
    assert (stage.scale("IIB"), stage.scale("locally_advanced")) == (0, 1)
    assert stage.normalize("limited-ish") is None and stage.normalize(True) is None


def test_tnm_laterality_histology():
    assert VOCAB.get("t").normalize("ypT2") == "T2" and VOCAB.get("n").normalize("cN1mi") == "N1mi"
    assert VOCAB.get("m").normalize("M2") is None
    assert VOCAB.get("laterality").normalize("Right side") == "right"
    assert VOCAB.get("histology").normalize("invasive ductal carcinoma") == "infiltrating_ductal_carcinoma"
    assert "grade" not in VOCAB  # undeclared attributes keep their plain comparison


@pytest.mark.parametrize("criterion,message", [
    ("condition breast_cancer where stage = IIBB", "stage (Cancer stage group) has no value 'IIBB'"),
    ("condition breast_cancer where laterality in (left, lefty)", "did you mean left?"),
    ("condition breast_cancer where stage >= IIB", "not an order comparison"),
    ("condition breast_cancer where t", "is not yes/no"),
    ("condition breast_cancer where (stage = IIB or histology = ductal)", "histology (Histology (morphology)) has no value 'ductal'"),
])
def test_check_refuses_undeclared_values(criterion, message):
    with pytest.raises(eligimatch.CriteriaError) as err:
        eligimatch.compile_trial(f'trial "T"\ninclusion:\n  - I1: {criterion}\n')
    assert message in str(err.value)


def test_declared_values_and_synonyms_compile():
    eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1: condition breast_cancer where stage in (II, IIA, "Stage IIB", 2)\n'
                             '  - I2: condition breast_cancer where stage in (locally_advanced, metastatic)\n')


def test_catalog_errors():
    with pytest.raises(CatalogError, match="not a declared value"):
        AttributeCatalog.from_toml('[x]\nvalues = ["a"]\nsynonyms = { "b" = "c" }\n')
    with pytest.raises(CatalogError, match="unknown normalizer"):
        AttributeCatalog.from_toml('[x]\nvalues = ["a"]\nnormalizer = "roman"\n')
    with pytest.raises(CatalogError, match="non-empty list of values"):
        AttributeCatalog.from_toml('[x]\nname = "x"\n')


def test_check_refuses_an_undeclared_attribute_name_with_its_place_and_a_did_you_mean():
    line = "  - c1: condition breast_cancer where symptomatc"
    text = f"inclusion:\n{line}\n"
    with pytest.raises(eligimatch.CriteriaError) as err:
        eligimatch.compile_trial(text)
    problem = err.value.problems[0]
    assert "unknown attribute 'symptomatc'" in problem.message
    assert (problem.line, problem.column) == (2, line.index("symptomatc") + 1)
    assert "did you mean 'symptomatic'" in str(err.value)


@pytest.mark.parametrize("criterion", [
    "therapy corticosteroid within 30 days before screening where rout not in (inhaled)",
    "procedure central_venous_catheter where in_plac",
])
def test_undeclared_names_on_therapies_and_procedures_are_refused_too(criterion):
    with pytest.raises(eligimatch.CriteriaError, match="unknown attribute"):
        eligimatch.compile_trial(f"exclusion:\n  - x1: {criterion}\n")


def test_every_declared_name_has_a_kind_and_a_description():
    cat = AttributeCatalog.default()
    for name in cat.names():
        assert cat.kind(name) in ("coded", "yesno", "ordered", "text"), name
    assert {"grade", "route", "symptomatic", "isn_rps_class"} <= set(cat.names())
    with pytest.raises(CatalogError, match="kind"):
        AttributeCatalog.from_toml('[x]\nkind = "colour"\nname = "x"\n')
    with pytest.raises(CatalogError, match="name"):
        AttributeCatalog.from_toml('[x]\nkind = "yesno"\n')
