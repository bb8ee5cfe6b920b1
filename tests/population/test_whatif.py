"""What-if edits: a criterion dropped, a threshold moved, an expression replaced -- in the criteria text,
compiled again, so the edited trial is checked like any trial.  Checked here with the row engine."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

import eligimatch
from eligimatch.errors import CriteriaCheckError, CriteriaSyntaxError, PopulationError
from eligimatch.sql import Threshold, WhatIf, edit_trial

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import generate

AS_OF = dt.date(2026, 3, 1)
NCT05621486 = ROOT / "examples" / "trials" / "NCT05621486.elig"


@pytest.fixture(scope="module")
def trial():
    return eligimatch.load_trial(NCT05621486)


def _source(t, cid):
    return next(c.source for c in t.all_criteria() if c.id == cid)


def test_threshold_parse():
    assert Threshold.parse("I7a=1.0") == Threshold("I7a", "1.0")
    assert Threshold.parse(" I7d:2.5 = 3 ") == Threshold("I7d", "3", "2.5")
    assert Threshold.parse("I7a=1000 /uL").new == "1000 /uL"
    for bad in ("I7a", "=1", "I7a=", "I7a=abc", "I7d:x=3"):
        with pytest.raises(PopulationError):
            Threshold.parse(bad)


def test_drop_makes_the_criterion_neutral_and_keeps_its_id(trial):
    edited = edit_trial(trial, WhatIf.parse(drop=["I8", "E15a"]))
    assert _source(edited.trial, "I8") == "true" and _source(edited.trial, "E15a") == "false"
    assert [c.id for c in edited.trial.all_criteria()] == [c.id for c in trial.all_criteria()]
    assert edited.changes == ("I8 dropped (its expression is now `true`)", "E15a dropped (its expression is now `false`)")
    # everything else is untouched
    for a, b in zip(trial.all_criteria(), edited.trial.all_criteria()):
        if a.id not in ("I8", "E15a"):
            assert a.source == b.source


def test_threshold_moves_the_number_and_keeps_the_unit(trial):
    e = edit_trial(trial, WhatIf.parse(thresholds=["I7a=1.0", "I7d:2.5=3", "I2:70=75"]))
    assert "1.0 x10^9/L" in _source(e.trial, "I7a").replace("x 10", "x10")
    assert "3 x ULN" in _source(e.trial, "I7d") and "5 x ULN" in _source(e.trial, "I7d")
    assert "75" in _source(e.trial, "I2") and "18" in _source(e.trial, "I2")
    e2 = edit_trial(trial, WhatIf.parse(thresholds=["I7a=1000 /uL"]))
    assert "1000" in _source(e2.trial, "I7a")


def test_threshold_errors_name_the_problem(trial):
    with pytest.raises(PopulationError, match="several thresholds .*5 x ULN, 2.5 x ULN.*I7d:OLD=VALUE"):
        edit_trial(trial, WhatIf.parse(thresholds=["I7d=3"]))
    with pytest.raises(PopulationError, match="no threshold '4'"):
        edit_trial(trial, WhatIf.parse(thresholds=["I7d:4=3"]))
    with pytest.raises(PopulationError, match="no numeric threshold"):
        edit_trial(trial, WhatIf.parse(thresholds=["I1=2"]))
    with pytest.raises(PopulationError, match="no criterion 'I7z'.*did you mean"):
        edit_trial(trial, WhatIf.parse(drop=["I7z"]))
    with pytest.raises(PopulationError, match="changed twice"):
        edit_trial(trial, WhatIf.parse(drop=["I8"], thresholds=["I8=90"]))
    # a unit that does not fit is the language's own error, located in the edited text
    with pytest.raises(CriteriaCheckError) as exc:
        edit_trial(trial, WhatIf.parse(thresholds=["I7a=1000 mg"]))
    assert "what-if: threshold I7a=1000 mg" in str(exc.value) and "mg" in str(exc.value)
    with pytest.raises(CriteriaSyntaxError):
        edit_trial(trial, WhatIf.parse(replace=["I7a=anc >="]))


def test_replace_and_the_row_engine_sees_the_change(trial):
    patients = generate.patients(150, seed=3)
    before = [eligimatch.match(p, trial, as_of=AS_OF) for p in patients]
    edited = edit_trial(trial, WhatIf.parse(drop=["I8"])).trial
    after = [eligimatch.match(p, edited, as_of=AS_OF) for p in patients]
    for b, a in zip(before, after):
        assert next(c for c in a.criteria if c.id == "I8").met is True
        others_b = [(c.id, c.met) for c in b.criteria if c.id != "I8"]
        assert others_b == [(c.id, c.met) for c in a.criteria if c.id != "I8"]
        if b.verdict.value == "no_match" and b.deciding == ("I8",):
            assert a.verdict.value != "no_match"
    replaced = edit_trial(trial, WhatIf.parse(replace=["I2=age between 18 and 75 years"])).trial
    assert _source(replaced, "I2") == "age between 18 and 75 years"


def test_a_cohort_criterion_can_be_edited():
    t = eligimatch.load_trial(ROOT / "examples" / "trials" / "NCT07301164.elig")
    cohort_ids = [c.id for _, _, cs in t.cohorts for c in cs]
    e = edit_trial(t, WhatIf.parse(drop=[cohort_ids[0]]))
    assert _source(e.trial, cohort_ids[0]) == "true"
    assert [c.id for c in e.trial.all_criteria()] == [c.id for c in t.all_criteria()]
