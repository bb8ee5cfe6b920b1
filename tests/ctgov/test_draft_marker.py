"""The `draft` mark on a criterion: parsed, kept by fmt, listed by check and coverage."""

from __future__ import annotations

import pytest

from eligimatch import compile_trial
from eligimatch.cli import main
from eligimatch.language import coverage
from eligimatch.errors import CriteriaSyntaxError
from eligimatch.language import format_text

TEXT = '''trial "X"
inclusion:
  - I1 "ANC >= 1500/mm3" draft: anc >= 1500 /mm3
  - I2 "Age 18 or over": age >= 18 years
exclusion:
  - E1 "Anything else the investigator judges" draft: judgment
'''


def test_the_mark_is_read_and_kept_on_the_compiled_criterion():
    trial = compile_trial(TEXT)
    assert [(c.id, c.drafted, c.text) for c in trial.all_criteria()] == [
        ("I1", True, "ANC >= 1500/mm3"), ("I2", False, "Age 18 or over"),
        ("E1", True, "Anything else the investigator judges")]


def test_a_criterion_may_be_named_draft_and_the_mark_goes_before_the_colon():
    trial = compile_trial('inclusion:\n  - draft "x": age >= 18 years\n  - d2 draft: age >= 18 years\n')
    assert [(c.id, c.drafted) for c in trial.criteria] == [("draft", False), ("d2", True)]
    with pytest.raises(CriteriaSyntaxError):
        compile_trial('inclusion:\n  - I1 draft "x": age >= 18 years\n')
    with pytest.raises(CriteriaSyntaxError):
        compile_trial('inclusion:\n  - I1 "x": draft age >= 18 years\n')


def test_fmt_keeps_the_mark():
    out = format_text(TEXT)
    assert '- I1 "ANC >= 1500/mm3" draft:' in out and '- I2 "Age 18 or over":\n' in out
    assert compile_trial(out).criteria[0].drafted


def test_check_lists_drafted_criteria_without_failing(tmp_path, capsys):
    path = tmp_path / "x.elig"
    path.write_text(TEXT)
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "2 drafted criteria to review" in out
    assert f"{path}:3: I1 (inclusion) anc >= 1500 /mm3" in out and "E1 (exclusion) judgment" in out
    assert "2 drafted criteria to review" in err and "0 findings" in err


def test_coverage_counts_drafted_criteria():
    rep = coverage(compile_trial(TEXT))
    assert rep.drafted == 2 and [c.drafted for c in rep.criteria] == [True, False, True]


def test_fmt_keeps_the_mark_on_a_long_sentence_split_into_strings():
    long = "A sentence long enough to be wrapped by the formatter into adjacent strings, " * 3
    out = format_text(f'inclusion:\n  - I1 "{long}" draft: age >= 18 years\n')
    assert out.count('"') > 2 and "draft:" in out
    assert compile_trial(out).criteria[0].drafted and format_text(out) == out
