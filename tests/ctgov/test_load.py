"""Loading ClinicalTrials.gov records: three formats into one model."""

from __future__ import annotations

import json

import pytest

from eligimatch.ctgov import load as load_mod
from eligimatch.ctgov import load_record
from eligimatch.ctgov.items import split_items
from eligimatch.errors import RegistryError

from .shared import CTGOV, corpus_records, need


@pytest.mark.parametrize("path", corpus_records(), ids=lambda p: p.name)
def test_every_corpus_record_loads_with_its_content_id(path):
    record = load_record(path)
    assert record.id.startswith("NCT") and len(record.id) == 11
    if record.criteria_text:
        assert record.items, "criteria text but no items"
        assert all(item.text.strip() for item in record.items)


def test_id_comes_from_the_content_not_the_file_name():
    record = load_record(need(CTGOV / "legacy-xml" / "NCT00980226.xml"))
    assert record.id == "NCT00081588"
    assert load_record(CTGOV / "api-v2-json" / "NCT02278341.json").id == "NCT02552212"


def test_the_same_trial_in_xml_and_classic_json_gives_the_same_fields():
    xml = load_record(need(CTGOV / "legacy-xml" / "NCT00023673.xml"))
    classic = load_record(need(CTGOV / "classic-api-json" / "NCT00023673.json"))
    assert xml.source_format == "legacy-xml" and classic.source_format == "classic-json"
    assert xml.comparable() == classic.comparable()
    assert xml.phases == ("PHASE1", "PHASE2") and xml.status == "COMPLETED" and xml.sex == "all"
    assert xml.minimum_age is None and xml.maximum_age is None and xml.healthy_volunteers is False
    assert len(xml.items) == 36
    granulocytes = next(i for i in xml.items if i.text.startswith("Granulocyte"))
    assert granulocytes.heading == "Hematopoietic" and granulocytes.kind == "inclusion"
    # the XML keeps the nesting the classic text lost
    nested = next(i for i in xml.items if i.text == "Squamous cell carcinoma")
    assert nested.level == 1 and nested.parent == "1"


def test_api_v2_fields_markdown_and_nesting():
    record = load_record(need(CTGOV / "api-v2-json" / "NCT02552212.json"))
    assert record.title and record.phases == ("PHASE3",) and record.status == "COMPLETED"
    assert record.minimum_age is not None and (record.minimum_age.value, record.minimum_age.unit) == (18, "years")
    assert record.maximum_age is None and record.healthy_volunteers is False
    assert [i.kind for i in record.items].count("exclusion") == 11
    basdai = next(i for i in record.items if "BASDAI" in i.text)
    assert ">= 4" in basdai.text and "\\" not in basdai.text  # Markdown escape removed
    assert basdai.level == 1 and basdai.parent == "5" and basdai.number == "5.1"


def test_a_record_without_criteria_loads_with_no_items():
    for name in ("legacy-xml/NCT03182660.xml", "api-v2-json/NCT03453554.json"):
        record = load_record(need(CTGOV / name))
        assert record.criteria_text is None and record.items == ()


def test_from_a_dict_and_the_intervention_list():
    data = json.loads(need(CTGOV / "api-v2-json" / "NCT02210780.json").read_text())
    record = load_record(data)
    assert record.source is None and record.id == "NCT02210780"
    assert ("DRUG", "Dupilumab") in [(i.type, i.name) for i in record.interventions]


def test_xml_with_a_dtd_or_entities_is_refused(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
                    "<clinical_study><id_info><nct_id>&lol2;</nct_id></id_info></clinical_study>")
    with pytest.raises(RegistryError, match="DTD or entity"):
        load_record(bomb)


def test_oversized_unreadable_and_malformed_records(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    big.write_text("{}" + " " * 100)
    monkeypatch.setattr(load_mod, "MAX_RECORD_BYTES", 50)
    with pytest.raises(RegistryError, match="over the limit"):
        load_record(big)
    monkeypatch.undo()
    with pytest.raises(RegistryError, match="cannot read"):
        load_record(tmp_path / "absent.json")
    bad = tmp_path / "bad.xml"
    bad.write_text("<clinical_study><id_info>")
    with pytest.raises(RegistryError, match="not well-formed"):
        load_record(bad)
    with pytest.raises(RegistryError, match="neither an API v2"):
        load_record({"studies": []})
    with pytest.raises(RegistryError, match="no trial id"):
        load_record({"protocolSection": {"identificationModule": {}}})
    with pytest.raises(RegistryError, match="age limit"):
        load_record({"protocolSection": {"identificationModule": {"nctId": "NCT00000001"},
                                         "eligibilityModule": {"minimumAge": "eighteen"}}})


def test_split_items_sections_headings_nesting_and_run_on_numbers():
    text = """Inclusion Criteria:

  1. Age 18 or over
  2. Adequate organ function:

       1. ANC >= 1500/mm3
       2. Platelets >= 100,000/mm3

Laboratory values:

10. ALT < 2.5 x ULN 11. Creatinine < 1.5 mg/dL

Cohort A:

Exclusion Criteria:

  * Pregnant
"""
    items, cohorts = split_items(text, wrapped=True)
    got = [(i.kind, i.number, i.level, i.parent, i.heading, i.text) for i in items]
    assert got == [
        ("inclusion", "1", 0, None, None, "Age 18 or over"),
        ("inclusion", "2", 0, None, None, "Adequate organ function:"),
        ("inclusion", "2.1", 1, "2", None, "ANC >= 1500/mm3"),
        ("inclusion", "2.2", 1, "2", None, "Platelets >= 100,000/mm3"),
        ("inclusion", "3", 0, None, "Laboratory values", "ALT < 2.5 x ULN"),
        ("inclusion", "4", 0, None, "Laboratory values", "Creatinine < 1.5 mg/dL"),
        ("exclusion", "1", 0, None, None, "Pregnant"),
    ]
    assert cohorts == ("Cohort A",) and items[-1].cohort == "Cohort A"
    assert items[5].label == "11."


def test_wrapped_lines_join_and_bare_lines_stay_items():
    wrapped, _ = split_items("Inclusion Criteria:\n\n  -  Has a very long sentence that\n     wraps onto: a\n     second line\n",
                             wrapped=True)
    assert [i.text for i in wrapped] == ["Has a very long sentence that wraps onto: a second line"]
    flat, _ = split_items("DISEASE CHARACTERISTICS:\n\nLung cancer\nSquamous cell\nNo brain metastases\n")
    assert [(i.text, i.heading) for i in flat] == [("Lung cancer", "DISEASE CHARACTERISTICS"),
                                                  ("Squamous cell", "DISEASE CHARACTERISTICS"),
                                                  ("No brain metastases", "DISEASE CHARACTERISTICS")]
