"""Each lint finding fires on a crafted trial, at the right place, and none fires on clean trials."""

from __future__ import annotations

from pathlib import Path

import pytest

import eligimatch
from eligimatch.language import LINT_CODES as CODES, Finding, lint

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "trials").glob("*.elig"))

CLEAN = '''trial "CLEAN"
title "A trial with nothing to say about it"
anchors screening, apheresis
inclusion:
  - I1 "Age 18-70 years": age between 18 and 70 years
  - I2 "ANC >= 1.5x10^9/L and platelets >= 75x10^9/L": anc >= 1.5 x10^9/L and platelets >= 75 x10^9/L
  - I3 "ANC between 1 and 20 x10^9/L": anc >= 1 x10^9/L and anc <= 20000 /uL
  - I4 "Women or men over 50": sex = female or (sex = male and age > 50 years)
  - I5 "Two of three": at least 2 of (ecog <= 1, karnofsky >= 70, not pregnant)
  - I6 "Adult or consented guardian": age >= 18 years or consent_signed
exclusion:
  - E1 "Pregnant or breastfeeding": pregnant or breastfeeding
  - E2 "Investigator's judgment": judgment
  - E3 "Other conditions the investigator considers unsuitable": judgment
cohort a "Cohort A":
  inclusion:
    - A1 "ECOG 0-1": ecog <= 1
cohort b "Cohort B":
  inclusion:
    - B1 "ECOG 0-1": ecog <= 1
'''


def compile_text(text: str, name: str = "t.elig"):
    return eligimatch.compile_trial(text, filename=name)


def findings(body: str) -> list[Finding]:
    return lint(compile_text('trial "T"\n' + body))


def codes(body: str) -> list[str]:
    return [f.code for f in findings(body)]


def test_the_clean_trial_has_no_findings():
    assert lint(compile_text(CLEAN)) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_bundled_examples_have_no_findings(path):
    got = lint(eligimatch.load_trial(path))
    assert got == [], "\n".join(f.render() for f in got)


def test_contradiction_on_age():
    fs = findings('inclusion:\n  - I1 "x": age >= 75 years and age <= 70 years\n')
    assert [f.code for f in fs] == ["contradiction"]
    f = fs[0]
    assert (f.line, f.column) == (3, 33)  # at `age <= 70 years`
    assert "age >= 75 years" in f.message and "age <= 70 years" in f.message


def test_contradiction_after_unit_conversion():
    assert codes('inclusion:\n  - I1 "x": anc > 2 x10^9/L and anc < 1 x10^9/L\n') == ["contradiction"]
    # 1000 /uL is 1 x10^9/L
    assert codes('inclusion:\n  - I1 "x": anc > 2 x10^9/L and anc < 1000 /uL\n') == ["contradiction"]
    # 2500 /uL is 2.5 x10^9/L: compatible
    assert codes('inclusion:\n  - I1 "x": anc > 2 x10^9/L and anc < 2500 /uL\n') == []
    # mass and molar concentrations: creatinine 1 mg/dL is about 88.4 umol/L
    assert codes('inclusion:\n  - I1 "x": creatinine >= 2 mg/dL and creatinine <= 100 umol/L\n') == ["contradiction"]
    assert codes('inclusion:\n  - I1 "x": creatinine >= 1 mg/dL and creatinine <= 100 umol/L\n') == []


def test_contradiction_at_a_shared_bound():
    assert codes('inclusion:\n  - I1 "x": ecog < 1 and ecog >= 1\n') == ["contradiction"]
    assert codes('inclusion:\n  - I1 "x": ecog <= 1 and ecog >= 1\n') == []  # ecog = 1


def test_contradiction_through_not_nesting_and_words():
    assert codes('inclusion:\n  - I1 "x": age >= 18 years and not age >= 18 years\n') == ["contradiction"]
    assert codes('inclusion:\n  - I1 "x": ecog <= 1 and (pregnant and ecog >= 2)\n') == ["contradiction"]
    assert codes('inclusion:\n  - I1 "x": sex = male and sex in (female)\n') == ["contradiction"]
    # different units of age, or a recency window, are not compared
    assert codes('inclusion:\n  - I1 "x": age >= 2 years and age < 20 months\n') == []
    # an `or` in between means no contradiction
    assert codes('inclusion:\n  - I1 "x": ecog <= 1 and (ecog >= 2 or pregnant)\n') == []


def test_empty_between():
    fs = findings('inclusion:\n  - I1 "x": age between 70 and 18 years\n')
    assert [f.code for f in fs] == ["empty-range"]
    assert codes('inclusion:\n  - I1 "x": ecog between 1 and 1 exclusive\n') == ["empty-range"]
    assert codes('inclusion:\n  - I1 "x": ecog between 1 and 1\n') == []


def test_or_always_true():
    fs = findings('inclusion:\n  - I1 "x": age >= 18 years or age < 30 years\n')
    assert [f.code for f in fs] == ["always-true"]
    assert (fs[0].line, fs[0].column) == (3, 13)
    assert codes('inclusion:\n  - I1 "x": ecog <= 1 or ecog > 1\n') == ["always-true"]
    assert codes('inclusion:\n  - I1 "x": sex = male or sex = female\n') == ["always-true"]
    assert codes('inclusion:\n  - I1 "x": ecog < 1 or ecog > 1\n') == []  # misses ecog = 1
    assert codes('inclusion:\n  - I1 "x": age >= 18 years or age < 10 years\n') == []


def test_duplicate_criteria():
    fs = findings('inclusion:\n  - I1 "a": ecog <= 1\n  - I2 "b": ecog <= 1\n')
    assert [f.code for f in fs] == ["duplicate"]
    assert fs[0].line == 4 and "I1" in fs[0].message and "I2" in fs[0].message
    # a general criterion repeated in a cohort is a duplicate; the same criterion in two cohorts is not
    body = ('inclusion:\n  - I1 "a": ecog <= 1\ncohort a "A":\n  inclusion:\n    - A1 "a": ecog <= 1\n'
            'cohort b "B":\n  inclusion:\n    - B1 "b": pregnant\ncohort c "C":\n  inclusion:\n    - C1 "c": pregnant\n')
    assert codes(body) == ["duplicate"]
    # judgment criteria mean what their sentences say
    assert codes('exclusion:\n  - E1 "a": judgment\n  - E2 "b": judgment\n') == []
    assert codes('inclusion:\n  - I1 "a": if pregnant then judgment else true\n'
                 '  - I2 "b": if pregnant then judgment else true\n') == []


def test_inclusion_equal_to_exclusion():
    fs = findings('inclusion:\n  - I1 "a": ecog <= 1\nexclusion:\n  - E1 "b": ecog <= 1\n')
    assert [f.code for f in fs] == ["include-exclude"]
    assert fs[0].line == 5 and "I1" in fs[0].message


def test_at_least_n_of_n():
    fs = findings('inclusion:\n  - I1 "a": at least 2 of (pregnant, breastfeeding)\n')
    assert [f.code for f in fs] == ["at-least-all"]
    assert "all of" in fs[0].hint
    assert codes('inclusion:\n  - I1 "a": at least 1 of (pregnant, breastfeeding)\n') == []


def test_criterion_without_sentence():
    fs = findings('inclusion:\n  - I1: ecog <= 1\n  - I2 "ok": pregnant\n')
    assert [f.code for f in fs] == ["no-text"]
    assert (fs[0].line, fs[0].column) == (3, 3)


def test_daily_dose_in_mg_asks_daily_or_total():
    """Issue 13, finding 3: "≥ 70 mg prednisone within 7 days" has no /day; `daily dose ... >= 70 mg` hid the
    question of which reading the protocol means, now that `total dose` can say the other one."""
    fs = findings('inclusion:\n  - I1 "a": daily dose of corticosteroid as prednisone >= 70 mg\n')
    assert [f.code for f in fs] == ["daily-dose-in-mg"]
    assert "total dose of" in fs[0].hint
    assert codes('inclusion:\n  - I1 "a": daily dose of corticosteroid as prednisone >= 70 mg/day\n') == []
    assert codes('inclusion:\n  - I1 "a": total dose of corticosteroid as prednisone within 7 days before '
                 'screening >= 70 mg\n') == []


def test_every_code_is_exercised_and_documented():
    assert set(CODES) == {"contradiction", "empty-range", "always-true", "duplicate", "include-exclude",
                          "at-least-all", "no-text", "daily-dose-in-mg"}


def test_a_finding_renders_like_a_compiler_diagnostic():
    f = findings('inclusion:\n  - I1 "x": age >= 75 years and age <= 70 years\n')[0]
    lines = f.render().splitlines()
    assert lines[0].startswith("t.elig:3:33: ") and lines[0].endswith("[contradiction]")
    assert lines[1].strip() == '- I1 "x": age >= 75 years and age <= 70 years'
    assert lines[2].index("^") == lines[1].index("age <= 70")


def test_lint_takes_a_compiled_trial():
    with pytest.raises(TypeError):
        lint("trial.elig")  # type: ignore[arg-type]
