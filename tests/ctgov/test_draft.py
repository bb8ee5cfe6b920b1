"""draft_trial(): every item kept, readable items drafted and marked, the rest judgment; never a reversed meaning."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eligimatch import compile_trial
from eligimatch.cli import main
from eligimatch.ctgov import draft_trial, load_record
from eligimatch.ctgov.draft import numbers_of
from eligimatch.ctgov.items import split_items
from eligimatch.ctgov.model import RegistryRecord
from eligimatch.errors import RegistryError
from eligimatch.language import format_text, lint

from .shared import CTGOV, corpus_records, need


def record_of(text: str, **fields) -> RegistryRecord:
    items, cohorts = split_items(text)
    return RegistryRecord(id="NCT00000001", title="t", criteria_text=text, items=items, cohorts=cohorts,
                          source_format="api-v2-json", **fields)


def drafted(text: str) -> dict[str, str]:
    d = draft_trial(record_of(text))
    return {x.id: x.expression for x in d.items}


@pytest.mark.parametrize("path", corpus_records(), ids=lambda p: p.name)
def test_every_corpus_record_drafts_to_a_file_that_compiles_and_passes_check(path):
    record = load_record(path)
    if not record.items:
        with pytest.raises(RegistryError, match="no eligibility criteria text"):
            draft_trial(record)
        return
    draft = draft_trial(record)
    trial = compile_trial(draft.text)
    assert list(lint(trial)) == []
    assert trial.id == record.id
    # every item is kept, with its sentence and number
    ids = {c.id: c for c in trial.all_criteria()}
    for d in draft.items:
        c = ids[d.id]
        assert d.item.text in (c.text or "") and c.drafted == d.computable
        assert d.computable or (d.expression == "judgment" and d.reason)
    assert draft_trial(record).text == draft.text  # deterministic
    assert format_text(draft.text) == draft.text  # canonical: `eligimatch fmt --check` passes


@pytest.mark.parametrize("path", corpus_records(), ids=lambda p: p.name)
def test_drafted_criteria_state_the_numbers_of_their_sentence(path):
    record = load_record(path)
    if not record.items:
        return
    for d in draft_trial(record).items:
        if d.computable:
            assert numbers_of(d.expression) == numbers_of(d.item.text), (d.item.text, d.expression)


_NEG_START = re.compile(r"^\s*(?:no|not|never|without|must\s+not|non-)\b", re.IGNORECASE)


@pytest.mark.parametrize("path", corpus_records(), ids=lambda p: p.name)
def test_negations_are_never_lost(path):
    """An inclusion saying "No …"/"Not …" is drafted as `not …` or left to judgment; an exclusion saying it is
    left to judgment (the drafter writes no double negation)."""
    record = load_record(path)
    if not record.items:
        return
    for d in draft_trial(record).items:
        if not d.computable or not _NEG_START.search(d.item.text):
            continue
        if re.match(r"\s*(?:no|not)\s+(?:more|less|greater|fewer|higher|lower)\s+than\b", d.item.text, re.IGNORECASE):
            continue  # an operator, not a negation
        assert d.item.kind == "inclusion" and d.expression.startswith("not "), (d.item.text, d.expression)


def test_a_record_without_criteria_gives_a_clear_error():
    record = load_record(need(CTGOV / "legacy-xml" / "NCT03182660.xml"))
    with pytest.raises(RegistryError, match="NCT03182660: the record has no eligibility criteria text"):
        draft_trial(record)


def test_structured_age_and_sex_are_compiled():
    d = draft_trial(record_of("Inclusion Criteria:\n* Something only an investigator can judge",
                              sex="female", minimum_age={"value": 18, "unit": "years"},
                              maximum_age={"value": 64, "unit": "years"}))
    assert d.structured == ("AGE_MIN", "AGE_MAX", "SEX")
    assert "age >= 18 years" in d.text and "age <= 64 years" in d.text and "sex = female" in d.text
    assert d.items[0].expression == "judgment" and d.items[0].reason == "no form the drafter reads"


def test_what_the_drafter_reads():
    got = drafted("""Inclusion Criteria:
* Age ≥ 18 years
* ECOG performance status 0-1
* Karnofsky ≥ 70%
* Life expectancy of at least 12 weeks
* ANC ≥ 1.5 x 10^9/L, platelets ≥ 100,000/mm³
* ALT and AST ≤ 2.5 × ULN (≤ 5 × ULN in patients with liver metastases)
* Creatinine ≤ 1.5 × ULN or creatinine clearance ≥ 60 mL/min (Cockcroft-Gault)
* Not pregnant or breast-feeding
* Signed written informed consent
* No prior chemotherapy
* At least 4 weeks since prior hormonal therapy

Exclusion Criteria:
* Pregnant or lactating women
* Known HIV infection
* Known brain metastases
* Chemotherapy within 21 days or 5 half-lives, whichever is longer, prior to enrollment
* Major surgery within 4 weeks prior to registration
""")
    assert got == {
        "I1": "age >= 18 years",
        "I2": "ecog between 0 and 1",
        "I3": "karnofsky >= 70",
        "I4": "life_expectancy >= 12 weeks",
        "I5": "anc >= 1.5 x10^9/L and platelets >= 100000 /mm3",
        "I6": "(if condition liver_metastases then alt <= 5 x ULN and ast <= 5 x ULN "
              "else alt <= 2.5 x ULN and ast <= 2.5 x ULN)",
        "I7": "creatinine <= 1.5 x ULN or crcl by cockcroft_gault >= 60 mL/min",
        "I8": "not (sex = female and (pregnant or breastfeeding))",
        "I9": "consent_signed",
        "I10": "not therapy cytotoxic_chemotherapy",
        "I11": "washout from endocrine_therapy of at least 4 weeks before enrollment",
        "E1": "sex = female and (pregnant or breastfeeding)",
        "E2": "history of hiv_infection",
        "E3": "condition brain_metastases",
        "E4": "therapy cytotoxic_chemotherapy within max(21 days, 5 half-lives) before enrollment",
        "E5": "procedure major_surgery within 4 weeks before enrollment",
    }


@pytest.mark.parametrize("sentence", [
    "Total bilirubin ≤ 1.5 × ULN (≤ 3 × ULN for patients with Gilbert's syndrome)",  # condition not in catalogs
    "No prior chemotherapy for current lung cancer",  # a qualifier
    "ECOG 0-2 OR",  # one of alternatives
    "Serum creatinine concentrations ≥1.5 and ≥1.4 mg/dL in males and females respectively",
    "No weight loss greater than 5% in the past 6 months",
    "Age more than 70 yr and less than 40 yr.",  # contradictory as written
    "Platelets ≥ 100 x 10^9/L (RECIST 1.1)",  # a number the drafter does not use
    "Adequate organ function as defined by:",  # a parent line
])
def test_abstains(sentence):
    got = drafted(f"Inclusion Criteria:\n* {sentence}\n* Another criterion\n")
    assert got["I1"] == "judgment", got


@pytest.mark.parametrize("sentence", [
    "Patients with gastric cancer have gastric perforation, pyloric obstruction, or complete biliary obstruction",
    "Patients with pancreatic cancer who have tumor causing biliary obstruction",
    "Uncontrolled diabetes mellitus",
    "History of malignancy except adequately treated basal cell carcinoma",
])
def test_abstains_on_exclusions(sentence):
    got = drafted(f"Exclusion Criteria:\n* {sentence}\n")
    assert got["E1"] == "judgment", got


def test_the_sub_heading_names_the_subject():
    got = drafted("DISEASE CHARACTERISTICS:\n\nLife expectancy:\n\nAt least 3 months\n\nAge:\n\n18 and over\n")
    assert got == {"I1": "life_expectancy >= 3 months", "I2": "age >= 18 years"}
    got = drafted("Exclusion Criteria:\n* Smoker.\n")
    assert got == {"E1": "judgment"}  # current or former? the drafter does not time a person's state


def test_history_criteria():
    got = drafted("Inclusion Criteria:\n* No history of stroke\n* Diagnosis of rheumatoid arthritis\n"
                  "Exclusion Criteria:\n* History of myocardial infarction within the past 6 months\n"
                  "* Active tuberculosis\n* Known hepatitis B, hepatitis C or HIV infection\n")
    assert got == {"I1": "not history of stroke", "I2": "condition rheumatoid_arthritis",
                   "E1": "history of myocardial_infarction within 6 months before enrollment",
                   "E2": "condition tuberculosis",
                   "E3": "history of hiv_infection or history of hepatitis_b or history of hepatitis_c"}


def test_alternatives_and_parents_are_judgment():
    got = drafted("Inclusion Criteria:\n* Meet one of the following:\n  * ECOG 0-1\n  * Karnofsky ≥ 80%\n"
                  "* Adequate organ function:\n  * ANC ≥ 1500/mm3\n")
    assert got == {"I1": "judgment", "I1_1": "judgment", "I1_2": "judgment", "I2": "judgment",
                   "I2_1": "anc >= 1500 /mm3"}
    got = drafted("Exclusion Criteria:\n* Any of the following:\n  * Known HIV infection\n")
    assert got == {"E1": "judgment", "E1_1": "history of hiv_infection"}


_LABS = st.sampled_from([("ANC", "anc", "/mm3"), ("Platelets", "platelets", "x 10^9/L"),
                         ("Hemoglobin", "hemoglobin", "g/dL"), ("Creatinine", "creatinine", "mg/dL")])
_OPS = st.sampled_from([("≥", ">="), ("at least", ">="), ("<", "<"), ("no more than", "<="), ("greater than", ">"),
                        ("≤", "<="), ("=<", "<="), (">/=", ">=")])


@given(_LABS, _OPS, st.integers(min_value=1, max_value=200_000), st.booleans())
def test_property_drafted_lab_thresholds_keep_operator_value_and_negation(lab, op, value, negate):
    name, ident, unit = lab
    words, sym = op
    shown = f"{value:,}"
    sentence = f"{'No ' if negate else ''}{name} {words} {shown} {unit}"
    first = drafted(f"Inclusion Criteria:\n* {sentence}\n")
    assert first == drafted(f"Inclusion Criteria:\n* {sentence}\n")  # deterministic
    expr = first["I1"]
    if negate:
        assert expr == "judgment" or expr.startswith("not "), (sentence, expr)
        return
    assert expr.startswith(f"{ident} {sym} {value} "), (sentence, expr)
    assert numbers_of(expr) == numbers_of(sentence)


def test_cli_draft_writes_files_that_check_accepts(tmp_path, capsys):
    src = need(CTGOV / "legacy-xml" / "NCT00023673.xml")
    out = tmp_path / "drafts"
    assert main(["draft", str(src), "-o", str(out)]) == 0
    target = out / "NCT00023673.elig"
    assert target.exists()
    assert main(["draft", str(src), "-o", str(out)]) == 1  # exists: not overwritten without --force
    assert main(["draft", str(src), "-o", str(out), "--force"]) == 0
    capsys.readouterr()
    assert main(["check", str(target)]) == 0
    assert "drafted criteria to review" in capsys.readouterr().out
    assert main(["coverage", str(target)]) == 0
    assert main(["draft", str(CTGOV / "legacy-xml" / "NCT03182660.xml")]) == 1
    assert "no eligibility criteria text" in capsys.readouterr().err


@pytest.mark.parametrize("kind,sentence", [
    ("inclusion", "Women who are not pregnant"),
    ("inclusion", "Patients who have not received chemotherapy within 4 weeks"),
    ("exclusion", "Patients who have not received chemotherapy within 4 weeks"),
    ("inclusion", "Subjects without known brain metastases"),
    ("inclusion", "Patients who are HIV negative"),
    ("exclusion", "Subjects who do not have hepatitis B"),
    ("inclusion", "Platelets ≥ 100 x 10^9/L, unless not transfused"),
])
def test_a_negation_anywhere_is_kept_or_the_item_is_left_to_judgment(kind, sentence):
    got = drafted(f"{kind.capitalize()} Criteria:\n* {sentence}\n")
    expr = next(iter(got.values()))
    assert expr == "judgment" or (kind == "inclusion" and expr.startswith("not ")), (sentence, expr)


def test_at_least_n_since_is_a_completed_washout():
    """"At least 4 weeks since prior X" means the washout has run its full length by the anchor (anchor − last
    dose ≥ 28 days): a last dose exactly 28 days before is enough.  The exposure-window form `not therapy X within
    4 weeks` counts both ends of the window and would refuse that day; it is kept for "more than N since" (where it
    is exact).  A procedure has no completed form: "at least N since" a procedure is left to judgment."""
    import datetime as dt

    import eligimatch

    got = drafted("Inclusion Criteria:\n* At least 4 weeks since prior chemotherapy\n"
                  "* More than 4 weeks since prior hormonal therapy\n* At least 4 weeks since prior radiotherapy\n"
                  "* At least 14 days since last dose of rituximab prior to screening\n")
    assert got["I1"] == "washout from cytotoxic_chemotherapy of at least 4 weeks before enrollment"
    assert got["I2"] == "not therapy endocrine_therapy within 4 weeks before enrollment"
    assert got["I3"] == "judgment"
    assert got["I4"] == "washout from rituximab of at least 14 days before screening"
    d = draft_trial(record_of("Inclusion Criteria:\n* At least 4 weeks since prior chemotherapy\n"
                              "* More than 4 weeks since prior chemotherapy\n"))
    trial = eligimatch.compile_trial(d.text)
    enrollment = dt.date(2026, 3, 1)
    for days, at_least, more_than in ((28, "true", "false"), (27, "false", "false"), (29, "true", "true")):
        last = (enrollment - dt.timedelta(days=days)).isoformat()
        patient = eligimatch.load_patient(
            '{"id": "P", "birth_date": "1970-01-01", "sex": "female", "therapies": [{"drug": "carboplatin", '
            f'"start": "2025-10-01", "end": "{last}"}}], "complete": {{"therapies": true}}}}')
        result = eligimatch.match(patient, trial, as_of=enrollment, anchors={"enrollment": enrollment})
        assert (result.criterion("I1").outcome.value, result.criterion("I2").outcome.value) == (at_least, more_than), \
            days


SITE_CATALOG = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples" / "catalogs" / "breast-cancer.toml"
SITE_TEXT = ("Inclusion Criteria:\n* Direct bilirubin ≤ 1.5 mg/dL\n\n"
             "Exclusion Criteria:\n* History of chronic liver disease\n")


def test_a_site_catalog_names_what_the_bundled_catalogs_lack():
    """draft_trial(catalogs=...) reads names against a site's catalogs and compiles the drafts with them; the
    bundled catalogs alone leave the same items to judgment (and a later draft without them is not changed by
    an earlier one with them: the indexes are per catalog set)."""
    from eligimatch import Catalogs
    from eligimatch.ctgov import extract

    site = Catalogs.load([SITE_CATALOG])
    record = record_of(SITE_TEXT)
    with_site = {d.id: d.expression for d in draft_trial(record, catalogs=site).items}
    assert with_site == {"I1": "direct_bilirubin <= 1.5 mg/dL", "E1": "history of chronic_liver_disease"}
    bundled = {d.id: d.expression for d in draft_trial(record).items}
    assert bundled == {"I1": "judgment", "E1": "judgment"}
    assert extract("Direct bilirubin ≤ 1.5 mg/dL", catalogs=site)[0].subject == "direct_bilirubin"
    assert extract("Direct bilirubin ≤ 1.5 mg/dL")[0].subject != "direct_bilirubin"
    compile_trial(draft_trial(record, catalogs=site).text, catalogs=site)


def test_cli_draft_takes_site_catalogs(tmp_path, capsys):
    src = tmp_path / "NCT00000001.json"
    import json

    src.write_text(json.dumps({"protocolSection": {"identificationModule": {"nctId": "NCT00000001"},
                                                   "eligibilityModule": {"eligibilityCriteria": SITE_TEXT}}}))
    out = tmp_path / "drafts"
    assert main(["draft", str(src), "-o", str(out), "--catalog", str(SITE_CATALOG)]) == 0
    text = (out / "NCT00000001.elig").read_text(encoding="utf-8")
    assert "direct_bilirubin <= 1.5 mg/dL" in text and "history of chronic_liver_disease" in text
    capsys.readouterr()
    assert main(["check", "--catalog", str(SITE_CATALOG), str(out / "NCT00000001.elig")]) == 0
    assert main(["draft", str(src), "--catalog", str(tmp_path / "missing.toml")]) == 2
    assert "--catalog" in capsys.readouterr().err


def test_both_sexes_named_is_no_constraint_and_one_sex_is_not_read():
    """"Male or female, age 18 years and older": both sexes, so only the age is drafted.  "men age ≥55 years" is
    left to judgment: a single sex may be one of several sub-group alternatives (NCT01174550 I4-I7)."""
    got = drafted("Inclusion Criteria:\n* Male or female, age 18 years and older.\n"
                  "* Men and women between 18 and 80 years of age\n* Adult participants above 18 years of age\n"
                  "* men age ≥55 years\n* Women of 20 to 30 years of age inclusive\n")
    assert got["I1"] == "age >= 18 years"
    assert got["I2"] == "age between 18 and 80 years"
    assert got["I3"] == "age > 18 years"
    assert got["I4"] == "judgment" and got["I5"] == "judgment"


@pytest.mark.parametrize("heading", ["Non-inclusion criteria:", "Non inclusion criteria", "NON-INCLUSION CRITERIA:",
                                     "Noninclusion criteria:"])
def test_a_non_inclusion_heading_starts_the_exclusions(heading):
    """Issue 17: a "Non-inclusion criteria:" heading (French protocols) inside the inclusion text starts the
    exclusion criteria (NCT02679963): "pregnant" under it is an exclusion, never a drafted inclusion."""
    items, _ = split_items(f"Inclusion Criteria:\n* Age ≥ 18 years\n\n{heading}\n* Pregnant or lactating women\n")
    assert [(i.kind, i.text) for i in items] == [("inclusion", "Age ≥ 18 years"),
                                                 ("exclusion", "Pregnant or lactating women")]
    got = drafted(f"Inclusion Criteria:\n* Age ≥ 18 years\n\n{heading}\n* Pregnant or lactating women\n")
    assert got == {"I1": "age >= 18 years", "E1": "sex = female and (pregnant or breastfeeding)"}


def test_non_inclusion_criteria_of_nct02679963_are_exclusions():
    record = load_record(need(CTGOV / "legacy-xml" / "NCT02679963.xml"))
    kinds = {i.text.split(".")[0]: i.kind for i in record.items}
    assert kinds["Uncontrolled or symptomatic brain metastases"] == "exclusion"
    assert kinds["Pregnant and/or breast-feeding women"] == "exclusion"
    assert kinds["ECOG Performance Status of 0-1"] == "inclusion"
    d = {x.item.text: (x.item.kind, x.expression) for x in draft_trial(record).items}
    assert d["Pregnant and/or breast-feeding women."] == ("exclusion", "sex = female and (pregnant or breastfeeding)")


@pytest.mark.parametrize("section, sentence, expression", [
    ("Inclusion", "Granulocyte count at least 1,500/mm^3", "anc >= 1500 /mm3"),
    ("Inclusion", "Absolute granulocyte count ≥ 1.5 x 10^9/L", "anc >= 1.5 x10^9/L"),
    ("Exclusion", "Granulocyte count < 1,000/mm^3", "anc < 1000 /mm3"),
    # the ANC is never above the granulocyte count: these bounds on it would let in patients the protocol
    # keeps out (granulocytes 10,500 with 9,800 neutrophils), so they are left to judgment
    ("Inclusion", "Granulocyte count no greater than 10,000/mm^3", None),
    ("Exclusion", "Granulocyte count > 10,000/mm^3", None),
])
def test_granulocyte_count_is_drafted_as_anc_where_that_is_at_least_as_strict(section, sentence, expression):
    """Issue 17: the NCI PDQ records' "granulocyte count" (NCT00023673) drafted on the ANC when sound."""
    d = draft_trial(record_of(f"{section} Criteria:\n* {sentence}\n"))
    (item,) = d.items
    if expression is None:
        assert not item.computable and item.expression == "judgment", item
        assert "granulocyte count bound" in (item.reason or ""), item
    else:
        assert item.computable and item.expression == expression, item
