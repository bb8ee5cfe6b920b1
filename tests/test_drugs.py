"""Tests for eligimatch.knowledge._drugs and the shipped drug catalog."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eligimatch.knowledge import Drug, DrugCatalog, DrugClass
from eligimatch.errors import CatalogError, EligimatchError

CAT = DrugCatalog.default()


# --------------------------------------------------------------------------- shipped content

REQUIRED_CLASSES = """
anticancer_therapy cytotoxic_chemotherapy small_molecule_targeted_therapy monoclonal_antibody
immunomodulatory_agent traditional_chinese_medicine_antitumor cancer_vaccine investigational_agent cell_therapy
car_t tcr_t gene_therapy biologic corticosteroid immunosuppressant antimalarial anticoagulant
vitamin_k_antagonist low_molecular_weight_heparin interferon live_vaccine antiviral_prophylaxis
""".split()

REQUIRED_DRUGS = """
cyclophosphamide fludarabine imatinib osimertinib rituximab cetuximab tocilizumab belimumab daratumumab
lenalidomide pomalidomide thalidomide telitacicept anifrolumab mycophenolate_mofetil cyclosporine tacrolimus
azathioprine leflunomide methotrexate sirolimus hydroxychloroquine chloroquine warfarin enoxaparin mmr_vaccine
varicella_vaccine yellow_fever_vaccine bcg_vaccine live_zoster_vaccine entecavir tenofovir prednisone
prednisolone methylprednisolone triamcinolone dexamethasone betamethasone hydrocortisone cortisone deflazacort
acetaminophen diphenhydramine human_serum_albumin dimethyl_sulfoxide dextran_40
""".split()


@pytest.mark.parametrize("class_id", REQUIRED_CLASSES)
def test_required_class_present(class_id):
    assert isinstance(CAT.get(class_id), DrugClass)


@pytest.mark.parametrize("drug_id", REQUIRED_DRUGS)
def test_required_drug_present(drug_id):
    assert isinstance(CAT.get(drug_id), Drug)


# --------------------------------------------------------------------------- resolve


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MabThera", "rituximab"),
        ("Rituxan", "rituximab"),
        ("rituximab-abbs", "rituximab"),
        ("RITUXIMAB", "rituximab"),
        ("Erbitux", "cetuximab"),
        ("Erbitux/cetuximab", None),  # two names in one string are not split here
        ("Benlysta", "belimumab"),
        ("Actemra", "tocilizumab"),
        ("Medrol", "methylprednisolone"),
        ("Solu-Medrol", "methylprednisolone"),
        ("Gleevec", "imatinib"),
        ("Tagrisso", "osimertinib"),
        ("ciclosporin", "cyclosporine"),
        ("MMF", "mycophenolate_mofetil"),
        ("Plaquenil", "hydroxychloroquine"),
        ("paracetamol", "acetaminophen"),
        ("DMSO", "dimethyl_sulfoxide"),
        ("Zostavax", "live_zoster_vaccine"),
        ("Kymriah", "tisagenlecleucel"),
        ("Carvykti", "ciltacabtagene_autoleucel"),
        ("B4T2-001", "b4t2_001"),
        ("CT1192", "ct1192"),
        ("BCT301 cell injection", "bct301"),
        ("CD19-BCMA CAR-T cells", "bh002"),
        ("Tai'ai", "telitacicept"),
        ("RXNORM:121191", "rituximab"),
        ("rxnorm: 121191", "rituximab"),
        ("RxCUI:8640", "prednisone"),
        ("121191", "rituximab"),
        ("6902", "methylprednisolone"),
        ("RXNORM:999999999", None),
        ("ATC:L01XC02", None),
        ("no such drug", None),
        ("", None),
    ],
)
def test_resolve_drugs(text, expected):
    entry = CAT.resolve(text)
    if expected is None:
        assert entry is None
    else:
        assert isinstance(entry, Drug) and entry.id == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("glucocorticoids", "corticosteroid"),
        ("steroids", "corticosteroid"),
        ("biological agents", "biologic"),
        ("immunosuppressants", "immunosuppressant"),
        ("antimalarials", "antimalarial"),
        ("monoclonal antibodies", "monoclonal_antibody"),
        ("Therapy with monoclonal antibody", "monoclonal_antibody"),
        ("Cytotoxic therapy", "cytotoxic_chemotherapy"),
        ("Small molecule targeted therapy", "small_molecule_targeted_therapy"),
        ("Immunomodulatory therapy", "immunomodulatory_agent"),
        ("Traditional Chinese medicine with anti-tumor indications", "traditional_chinese_medicine_antitumor"),
        ("Investigational agents", "investigational_agent"),
        ("therapeutic tumor vaccine", "cancer_vaccine"),
        ("CAR-T", "car_t"),
        ("TCR-T", "tcr_t"),
        ("other cell therapies", "cell_therapy"),
        ("live vaccine", "live_vaccine"),
        ("LMWH", "low_molecular_weight_heparin"),
        ("alternative vitamin K antagonists", "vitamin_k_antagonist"),
        ("prophylactic antiviral therapy", "antiviral_prophylaxis"),
        ("interferon", "interferon"),
    ],
)
def test_resolve_classes(text, expected):
    entry = CAT.resolve(text)
    assert isinstance(entry, DrugClass) and entry.id == expected


@pytest.mark.parametrize(
    ("selector", "target"),
    [
        ("cd19_targeted", "cd19"),
        ("target:cd19", "cd19"),
        ("TARGET: CD19", "cd19"),
        ("CD19-targeted therapy", "cd19"),
        ("BCMA-targeted therapy", "bcma"),
        ("anti-CD20", "cd20"),
        ("anti-CD20 antibody", "cd20"),
        ("bt001_targeted_therapy", "bt-001"),
        ("BT-001-targeted therapy", "bt-001"),
        ("target:bt-001", "bt-001"),
        ("pd1_targeted", "pd-1"),
    ],
)
def test_target_selectors_resolve_to_synthetic_classes(selector, target):
    entry = CAT.resolve(selector)
    assert isinstance(entry, DrugClass)
    assert entry.id == f"target:{target}"
    assert entry.id not in CAT  # synthetic, not a catalog entry


@pytest.mark.parametrize("selector", ["cd99_targeted", "target:nothing", "anti-xyz", "target:"])
def test_unknown_targets_do_not_resolve(selector):
    assert CAT.resolve(selector) is None


def test_resolve_rejects_non_strings():
    with pytest.raises(TypeError):
        CAT.resolve(121191)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- classes


def test_classes_are_transitive_and_include_targets():
    assert CAT.classes_of("rituximab") == frozenset(
        {"anticancer_monoclonal_antibody", "monoclonal_antibody", "biologic", "anticancer_therapy", "target:cd20"}
    )
    assert {"car_t", "cell_therapy", "gene_therapy", "investigational_agent", "target:bt-001"} == CAT.classes_of("b4t2_001")
    assert {"target:cd19", "target:bcma"} <= CAT.classes_of("bh002")


def test_classes_of_accepts_names_and_codes_and_refuses_unknowns():
    assert CAT.classes_of("MabThera") == CAT.classes_of("rituximab") == CAT.classes_of("RXNORM:121191")
    assert CAT.classes_of("monoclonal_antibody") == frozenset({"monoclonal_antibody", "biologic"})
    with pytest.raises(KeyError, match="rituximab"):
        CAT.classes_of("rituxumab")


@pytest.mark.parametrize(
    ("drug", "cls", "expected"),
    [
        ("cyclophosphamide", "cytotoxic_chemotherapy", True),
        ("cyclophosphamide", "immunosuppressant", True),
        ("cyclophosphamide", "anticancer_therapy", True),
        ("fludarabine", "immunosuppressant", False),
        ("methotrexate", "immunosuppressant", True),
        ("tacrolimus", "immunosuppressant", True),  # via calcineurin_inhibitor
        ("imatinib", "small_molecule_targeted_therapy", True),
        ("osimertinib", "anticancer_therapy", True),
        ("belimumab", "biologic", True),
        ("belimumab", "monoclonal_antibody", True),
        ("belimumab", "anticancer_therapy", False),  # hierarchy choice: not every mAb is anticancer
        ("tocilizumab", "anticancer_therapy", False),
        ("telitacicept", "biologic", True),
        ("telitacicept", "monoclonal_antibody", False),  # a fusion protein
        ("cetuximab", "monoclonal_antibody", True),
        ("daratumumab", "anticancer_therapy", True),
        ("lenalidomide", "immunomodulatory_agent", True),
        ("tisagenlecleucel", "gene_therapy", True),
        ("tisagenlecleucel", "biologic", False),
        ("prednisone", "immunosuppressant", False),  # corticosteroids are their own class
        ("hydroxychloroquine", "antimalarial", True),
        ("warfarin", "anticoagulant", True),
        ("enoxaparin", "low_molecular_weight_heparin", True),
        ("bcg_vaccine", "live_vaccine", True),
        ("recombinant_zoster_vaccine", "live_vaccine", False),
        ("recombinant_zoster_vaccine", "vaccine", True),
        ("entecavir", "antiviral_prophylaxis", True),
        ("peginterferon_alfa_2a", "antiviral_prophylaxis", False),
        ("peginterferon_alfa_2a", "antiviral", True),
        ("huaier_granule", "anticancer_therapy", True),
    ],
)
def test_class_membership(drug, cls, expected):
    assert (cls in CAT.classes_of(drug)) is expected
    assert CAT.is_a(drug, cls) is expected


def test_is_a_is_reflexive_and_refuses_unknown_selectors():
    assert CAT.is_a("rituximab", "rituximab")
    assert CAT.is_a("monoclonal_antibody", "biologic")
    assert not CAT.is_a("biologic", "monoclonal_antibody")
    with pytest.raises(KeyError):
        CAT.is_a("rituximab", "no_such_class")


# --------------------------------------------------------------------------- matches


@pytest.mark.parametrize(
    ("record_drug", "record_classes", "selector", "expected"),
    [
        # a record naming a drug
        ("rituximab", [], "rituximab", True),
        ("MabThera", [], "rituximab", True),
        ("rituximab", [], "monoclonal_antibody", True),
        ("rituximab", [], "biologic", True),
        ("rituximab", [], "cd20_targeted", True),
        ("rituximab", [], "target:cd19", False),
        ("rituximab", [], "corticosteroid", False),
        ("rituximab", [], "belimumab", False),
        ("tisagenlecleucel", [], "cd19_targeted", True),
        ("Kymriah", [], "car_t", True),
        ("Carvykti", [], "BCMA-targeted therapy", True),
        ("Carvykti", [], "cd19_targeted", False),
        ("blinatumomab", [], "target:cd19", True),  # CD19-targeted without being a CAR-T
        ("blinatumomab", [], "car_t", False),
        ("inebilizumab", [], "cd19_targeted", True),
        ("B4T2-001", [], "bt001_targeted_therapy", True),
        ("Zostavax", [], "live_vaccine", True),
        ("Shingrix", [], "live_vaccine", False),
        ("entecavir", [], "antiviral_prophylaxis", True),
        ("Pegasys", [], "antiviral_prophylaxis", False),
        # a record naming only classes
        (None, ["monoclonal_antibody"], "monoclonal_antibody", True),
        (None, ["monoclonal_antibody"], "biologic", True),
        (None, ["monoclonal antibodies"], "biologic", True),
        (None, ["monoclonal_antibody"], "rituximab", False),
        (None, ["monoclonal_antibody"], "anticancer_monoclonal_antibody", False),
        (None, ["biologic"], "monoclonal_antibody", False),
        (None, ["car_t"], "gene_therapy", True),
        (None, ["car_t", "target:cd19"], "cd19_targeted", True),
        (None, ["glucocorticoid"], "corticosteroid", True),
        # a record naming a drug and classes
        ("rituximab", ["investigational_agent"], "investigational_agent", True),
        # records the catalog cannot place
        ("BCT-999", [], "car_t", False),
        ("BCT-999", ["CAR-T"], "car_t", True),
        (None, [], "biologic", False),
    ],
)
def test_matches(record_drug, record_classes, selector, expected):
    assert CAT.matches(record_drug, record_classes, selector) is expected


@pytest.mark.parametrize(
    ("record_drug", "record_classes", "selector", "expected"),
    [
        (None, ["monoclonal_antibody"], "rituximab", None),  # could be rituximab
        (None, ["monoclonal_antibody"], "cd20_targeted", None),
        (None, ["corticosteroid"], "prednisone", None),
        (None, ["cell_therapy"], "car_t", None),  # a broader class than the selector
        (None, ["fusion_protein"], "monoclonal_antibody", False),  # no fusion protein is a mAb
        (None, ["corticosteroid"], "biologic", False),
        ("rituximab", [], "belimumab", False),
        ("amlodipine", [], "corticosteroid", None),  # unknown to the catalog
        ("rituximab", [], "biologic", True),
    ],
)
def test_match_status_is_three_valued(record_drug, record_classes, selector, expected):
    assert CAT.match_status(record_drug, record_classes, selector) is expected


def test_matches_refuses_unknown_selectors():
    with pytest.raises(KeyError, match="did you mean"):
        CAT.matches("rituximab", [], "monoclonal_antibodie")
    with pytest.raises(KeyError):
        CAT.matches("rituximab", [], "cd99_targeted")


def test_matches_accepts_a_single_class_string():
    assert CAT.matches(None, "car_t", "cell_therapy")


# --------------------------------------------------------------------------- corticosteroids

EQUIVALENT_TO_5MG_PREDNISONE = {
    "prednisone": 5,
    "prednisolone": 5,
    "methylprednisolone": 4,
    "triamcinolone": 4,
    "dexamethasone": 0.75,
    "betamethasone": 0.6,
    "hydrocortisone": 20,
    "cortisone": 25,
    "deflazacort": 6,
}


@pytest.mark.parametrize(("drug", "mg"), sorted(EQUIVALENT_TO_5MG_PREDNISONE.items()))
def test_prednisone_equivalence_table(drug, mg):
    assert CAT.get(drug).prednisone_equivalent_mg == mg
    assert CAT.prednisone_equivalent(drug, mg) == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("drug", "dose", "prednisone_mg"),
    [
        ("methylprednisolone", 16, 20.0),
        ("dexamethasone", 10.5, 70.0),
        ("hydrocortisone", 100, 25.0),
        ("prednisone", 7.5, 7.5),
        ("Medrol", 4, 5.0),
        ("RXNORM:3264", 0.75, 5.0),
        ("betamethasone", 0, 0.0),
    ],
)
def test_prednisone_equivalent_doses(drug, dose, prednisone_mg):
    assert CAT.prednisone_equivalent(drug, dose) == pytest.approx(prednisone_mg)


@pytest.mark.parametrize("drug", ["rituximab", "budesonide", "fluticasone", "fludrocortisone", "corticosteroid", "unknown"])
def test_prednisone_equivalent_is_none_without_an_equivalence(drug):
    assert CAT.prednisone_equivalent(drug, 10) is None


@pytest.mark.parametrize("dose", [-1, math.nan, math.inf, "10", None, True])
def test_prednisone_equivalent_refuses_bad_doses(dose):
    with pytest.raises(ValueError):
        CAT.prednisone_equivalent("prednisone", dose)  # type: ignore[arg-type]


def test_only_corticosteroids_have_equivalences():
    for drug in CAT.drugs:
        if drug.prednisone_equivalent_mg is not None:
            assert "corticosteroid" in CAT.classes_of(drug.id), drug.id


# --------------------------------------------------------------------------- half-lives


@pytest.mark.parametrize(
    ("drug", "days"),
    [
        ("rituximab", 22),
        ("belimumab", 19.4),
        ("cetuximab", 4.75),
        ("daratumumab", 18),
        ("imatinib", 0.75),
        ("osimertinib", 2.0),
    ],
)
def test_half_lives(drug, days):
    assert CAT.get(drug).half_life_days == pytest.approx(days)


def test_every_half_life_has_a_source_and_a_plausible_value():
    with_half_life = [d for d in CAT.drugs if d.half_life_days is not None]
    assert len(with_half_life) >= 30
    for drug in with_half_life:
        assert drug.half_life_source.strip(), drug.id
        assert 0 < drug.half_life_days < 60, drug.id


def test_no_half_life_where_no_label_value_was_checked():
    assert CAT.get("telitacicept").half_life_days is None
    assert CAT.get("tisagenlecleucel").half_life_days is None


def test_rxnorm_codes():
    assert CAT.get("rituximab").rxnorm == ("121191",)
    assert CAT.get("prednisone").rxnorm == ("8640",)
    all_codes = [cui for d in CAT.drugs for cui in d.rxnorm]
    assert len(all_codes) == len(set(all_codes))


# --------------------------------------------------------------------------- consistency, suggest


def test_every_name_resolves_to_its_own_entry():
    for entry in (*CAT.drugs, *CAT.classes):
        for name in (entry.id, entry.name, *entry.synonyms):
            assert CAT.resolve(name) is entry, (entry.id, name)
    for drug in CAT.drugs:
        for cui in drug.rxnorm:
            assert CAT.resolve(f"RXNORM:{cui}") is drug


def test_suggest():
    assert CAT.suggest("ritux")[0] == "rituximab"
    assert CAT.suggest("tocilizumb")[0] == "tocilizumab"
    assert CAT.suggest("cyclofosfamide")[0] == "cyclophosphamide"
    assert CAT.suggest("zzzzzzzz") == []


def test_default_catalog_is_loaded_once_and_is_an_immutable_view():
    assert DrugCatalog.default() is CAT
    assert isinstance(CAT.drugs, tuple) and isinstance(CAT.classes, tuple)
    assert "bt-001" in CAT.targets


# --------------------------------------------------------------------------- loading and validation


def _cls(id_, parents=()):
    p = ", ".join(f'"{x}"' for x in parents)
    return f'[[class]]\nid = "{id_}"\nname = "{id_} class"\nparents = [{p}]\n'


def _drug(id_, classes=(), extra=""):
    c = ", ".join(f'"{x}"' for x in classes)
    return f'[[drug]]\nid = "{id_}"\nname = "{id_} drug"\nclasses = [{c}]\n{extra}\n'


def test_from_toml_minimal(tmp_path):
    text = _cls("corticosteroid") + _drug("pred", ["corticosteroid"], "prednisone_equivalent_mg = 5\nrxnorm = [8640]")
    cat = DrugCatalog.from_toml(text)
    assert cat.prednisone_equivalent("pred", 10) == 10
    assert cat.resolve("8640").id == "pred"  # an integer RxNorm in TOML is accepted
    path = tmp_path / "d.toml"
    path.write_text(text, encoding="utf-8")
    assert DrugCatalog.from_toml(path).get("pred") is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_cls("aaa") + _cls("aaa"), r"duplicate id 'aaa'"),
        (_cls("aaa") + _drug("aaa", ["aaa"]), r"duplicate id 'aaa' \(drug and class ids share one namespace\)"),
        (_cls("aaa", ["nope"]), r"unknown parent 'nope'"),
        (_cls("aaa", ["bbb"]) + _cls("bbb", ["aaa"]), r"cycle"),
        (_cls("aaa", ["aaa"]), r"names itself"),
        (_drug("ddd", ["nope"]), r"class 'nope' is unknown"),
        (_drug("ddd") + _drug("eee", ["ddd"]), r"class 'ddd' is a drug, not a class"),
        (_drug("ddd") + _cls("aaa", ["ddd"]), r"names the drug 'ddd' as a parent"),
        (_cls("aaa") + _drug("ddd", ["aaa"], "prednisone_equivalent_mg = 5"), r"only meaningful for drugs in class 'corticosteroid'"),
        (_drug("ddd", [], "half_life_days = 3"), r"needs a half_life_source"),
        (_drug("ddd", [], 'half_life_days = -3\nhalf_life_source = "x"'), r"'half_life_days' must be a positive number"),
        (_drug("ddd", [], 'targets = ["CD19"]'), r"target 'CD19' must be lowercase"),
        (_drug("ddd", [], 'targets = ["bt-001"]') + _drug("eee", [], 'targets = ["bt001"]'), r"spelt 'bt-001' elsewhere"),
        (_drug("ddd", [], 'rxnorm = ["12"]') + _drug("eee", [], 'rxnorm = ["12"]'), r"rxnorm '12' is also held by 'ddd'"),
        (_drug("ddd", [], 'rxnorm = ["RX12"]'), r"digits only"),
        (_drug("ddd", [], 'synonyms = ["AB"]'), r"shorter than 3"),
        (_drug("ddd", [], 'synonyms = ["same thing"]') + _drug("eee", [], 'synonyms = ["Same-Thing"]'), r"collides"),
        (_drug("ddd", [], 'brand = "X"'), r"unknown key\(s\) \['brand'\]"),
        ('[[drugs]]\nid = "x"\n', r"unknown top-level key"),
        ('[catalog]\nkind = "condition"\n', r"expected 'drug'"),
        ("[[drug]\n", r"not valid TOML"),
    ],
)
def test_catalog_validation_errors(text, message):
    with pytest.raises(CatalogError, match=message):
        DrugCatalog.from_toml(text)


def test_python_built_entries_are_validated_too():
    with pytest.raises(CatalogError, match="snake_case"):
        DrugCatalog([Drug("Bad Id", "Bad")])
    with pytest.raises(CatalogError, match="neither a Drug nor a DrugClass"):
        DrugCatalog(["rituximab"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Drug("x_y", "X", synonyms="xyz")  # type: ignore[arg-type]
    assert issubclass(CatalogError, EligimatchError)


def test_extended_adds_entries_and_targets():
    mine = Drug("cart_x", "CAR-X", synonyms=("CARX-19",), classes=("car_t", "investigational_agent"), targets=("cd7",))
    bigger = CAT.extended([mine])
    assert bigger.resolve("CARX-19").id == "cart_x"
    assert bigger.matches("CARX-19", [], "cd7_targeted")
    assert CAT.resolve("cd7_targeted") is None  # the original is unchanged
    assert len(bigger) == len(CAT) + 1


def test_extended_refuses_duplicates_unless_replacing():
    with pytest.raises(CatalogError, match="already exists"):
        CAT.extended([Drug("rituximab", "Rituximab")])
    with pytest.raises(CatalogError, match="cannot replace"):
        CAT.extended([DrugClass("rituximab", "Rituximab class")], replace=True)
    replaced = CAT.extended(
        [Drug("rituximab", "Rituximab", classes=("anticancer_monoclonal_antibody",), targets=("cd20",), half_life_days=21.0, half_life_source="test")],
        replace=True,
    )
    assert replaced.get("rituximab").half_life_days == 21.0
    assert replaced.resolve("MabThera") is None
    assert CAT.get("rituximab").half_life_days == 22


def test_extended_with_another_catalog_and_new_classes():
    extra = DrugCatalog([DrugClass("bispecific_x", "Bispecific X", parents=())])
    merged = CAT.extended(extra)
    assert isinstance(merged.get("bispecific_x"), DrugClass)
    with pytest.raises(CatalogError, match="unknown parent"):
        CAT.extended([DrugClass("new_class", "New class", parents=("not_a_class",))])


# --------------------------------------------------------------------------- properties

_DRUGS = [d.id for d in CAT.drugs]
_SELECTORS = [c.id for c in CAT.classes] + [f"target:{t}" for t in CAT.targets]


@given(st.sampled_from(_DRUGS), st.sampled_from(_SELECTORS))
def test_a_drug_record_matches_exactly_its_classes_and_targets(drug, selector):
    assert CAT.matches(drug, [], selector) == (selector in CAT.classes_of(drug))


@given(st.sampled_from([c.id for c in CAT.classes]), st.sampled_from([c.id for c in CAT.classes]))
def test_a_class_record_matches_exactly_its_ancestors(record_class, selector):
    assert CAT.matches(None, [record_class], selector) == (selector in CAT.class_ancestors(record_class))


@given(st.sampled_from(_DRUGS), st.sampled_from(_SELECTORS), st.sampled_from([c.id for c in CAT.classes]))
def test_adding_a_class_to_a_drug_record_never_removes_a_match(drug, selector, extra_class):
    if CAT.matches(drug, [], selector):
        assert CAT.matches(drug, [extra_class], selector)


_STEROIDS = [d.id for d in CAT.drugs if d.prednisone_equivalent_mg is not None]


@given(
    st.sampled_from(_STEROIDS),
    st.floats(min_value=0, max_value=2000, allow_nan=False),
    st.floats(min_value=0, max_value=2000, allow_nan=False),
)
def test_prednisone_equivalent_is_linear(drug, a, b):
    total = CAT.prednisone_equivalent(drug, a + b)
    assert total == pytest.approx(CAT.prednisone_equivalent(drug, a) + CAT.prednisone_equivalent(drug, b))
    assert CAT.prednisone_equivalent(drug, a) == pytest.approx(a * 5 / CAT.get(drug).prednisone_equivalent_mg)


def test_n5_a_class_overlapping_the_selector_through_a_shared_subclass_may_be_it():
    """N5 for drug classes: a record naming only class ``gi`` may be of class ``autoimmune`` when a class
    lies under both (even one with no catalog drug yet): None, not False; unrelated classes stay False."""
    text = (_cls("gi") + _cls("autoimmune") + _cls("other") + _cls("celiac_agents", ["gi", "autoimmune"])
            + _drug("gi_only", ["gi"]) + _drug("other_only", ["other"]))
    cat = DrugCatalog.from_toml(text)
    assert cat.match_status(None, ["gi"], "autoimmune") is None
    assert cat.match_status(None, ["autoimmune"], "gi") is None
    assert cat.match_status(None, ["celiac_agents"], "autoimmune") is True
    assert cat.match_status(None, ["other"], "autoimmune") is False
    assert cat.match_status("gi_only", [], "autoimmune") is False  # a named catalog drug is what it is
