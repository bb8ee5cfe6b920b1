"""Tests for eligimatch.knowledge._analytes and the shipped catalog."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from eligimatch.knowledge._analytes import normalize_name
from eligimatch.knowledge import Analyte, AnalyteCatalog, is_valid_loinc
from eligimatch.errors import CatalogError, UnitError
from eligimatch.knowledge import parse_unit

CATALOG_FILE = Path(__file__).resolve().parents[1] / "src" / "eligimatch" / "catalog" / "analytes.toml"


@pytest.fixture(scope="module")
def cat() -> AnalyteCatalog:
    return AnalyteCatalog.default()


# --------------------------------------------------------------------------- #
# Content of the shipped catalog
# --------------------------------------------------------------------------- #

# id -> (canonical unit, LOINC codes that must be listed, molar mass)
REQUIRED = {
    "anc": ("10^9/L", {"751-8", "26499-4", "753-4"}, None),
    "lymphocytes": ("10^9/L", {"731-0", "26474-7"}, None),
    "wbc": ("10^9/L", {"6690-2", "26464-8"}, None),
    "platelets": ("10^9/L", {"777-3", "26515-7"}, None),
    "hemoglobin": ("g/L", {"718-7"}, 16114.5),
    "total_bilirubin": ("mg/dL", {"1975-2", "42719-5"}, 584.66),
    "alt": ("U/L", {"1742-6"}, None),
    "ast": ("U/L", {"1920-8"}, None),
    "alp": ("U/L", {"6768-6"}, None),
    "creatinine": ("mg/dL", {"2160-0", "38483-4", "14682-9"}, 113.12),
    "crcl": ("mL/min", {"2164-2"}, None),
    "egfr": ("mL/min/1.73 m²", {"62238-1", "98979-8"}, None),
    "glucose": ("mg/dL", {"2345-7"}, 180.16),
    "inr": ("1", {"6301-6"}, None),
    "aptt": ("s", {"14979-9", "3173-2"}, None),
    "spo2": ("%", {"59408-5", "2708-6"}, None),
    "lvef": ("%", {"10230-1"}, None),
    "hbv_dna": ("IU/mL", {"42595-9"}, None),
    "weight": ("kg", {"29463-7"}, None),
    "height": ("cm", {"8302-2"}, None),
    "creatine_kinase": ("U/L", {"2157-6"}, None),
    "fvc_decline_percent": ("%", set(), None),
    "dlco_decline_percent": ("%", set(), None),
}
SCORES = [
    "sledai_2k", "selena_sledai", "essdai", "bvas", "mrss", "mmt8", "haq",
    "eular_acr_2019_sle_score", "physician_global", "patient_global",
]


@pytest.mark.parametrize("analyte_id", sorted(REQUIRED))
def test_required_analytes(cat, analyte_id):
    unit, codes, molar_mass = REQUIRED[analyte_id]
    analyte = cat.resolve(analyte_id)
    assert analyte is not None and analyte.id == analyte_id
    assert analyte.unit == unit
    assert codes <= set(analyte.loinc)
    assert analyte.molar_mass == molar_mass


@pytest.mark.parametrize("analyte_id", SCORES)
def test_scores(cat, analyte_id):
    analyte = cat.resolve(analyte_id)
    assert analyte is not None
    assert analyte.kind == "score"
    assert analyte.unit == "1"
    assert analyte.accepts("{score}")
    assert not analyte.accepts("mg/dL")


def test_kinds(cat):
    assert cat.resolve("weight").kind == "vital"
    assert cat.resolve("crcl").kind == "computed"
    assert cat.resolve("egfr").kind == "computed"
    assert cat.resolve("anc").kind == "lab"
    assert {a.kind for a in cat} <= {"lab", "vital", "score", "measurement", "computed"}


def test_hbv_dna_is_not_the_qualitative_loinc(cat):
    assert "5009-6" not in cat.resolve("hbv_dna").loinc  # HBV DNA [Presence]


def test_every_unit_in_the_catalog_parses(cat):
    for analyte in cat:
        parse_unit(analyte.unit)


def test_every_loinc_code_has_a_valid_check_digit(cat):
    codes = [code for analyte in cat for code in analyte.loinc]
    assert len(codes) >= 40
    assert all(is_valid_loinc(code) for code in codes)


@pytest.mark.parametrize("code,valid", [("751-8", True), ("751-9", False), ("718-7", True), ("42595-9", True),
                                        ("2160-0", True), ("2160-1", False), ("7518", False), ("x51-8", False),
                                        ("12345678-9", False), ("", False)])
def test_loinc_check_digit(code, valid):
    assert is_valid_loinc(code) is valid


def test_ids_are_unique_in_the_file():
    # tomllib itself refuses a table defined twice; count [tables] in the raw text too
    text = CATALOG_FILE.read_text(encoding="utf-8")
    headers = [line.strip()[1:-1] for line in text.splitlines() if line.startswith("[") and line.strip().endswith("]")]
    assert len(headers) == len(set(headers))
    data = tomllib.loads(text)
    assert sorted(k for k, v in data.items() if isinstance(v, dict)) == sorted(headers)


def test_names_and_synonyms_do_not_collide_across_analytes(cat):
    owner: dict[str, str] = {}
    for analyte in cat:
        for name in (analyte.id, analyte.name, *analyte.synonyms):
            key = normalize_name(name)
            assert owner.setdefault(key, analyte.id) == analyte.id, f"{name!r}: {owner[key]} vs {analyte.id}"
    assert len(owner) > 3 * len(cat)


def test_loinc_codes_do_not_collide(cat):
    codes = [code for analyte in cat for code in analyte.loinc]
    assert len(codes) == len(set(codes))


# --------------------------------------------------------------------------- #
# Resolution and suggestions
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "query,expected",
    [
        ("anc", "anc"),
        ("ANC", "anc"),
        ("absolute neutrophil count", "anc"),
        ("Absolute-Neutrophil_Count", "anc"),
        ("  Absolute  neutrophil count ", "anc"),
        ("neutrophils", "anc"),
        ("NEUT", "anc"),
        ("751-8", "anc"),
        ("LOINC:751-8", "anc"),
        ("loinc: 26499-4", "anc"),
        ("ALC", "lymphocytes"),
        ("leukocytes", "wbc"),
        ("PLT", "platelets"),
        ("BPC", "platelets"),
        ("Hb", "hemoglobin"),
        ("HGB", "hemoglobin"),
        ("serum bilirubin", "total_bilirubin"),
        ("Bilirubin", "total_bilirubin"),
        ("ScR", "creatinine"),
        ("SCr", "creatinine"),
        ("serum creatinine", "creatinine"),
        ("14682-9", "creatinine"),
        ("creatinine clearance", "crcl"),
        ("eGFR", "egfr"),
        ("98979-8", "egfr"),
        ("alanine aminotransferase", "alt"),
        ("alkaline phosphatase", "alp"),
        ("SLEDAI-2K", "sledai_2k"),
        ("SLEDAI-2000", "sledai_2k"),
        ("SELENA-SLEDAI", "selena_sledai"),
        ("modified Rodnan skin score", "mrss"),
        ("oxygen saturation", "spo2"),
        ("left ventricular ejection fraction", "lvef"),
        ("HBV DNA", "hbv_dna"),
        ("body weight", "weight"),
        ("creatine kinase", "creatine_kinase"),
    ],
)
def test_resolve(cat, query, expected):
    analyte = cat.resolve(query)
    assert analyte is not None, query
    assert analyte.id == expected


@pytest.mark.parametrize("query", ["", "   ", "platlets", "SLEDAI", "99999-9", "751-9", "LOINC:", None, 12, "x" * 500])
def test_resolve_unknown_is_none(cat, query):
    assert cat.resolve(query) is None


def test_suggest(cat):
    assert "platelets" in cat.suggest("platlets")
    assert "creatinine" in cat.suggest("creatinin")
    assert cat.suggest("bilirubine")[0] == "total_bilirubin"
    assert set(cat.suggest("SLEDAI")) >= {"sledai_2k", "selena_sledai"}
    assert len(cat.suggest("platlets", n=1)) == 1
    assert cat.suggest("platlets", n=0) == []
    assert cat.suggest("zzzzzzzz") == []
    assert cat.suggest(None) == []
    suggestions = cat.suggest("neutrophil", n=3)
    assert len(suggestions) == len(set(suggestions))  # ids, not repeated


def test_container_protocol(cat):
    ids = [a.id for a in cat]
    assert len(cat) == len(ids) == len(set(ids))
    assert "ANC" in cat and "751-8" in cat and "nonsense" not in cat
    assert cat.resolve("anc") in cat
    assert dataclasses.replace(cat.resolve("anc"), name="Other") not in cat
    assert 3 not in cat


def test_default_is_loaded_once():
    assert AnalyteCatalog.default() is AnalyteCatalog.default()


# --------------------------------------------------------------------------- #
# Units per analyte
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "analyte_id,unit,ok",
    [
        ("platelets", "mg/dL", False),
        ("platelets", "/µL", True),
        ("platelets", "G/L", True),
        ("platelets", "K/uL", True),
        ("anc", "%", False),
        ("anc", "/nL", True),
        ("creatinine", "µmol/L", True),
        ("creatinine", "umol/L", True),
        ("creatinine", "IU/L", False),
        ("total_bilirubin", "µmol/L", True),
        ("hemoglobin", "g/dL", True),
        ("hemoglobin", "mmol/L", True),
        ("alt", "IU/L", True),
        ("alt", "µmol/L", False),
        ("egfr", "mL/min", False),
        ("egfr", "mL/min/1.73m2", True),
        ("crcl", "mL/min/1.73 m²", False),
        ("crcl", "mL/s", True),
        ("hbv_dna", "[IU]/mL", True),
        ("hbv_dna", "copies/mL", False),
        ("hbv_dna", "mg/dL", False),
        ("inr", "1", True),
        ("lvef", "%", True),
        ("weight", "lb", True),
        ("aptt", "min", True),
        ("aptt", "%", False),
    ],
)
def test_accepts(cat, analyte_id, unit, ok):
    assert cat.resolve(analyte_id).accepts(unit) is ok


def test_accepts_reports_unreadable_units(cat):
    with pytest.raises(UnitError):
        cat.resolve("platelets").accepts("mg/dLL")


def test_factor_from(cat):
    creatinine = cat.resolve("creatinine")
    assert 221.0 * creatinine.factor_from("µmol/L") == pytest.approx(2.5, abs=0.001)
    assert creatinine.factor_from("mg/dL", to="µmol/L") == pytest.approx(88.4, abs=0.01)
    bilirubin = cat.resolve("total_bilirubin")
    assert bilirubin.factor_from("mg/dL", to="µmol/L") == pytest.approx(17.1, abs=0.01)
    glucose = cat.resolve("glucose")
    assert glucose.factor_from("mmol/L") == pytest.approx(18.0, abs=0.02)
    assert cat.resolve("platelets").factor_from("/µL") == pytest.approx(0.001)
    assert cat.resolve("hemoglobin").factor_from("g/dL") == pytest.approx(10.0)
    with pytest.raises(UnitError):
        cat.resolve("platelets").factor_from("mg/dL")
    with pytest.raises(UnitError):
        cat.resolve("anc").factor_from("10^9/L", to="mg/dL")


# --------------------------------------------------------------------------- #
# Analyte validation and immutability
# --------------------------------------------------------------------------- #


def test_analyte_is_frozen_and_normalises_sequences():
    a = Analyte("foo_bar", "Foo bar", "mg/dL", synonyms=["FB"], loinc=["LOINC:751-8"], molar_mass=100)
    assert a.synonyms == ("FB",) and a.loinc == ("751-8",) and a.molar_mass == 100.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.unit = "g/L"  # type: ignore[misc]
    assert hash(a) == hash(Analyte("foo_bar", "Foo bar", "mg/dL", ("FB",), ("751-8",), 100.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(id="Foo", name="x", unit="mg/dL"),
        dict(id="foo-bar", name="x", unit="mg/dL"),
        dict(id="foo", name="", unit="mg/dL"),
        dict(id="foo", name="x", unit="mg/dLL"),
        dict(id="foo", name="x", unit="mg/dL", loinc=("751-9",)),
        dict(id="foo", name="x", unit="mg/dL", loinc="751-8"),
        dict(id="foo", name="x", unit="mg/dL", loinc=("751-8", "751-8")),
        dict(id="foo", name="x", unit="mg/dL", synonyms=("",)),
        dict(id="foo", name="x", unit="mg/dL", molar_mass=0),
        dict(id="foo", name="x", unit="mg/dL", molar_mass=float("nan")),
        dict(id="foo", name="x", unit="mg/dL", molar_mass="113"),
        dict(id="foo", name="x", unit="mg/dL", kind="drug"),
    ],
)
def test_invalid_analytes(kwargs):
    with pytest.raises(CatalogError):
        Analyte(**kwargs)


# --------------------------------------------------------------------------- #
# Extension and loading
# --------------------------------------------------------------------------- #


def test_extended_returns_a_new_catalog_and_leaves_the_default_alone():
    base = AnalyteCatalog.default()
    size = len(base)
    ferritin = Analyte("ferritin", "Ferritin", "ng/mL", synonyms=("serum ferritin",), loinc=("2276-4",))
    bigger = base.extended([ferritin])
    assert bigger is not base
    assert len(bigger) == size + 1
    assert bigger.resolve("serum ferritin") == ferritin
    assert bigger.resolve("2276-4") == ferritin
    assert bigger.resolve("ANC") == base.resolve("ANC")
    assert len(base) == size
    assert base.resolve("ferritin") is None
    assert AnalyteCatalog.default().resolve("ferritin") is None


def test_extended_accepts_a_catalog_and_replaces_by_id():
    base = AnalyteCatalog.default()
    new_hb = Analyte("hemoglobin", "Haemoglobin", "g/dL", synonyms=("Hb",))
    other = AnalyteCatalog([new_hb])
    merged = base.extended(other)
    assert merged.resolve("Hb").unit == "g/dL"
    assert merged.resolve("HGB") is None  # the replaced entry's synonyms are gone
    assert [a.id for a in merged].index("hemoglobin") == [a.id for a in base].index("hemoglobin")
    assert base.resolve("Hb").unit == "g/L"


def test_extension_collisions_are_errors():
    base = AnalyteCatalog.default()
    with pytest.raises(CatalogError, match="anc"):
        base.extended([Analyte("my_neutrophils", "Mine", "10^9/L", synonyms=("neutrophils",))])
    with pytest.raises(CatalogError, match="LOINC"):
        base.extended([Analyte("my_plt", "Mine", "10^9/L", loinc=("777-3",))])
    with pytest.raises(CatalogError):
        base.extended([Analyte("a_b", "A", "1"), Analyte("a_b", "B", "1")])
    with pytest.raises(CatalogError):
        base.extended(["anc"])
    with pytest.raises(CatalogError):
        base.extended("anc")


def test_catalog_constructor_rejects_duplicates():
    a = Analyte("a_one", "Alpha", "1", synonyms=("AA",))
    with pytest.raises(CatalogError):
        AnalyteCatalog([a, a])
    with pytest.raises(CatalogError):
        AnalyteCatalog([a, Analyte("a_two", "Beta", "1", synonyms=("a-a",))])


GOOD_TOML = """
schema_version = 1

[ferritin]
name = "Ferritin"
unit = "ng/mL"
synonyms = ["serum ferritin"]
loinc = ["2276-4"]

[uric_acid]
name = "Uric acid"
unit = "mg/dL"
molar_mass = 168.11
kind = "lab"
description = "urate"
"""


def test_from_toml_text_path_and_bytes(tmp_path):
    from_text = AnalyteCatalog.from_toml(GOOD_TOML)
    assert [a.id for a in from_text] == ["ferritin", "uric_acid"]
    assert from_text.resolve("uric acid").molar_mass == 168.11
    path = tmp_path / "mine.toml"
    path.write_text(GOOD_TOML, encoding="utf-8")
    assert len(AnalyteCatalog.from_toml(path)) == 2
    assert len(AnalyteCatalog.from_toml(str(path))) == 2
    assert len(AnalyteCatalog.from_toml(GOOD_TOML.encode())) == 2


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("[a\nname=", "not valid TOML"),
        ("[foo]\nname = 'x'\nunit = 'mg/dL'\nsynonym = ['y']\n", "did you mean 'synonyms'"),
        ("[foo]\nname = 'x'\n", "unit"),
        ("[foo]\nname = 'x'\nunit = 'mg/dLL'\n", "mg/dL"),
        ("[foo]\nname = 'x'\nunit = 'mg/dL'\nloinc = ['751-9']\n", "751-9"),
        ("foo = 1\n", "table"),
        ("schema_version = 2\n", "schema_version"),
        ("[a_a]\nname='x'\nunit='1'\nsynonyms=['S']\n[b_b]\nname='y'\nunit='1'\nsynonyms=['s']\n", "already"),
    ],
)
def test_from_toml_errors(text, fragment):
    with pytest.raises(CatalogError, match=fragment):
        AnalyteCatalog.from_toml(text)


def test_from_toml_missing_file(tmp_path):
    with pytest.raises(CatalogError):
        AnalyteCatalog.from_toml(tmp_path / "nope.toml")
    with pytest.raises(CatalogError):
        AnalyteCatalog.from_toml(123)
