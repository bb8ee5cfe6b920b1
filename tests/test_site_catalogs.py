"""Site catalogs as data: ``--catalog FILE`` and ``Catalogs.load`` add or replace vocabulary without code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import eligimatch
from eligimatch.cli import main
from eligimatch.errors import CatalogError, PlanError

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "examples" / "catalogs" / "breast-cancer.toml"
TRIAL = ROOT / "examples" / "catalogs" / "breast-cancer-trial.elig"
PATIENT = ROOT / "examples" / "catalogs" / "breast-cancer-patient.json"
PATHOLOGY = ROOT / "examples" / "catalogs" / "pathology.toml"
PATHOLOGY_TRIAL = ROOT / "examples" / "catalogs" / "pathology-trial.elig"
PATHOLOGY_PATIENT = ROOT / "examples" / "catalogs" / "pathology-patient.json"


def test_the_example_trial_needs_the_site_catalog(capsys):
    assert main(["check", str(TRIAL)]) == 1
    out = capsys.readouterr().out
    assert "unknown fact or lab 'menopausal_status'" in out
    assert main(["check", "--catalog", str(SITE), str(TRIAL)]) == 0
    assert "0 errors" in capsys.readouterr().err


def test_match_and_coverage_and_screen_take_the_catalog(capsys, tmp_path):
    args = ["--catalog", str(SITE), "--as-of", "2026-03-01"]
    assert main(["match", str(PATIENT), str(TRIAL), "--json", *args]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "match"
    used = {e["fact"] for c in result["criteria"] for e in c["evidence"]}
    assert {"menopausal_status", "direct_bilirubin"} <= used
    assert main(["coverage", "--json", "--catalog", str(SITE), str(TRIAL)]) == 0
    (summary,) = json.loads(capsys.readouterr().out)
    assert "menopausal_status" in summary["needs"]
    folder = tmp_path / "patients"
    folder.mkdir()
    (folder / "p.json").write_text(PATIENT.read_text())
    out = tmp_path / "rows.jsonl"
    assert main(["screen", str(folder), str(TRIAL), "--format", "jsonl", "-o", str(out), "--workers", "2",
                 *args]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["verdict"] == "match"


def test_the_site_vocabulary_decides_from_python():
    cats = eligimatch.Catalogs.load([SITE])
    trial = eligimatch.load_trial(TRIAL, catalogs=cats)
    patient = eligimatch.load_patient(PATIENT.read_text())
    assert eligimatch.match(patient, trial, as_of=dt.date(2026, 3, 1)).verdict == eligimatch.Verdict.MATCH
    # a strong CYP3A inhibitor, named by a brand the site declared, excludes; so does an antiretroviral
    # the site added to a bundled drug (tenofovir keeps its bundled class too)
    for drug, criterion in (("Norvir", "E2"), ("tenofovir", "E3")):
        doc = json.loads(PATIENT.read_text())
        doc["therapies"].append({"drug": drug, "start": "2026-01-05", "ongoing": True})
        r = eligimatch.match(eligimatch.load_patient(doc), trial, as_of=dt.date(2026, 3, 1))
        assert r.verdict == eligimatch.Verdict.NO_MATCH and criterion in r.deciding, (drug, r.deciding)
    assert "anti_hbv_nucleoside_analogue" in cats.drugs.resolve("tenofovir").classes
    # the bundled catalogs are unchanged
    assert eligimatch.Catalogs.default().facts.resolve("menopausal_status") is None


def test_files_apply_in_order_and_replace_by_id(tmp_path):
    later = tmp_path / "later.toml"
    later.write_text('[facts.menopausal_status]\nname = "Menopause"\ntype = "enum"\n'
                     'values = ["pre", "post"]\n')
    cats = eligimatch.Catalogs.load([SITE, later])
    assert cats.facts.resolve("menopausal_status").values == ("pre", "post")
    assert cats.drugs.resolve("ketoconazole") is not None  # the first file's other entries stay


@pytest.mark.parametrize("text, where", [
    ("[facts.menopausal_status]\nname = 'x'\ntype = 'enum'\nvales = ['a']\n",
     "facts: menopausal_status: unknown key(s) vales"),
    ("[facts.x]\ntype = 'colour'\n", "facts: fact 'x': type must be one of"),
    ("[analytes.direct_bilirubin]\nname = 'Direct bilirubin'\nunit = 'furlongs'\n", "analytes:"),
    ("[[conditions.concept]]\nid = 'gilbert'\nname = 'Gilbert'\ncolour = 'x'\n",
     "[[concept]] #1 ('gilbert'): unknown key(s)"),
    ("[[drugs.drug]]\nid = 'newdrug'\nname = 'New drug'\nclasses = ['no_such_class']\n", "no_such_class"),
    ("[drug]\nid = 'x'\n", "unknown section(s) drug"),
    ("[facts.x\n", "not valid TOML"),
    ("[[drugs.medicine]]\nid = 'x'\n", "drugs: unknown key(s) medicine"),
    ("[attributes.resectable]\nkind = 'yes-no'\nname = 'Resectable'\n",
     "attributes: attribute 'resectable': kind 'yes-no' is not one of coded, yesno, ordered, text"),
    ("[attributes.histology]\nvalues = ['a']\nsynonyms = { b = 'c' }\n",
     "attribute 'histology': synonym 'b' names 'c', not a declared value"),
    ("[attributes.resectable]\nkind = 'yesno'\n", "attribute 'resectable' needs a name"),
    ("[attributes.resectable]\nkind = 'yesno'\nname = 'R'\nvalue = 'x'\n", "attribute 'resectable'"),
    ("[attributes]\nresectable = 'yes'\n", "attributes: resectable: must be a table ([attributes.resectable])"),
    ("[attributes.laterality]\nvalues = []\n", "attribute 'laterality' must be a table with a non-empty list"),
])
def test_mistakes_are_located(tmp_path, text, where):
    bad = tmp_path / "site.toml"
    bad.write_text(text)
    with pytest.raises(CatalogError) as exc:
        eligimatch.Catalogs.load([bad])
    message = str(exc.value)
    assert message.startswith(f"{bad}: "), message
    assert where in message, message


def test_the_cli_reports_a_bad_catalog_without_a_traceback(tmp_path, capsys):
    bad = tmp_path / "site.toml"
    bad.write_text("[facts.x]\ntype = 'colour'\n")
    assert main(["check", "--catalog", str(bad), str(TRIAL)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: facts: fact 'x'" in err and "Traceback" not in err
    assert main(["check", "--catalog", str(tmp_path / "missing.toml"), str(TRIAL)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_fact_catalog_is_exported_as_facts_toml_says():
    assert eligimatch.FactCatalog.default().resolve("ecog") is not None
    assert "FactCatalog" in eligimatch.__all__


# ---- attribute vocabularies and value sets (examples/catalogs/pathology.toml) ------------------------------


def test_the_pathology_trial_needs_the_site_attributes(capsys):
    assert main(["check", str(PATHOLOGY_TRIAL)]) == 1
    out = capsys.readouterr().out
    assert "unknown attribute 'resectable'" in out
    assert "histology (Histology (morphology)) has no value 'metaplastic_carcinoma'" in out
    assert main(["check", "--catalog", str(PATHOLOGY), str(PATHOLOGY_TRIAL)]) == 0
    assert "0 errors" in capsys.readouterr().err
    assert main(["match", "--catalog", str(PATHOLOGY), str(PATHOLOGY_PATIENT), str(PATHOLOGY_TRIAL),
                 "--as-of", "2026-03-01", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "match"


def _pathology_match(change=None, facts=None):
    cats = eligimatch.Catalogs.load([PATHOLOGY])
    trial = eligimatch.load_trial(PATHOLOGY_TRIAL, catalogs=cats)
    doc = json.loads(PATHOLOGY_PATIENT.read_text())
    doc["conditions"][0]["attributes"].update(change or {})
    doc["facts"].update(facts or {})
    return eligimatch.match(eligimatch.load_patient(doc), trial, as_of=dt.date(2026, 3, 1))


def test_a_site_attribute_vocabulary_reads_the_recorded_values():
    assert _pathology_match().verdict == eligimatch.Verdict.MATCH
    # the site's spellings of its new values exclude; a value outside the vocabulary never decides
    for recorded in ("IBC", "inflammatory breast cancer", "metaplastic breast carcinoma"):
        r = _pathology_match({"histology": recorded})
        assert r.verdict == eligimatch.Verdict.NO_MATCH and r.deciding == ("E1",), (recorded, r.deciding)
    r = _pathology_match({"histology": "spindle cell"})
    assert r.verdict == eligimatch.Verdict.UNKNOWN and r.criterion("E1").outcome == eligimatch.Outcome.UNKNOWN
    # the new yes/no attribute: resectable excludes through I2, a value that is not yes/no never decides
    assert _pathology_match({"resectable": True}).verdict == eligimatch.Verdict.NO_MATCH
    assert _pathology_match({"resectable": "maybe"}).criterion("I2").outcome == eligimatch.Outcome.UNKNOWN


def test_a_site_value_set_for_a_bundled_coded_fact():
    assert _pathology_match(facts={"er": "ER-negative"}).criterion("I1").outcome == eligimatch.Outcome.FALSE
    assert _pathology_match(facts={"er": "ER-positive"}).criterion("I1").outcome == eligimatch.Outcome.TRUE
    # without the site catalog the bundled vocabulary does not know the spelling: never decided
    trial = eligimatch.compile_trial('trial "X"\ninclusion:\n  - I1 "x": er = positive\n')
    patient = eligimatch.load_patient({"facts": {"er": "ER-positive"}})
    assert eligimatch.match(patient, trial).criterion("I1").outcome == eligimatch.Outcome.UNKNOWN


def test_site_attributes_leave_the_bundled_catalogs_unchanged():
    cats = eligimatch.Catalogs.load([PATHOLOGY])
    assert cats.attributes.kind("resectable") == "yesno"
    assert cats.attributes.get("histology").normalize("IBC") == "inflammatory_carcinoma"
    assert cats.attributes.get("stage") is eligimatch.Catalogs.default().attributes.get("stage")
    assert eligimatch.Catalogs.default().attributes.kind("resectable") is None
    assert eligimatch.Catalogs.default().attributes.get("histology").normalize("IBC") is None


def test_a_plan_round_trips_with_site_attributes():
    from eligimatch.plan import from_dict, to_dict

    cats = eligimatch.Catalogs.load([PATHOLOGY])
    trial = eligimatch.load_trial(PATHOLOGY_TRIAL, catalogs=cats)
    again = from_dict(to_dict(trial.plan), cats)
    assert again == trial.plan
    # the histology test carries the site's vocabulary, and reading the plan back finds it in the catalogs
    coded = [n for n in _walk(again) if type(n).__name__ == "CodedTest"]
    assert coded and coded[0].vocabulary.normalize("IBC") == "inflammatory_carcinoma"
    # read against catalogs without the site's attributes, the plan is refused, naming what is missing
    with pytest.raises(PlanError, match="histology"):
        from_dict(to_dict(trial.plan), eligimatch.Catalogs.load([SITE]))


def _walk(node):
    import dataclasses

    yield node
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, (tuple, list)):
        for item in node:
            yield from _walk(item)
