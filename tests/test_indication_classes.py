"""Drug classes that depend on the indication (catalog ``conditional_classes``; issue 18).

Methotrexate and cyclophosphamide are ``cytotoxic_chemotherapy`` only when given for a malignancy: a
record given for rheumatoid arthritis or lupus nephritis is not "prior chemotherapy", one given for a
cancer is, and one that records no indication is UNKNOWN (never a sure TRUE, never a FALSE).  The
criterion-level semantics are in tests/conformance/indication_classes.toml; here: the catalog, the plan,
and the real Synthea bundle where the defect was found.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

import eligimatch
from eligimatch import plan as P
from eligimatch.errors import CatalogError
from eligimatch.knowledge import Drug, DrugCatalog, DrugClass

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ELIGIMATCH_SHARED", ROOT.parent / "shared"))
HERSHEL = SHARED / "corpora" / "fhir" / "synthea-smart" / "Hershel_Marvin_71a7f9d4-45b7-481b-b571-7ee0caca6e2a.json"
CAT = DrugCatalog.default()

CHEMO_TRIAL = """trial "T-CHEMO"
anchors enrollment
inclusion:
  - C1 "At least 5 years since prior chemotherapy":
      washout from cytotoxic_chemotherapy of at least 5 years before enrollment
"""


# ---- the catalog ------------------------------------------------------------------------------------

@pytest.mark.parametrize("drug", ["methotrexate", "cyclophosphamide"])
def test_dual_use_drugs_are_chemotherapy_only_for_a_malignancy(drug):
    assert CAT.conditions_for(drug, "cytotoxic_chemotherapy") == {"malignancy"}
    assert CAT.conditions_for(drug, "anticancer_therapy") == {"malignancy"}  # the class's ancestors too
    assert CAT.conditions_for(drug, "immunosuppressant") == frozenset()  # unconditional
    assert CAT.match_status(drug, (), "cytotoxic_chemotherapy") is None  # the indication decides
    assert CAT.match_status(drug, (), "immunosuppressant") is True
    assert CAT.match_status(drug, (), "corticosteroid") is False
    assert not CAT.is_a(drug, "cytotoxic_chemotherapy")  # not unconditionally


def test_other_chemotherapy_is_unconditional():
    assert CAT.conditions_for("cisplatin", "cytotoxic_chemotherapy") == frozenset()
    assert CAT.match_status("cisplatin", (), "cytotoxic_chemotherapy") is True


def test_a_class_only_record_may_still_be_a_conditional_member():
    # an "immunosuppressant" record may be methotrexate given for a cancer
    assert CAT.match_status(None, ("immunosuppressant",), "cytotoxic_chemotherapy") is None


def test_every_shipped_condition_is_in_the_condition_catalog():
    conditions = eligimatch.Catalogs.default().conditions
    named = {c for d in CAT.drugs for _, conds in d.conditional_classes for c in conds}
    assert named, "the shipped catalog declares indication-dependent classes"
    for c in named:
        assert conditions.get(c) is not None, c


def test_conditional_classes_from_toml():
    cat = DrugCatalog.from_toml(b"""
[[class]]
id = "chemo"
name = "Chemo"
[[class]]
id = "immuno"
name = "Immuno"
[[drug]]
id = "mtx"
name = "MTX drug"
classes = ["immuno"]
conditional_classes = { chemo = ["malignancy", "gestational_trophoblastic_disease"] }
""")
    assert cat.conditions_for("mtx", "chemo") == {"malignancy", "gestational_trophoblastic_disease"}
    assert cat.get("mtx").conditional_classes == (("chemo", ("malignancy", "gestational_trophoblastic_disease")),)


@pytest.mark.parametrize("conditional, message", [
    ({"nope": "malignancy"}, "conditional class 'nope' is unknown"),
    ({"immuno": "malignancy"}, "also one of the drug's classes"),
    ({"chemo": "Not An Id"}, "condition concept ids"),
    ({"chemo": []}, "condition concept ids"),
])
def test_bad_conditional_classes_are_refused(conditional, message):
    items = [DrugClass("chemo", "Chemo"), DrugClass("immuno", "Immuno"),
             Drug("mtx", "MTX drug", classes=("immuno",), conditional_classes=conditional)]
    with pytest.raises(CatalogError, match=message):
        DrugCatalog(items)


def test_conditional_classes_must_be_a_table_in_toml():
    with pytest.raises(CatalogError, match="must be a table"):
        DrugCatalog.from_toml(b'[[drug]]\nid = "x"\nname = "X drug"\nconditional_classes = ["a"]\n')


# ---- the plan --------------------------------------------------------------------------------------

def test_the_plan_carries_the_conditional_members():
    trial = eligimatch.compile_trial(CHEMO_TRIAL)
    refs = [n for n in _walk(trial.plan) if isinstance(n, P.DrugRef) and n.id == "cytotoxic_chemotherapy"]
    assert refs
    ref = refs[0]
    assert "methotrexate" not in ref.drugs and "cisplatin" in ref.drugs
    assert ("methotrexate", ("malignancy",)) in ref.conditional
    assert ("cyclophosphamide", ("malignancy",)) in ref.conditional
    assert P.from_dict(json.loads(json.dumps(P.to_dict(trial.plan)))) == trial.plan


def _walk(node):
    import dataclasses

    if isinstance(node, tuple):
        for x in node:
            yield from _walk(x)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        yield node
        for f in dataclasses.fields(node):
            if not f.metadata.get("entry"):
                yield from _walk(getattr(node, f.name))


# ---- evaluation --------------------------------------------------------------------------------------

def _verdict(therapy: dict) -> eligimatch.Result:
    patient = eligimatch.load_patient(json.dumps({"therapies": [therapy], "complete": {"therapies": True}}))
    return eligimatch.match(patient, eligimatch.compile_trial(CHEMO_TRIAL), as_of=dt.date(2026, 3, 1))


MTX = {"drug": "methotrexate", "start": "2024-01-10", "ongoing": True}


def test_methotrexate_for_rheumatoid_arthritis_meets_the_chemotherapy_washout():
    assert _verdict({**MTX, "indication": "rheumatoid arthritis"}).verdict.value == "match"


def test_methotrexate_for_a_cancer_fails_it():
    assert _verdict({**MTX, "indication": "breast cancer"}).verdict.value == "no_match"


def test_methotrexate_without_an_indication_is_unknown_and_says_what_would_settle_it():
    result = _verdict(MTX)
    assert result.verdict.value == "unknown"
    crit = result.criteria[0]
    assert any("the indication of methotrexate" in m.fact or "the indication of methotrexate" in m.detail
               for m in crit.missing), crit.missing
    assert any("only when given for malignancy" in (e.note or "") for e in crit.evidence), crit.evidence


@pytest.mark.skipif(not HERSHEL.is_file(), reason=f"the Synthea corpus is not at {HERSHEL} (set ELIGIMATCH_SHARED "
                    "to the shared/ folder)")
def test_synthea_methotrexate_without_reason_code_is_not_a_sure_no_match():
    """Issue 18: an ongoing Methotrexate 10 MG Oral Tablet with no reasonCode made a 5-year chemotherapy
    washout NOT MET (NO MATCH); its indication is not recorded, so the washout is UNKNOWN."""
    patient = eligimatch.fhir.load_patient_file(HERSHEL)
    mtx = [t for t in patient.therapies if (t.drug or "").lower() == "methotrexate"]
    assert mtx and all(t.indication is None for t in mtx)
    result = eligimatch.match(patient, eligimatch.compile_trial(CHEMO_TRIAL), as_of=dt.date(2026, 3, 1))
    assert result.verdict.value == "unknown"
    crit = result.criteria[0]
    assert crit.outcome.value == "unknown"
    assert any("the indication of methotrexate" in m.fact or "the indication of methotrexate" in m.detail
               for m in crit.missing), crit.missing
