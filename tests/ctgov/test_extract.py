"""extract(): operators, values, units, windows, ages, sexes and negation read from registry sentences."""

from __future__ import annotations

import pytest

from eligimatch.ctgov import Constraint, extract


def one(sentence: str) -> Constraint:
    got = [c for c in extract(sentence) if c.subject != "sex"]
    assert len(got) == 1, got
    return got[0]


@pytest.mark.parametrize("sentence,subject,op,value,unit", [
    ("Absolute neutrophil count >= 1,500/mm³", "anc", ">=", 1500, "/mm3"),
    # a granulocyte count includes eosinophils and basophils: not the ANC, left unresolved
    ("Granulocyte count at least 1,500/mm^3", "Granulocyte count", ">=", 1500, "/mm3"),
    ("Platelets >150 x 109/L in all participants", "platelets", ">", 150, "x10^9/L"),
    ("Platelets ≥ 100 x 10⁹/L", "platelets", ">=", 100, "x10^9/L"),
    ("ANC > 1.5 * 109/L", "anc", ">", 1.5, "x10^9/L"),
    ("white blood cell (WBC) count ≥ 300×109/L", "wbc", ">=", 300, "x10^9/L"),
    ("Bilirubin less than 1.5 mg/dL", "total_bilirubin", "<", 1.5, "mg/dL"),
    ("Creatinine no greater than 2.0 mg/dL", "creatinine", "<=", 2.0, "mg/dL"),
    ("Hemoglobin ≥ 9 g/dL", "hemoglobin", ">=", 9, "g/dL"),
    ("Hemoglobin =< 9 g/dL", "hemoglobin", "<=", 9, "g/dL"),
    ("Hemoglobin >/= 9 g/dL", "hemoglobin", ">=", 9, "g/dL"),
    ("Hemoglobin not less than 9 g/dL", "hemoglobin", ">=", 9, "g/dL"),
    ("Thrombocytosis> 450 G / L", "Thrombocytosis", ">", 450, "G/L"),
])
def test_thresholds_with_units(sentence, subject, op, value, unit):
    c = one(sentence)
    assert (c.subject, c.op, c.value, c.unit, c.relative_to, c.negated) == (subject, op, value, unit, None, False)


def test_reference_limits_and_institutional_limits():
    c = one("Aspartate aminotransferase (AST) less than 2 times upper limit of normal")
    assert (c.subject, c.op, c.value, c.unit, c.relative_to) == ("ast", "<", 2.0, None, "ULN")
    c = one("Total bilirubin ≤ 1.5 × institutional ULN")
    assert (c.op, c.value, c.relative_to) == ("<=", 1.5, "ULN")
    lo, hi = extract("Total bilirubin within normal institutional limits")
    assert (lo.op, lo.value, lo.relative_to, hi.op, hi.value, hi.relative_to) == (">=", 1.0, "LLN", "<=", 1.0, "ULN")


def test_ranges_and_performance_status():
    assert one("Zubrod 0-1") == Constraint("ecog", "between", 0.0, 1.0)
    assert one("ECOG (Eastern Cooperative Oncology Group) performance status score of 0~2;") == \
        Constraint("ecog", "between", 0.0, 2.0)
    c = one("patient with hemoglobin between 9 and 13 g/dl at admission")
    assert (c.op, c.value, c.high, c.unit) == ("between", 9.0, 13.0, "g/dl")


def test_ages_and_sexes():
    assert one("Age ≥ 18, male or female;") == Constraint("age", ">=", 18.0, unit="years")
    assert one("18 years of age or older") == Constraint("age", ">=", 18.0, unit="years")
    assert one("Adults, age 18 - 50 years, inclusive") == Constraint("age", "between", 18.0, 50.0, unit="years")
    got = extract("Male or female > 18 and < 60 years of age")
    assert [(c.subject, c.op, c.value, c.unit) for c in got if c.subject == "age"] == [
        ("age", ">", 18.0, "years"), ("age", "<", 60.0, "years")]
    assert {c.value for c in got if c.subject == "sex"} == {"female", "male"}


def test_windows_washouts_and_negation():
    c = one("No chemotherapy within 4 weeks prior to registration")
    assert (c.op, c.value, c.unit, c.window_days, c.negated) == ("<=", 4.0, "weeks", 28, True)
    c = one("At least 5 years since prior chemotherapy")
    assert (c.subject, c.op, c.value, c.unit, c.window_days, c.negated) == (
        "prior chemotherapy", ">=", 5.0, "years", 1825, False)
    got = extract("Anti-cancer treatment within 4 weeks or 5 half-lives, whichever is longer, before the first dose")
    assert [(c.op, c.value, c.window_days) for c in got] == [("<=", 4.0, 28)]
    loss, window = extract("No weight loss greater than 5% in the past 6 months")
    assert loss.negated and (loss.op, loss.value, loss.unit) == (">", 5.0, "%")
    assert window.negated and (window.op, window.value, window.unit, window.window_days) == ("<=", 6.0, "months", 180)


def test_operator_words_are_not_negations():
    for s in ("Creatinine no more than 1.5 mg/dL", "Creatinine not more than 1.5 mg/dL",
              "Creatinine not exceeding 1.5 mg/dL", "Hemoglobin no less than 9 g/dL"):
        assert not one(s).negated, s


def test_abstains_on_what_it_cannot_read():
    assert extract("Body Mass Index > 39,99") == []  # a decimal comma cannot be told from a list
    assert extract("Serum Endotoxin >25 EU/ml") == []  # a unit the catalogs do not know
    assert extract("BP >140/90 mmHg") == []
    assert extract("central AI > 5/hour") == []
    assert extract("greater than (>) 18.5 or less than or equal to (<=) 35") != []
    got = extract("body mass index of greater than (>) 18.5 or less than equal to (<=) 35")
    assert [(c.op, c.value) for c in got] == [(">", 18.5), ("<=", 35.0)]


def test_abstains_where_the_sentence_is_ambiguous():
    # "= <1": "=<" (≤ 1) split by a space, or "is < 1"? Either reading may be wrong: no constraint
    assert extract("Understood By Others = <1 (MDS B0800)") == []
    assert extract("Score = >2") == []
    assert [(c.op, c.value) for c in extract("Score =< 1")] == [("<=", 1.0)]  # written together it is ≤
    # thresholds per sub-group ("respectively"): a constraint cannot carry the sub-group, and either
    # threshold read alone is wrong for the other group
    cons = extract("serum creatinine ≥1.5 and ≥1.4 mg/dL in males and females respectively")
    assert [c for c in cons if c.subject != "sex"] == []
    assert [c for c in extract("Daily alcohol intake above 20 g and 30 g for women and men respectively")
            if c.subject != "sex"] == []
    # a range over the whole percentage scale says nothing
    assert extract("any level of compliance with the protocol (from 0-100%)") == []
    assert [(c.op, c.value, c.high) for c in extract("LVEF 40-100%")] == [("between", 40.0, 100.0)]


def test_deterministic():
    s = "ANC ≥ 1.5×109/L, platelets ≥ 75×109/L; bilirubin ≤ 1.5 × ULN (≤ 3 × ULN for patients with Gilbert's)"
    assert extract(s) == extract(s)
    got = extract(s)
    assert [(c.subject, c.op, c.value) for c in got] == [
        ("anc", ">=", 1.5), ("platelets", ">=", 75.0), ("total_bilirubin", "<=", 1.5), ("total_bilirubin", "<=", 3.0)]
