"""The extractor's score on the LCT/Leaf dev half and the Facebook pairs (bench/draft_score.py).

Quality floors, not timings: no reversed operator and no lost negation ever; the
figures docs/drafting.md reports must not fall.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .shared import CRITERIA, need

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import draft_score  # noqa: E402
from leaf_gold import gold_of, load_leaf, parse_lf  # noqa: E402


@pytest.fixture(scope="module")
def leaf():
    return draft_score.score_leaf(load_leaf(need(CRITERIA / "leaf")))


def test_no_reversed_operator_and_no_lost_negation(leaf):
    tables = {k: v for k, v in leaf.items() if isinstance(v, draft_score.Tally)}
    assert all(t.reversed == 0 for t in tables.values()), {k: t.wrong_op for k, t in tables.items()}
    adj = draft_score.adjudicate(tables, BENCH / "draft_adjudication.toml")
    assert adj["negation"]["lost"] == 0, leaf["negation"].missed
    assert all(row["wrong_operator"] == 0 for row in adj.values()), {k: t.wrong_op for k, t in tables.items()}


def test_the_figures_do_not_fall(leaf):
    numeric, temporal, age = leaf["numeric"], leaf["temporal"], leaf["age"]
    # raw, against the gold as annotated (the adjudication is reported beside it, never instead of it)
    assert numeric.recall >= 0.85 and numeric.precision >= 0.95, numeric.row()
    assert temporal.precision >= 0.90, temporal.row()
    assert age.precision >= 0.95 and age.recall >= 0.90, age.row()
    fb = draft_score.score_fb(need(CRITERIA / "fb-clinical-trial-parser" / "interpreter_test_pairs.jsonl"))
    assert fb["bounds"].reversed == 0 and fb["bounds"].precision >= 0.9, fb["bounds"].row()


def test_the_gold_reader():
    numbers, negated, sexes = gold_of('neg(lab("ANC").num_filter(eq(op(GTEQ), val("1,500"), unit("/mm3"))))'
                                      '.temporality(eq(temporal_per(PAST), val("6"), temporal_unit(MONTH)))')
    assert negated and not sexes
    assert [(n.kind, n.op, n.value, n.unit, n.negated) for n in numbers] == [
        ("numeric", ">=", 1500.0, "/mm3", True), ("temporal", "<=", 6.0, "month", False)]
    numbers, _, sexes = gold_of('female().intersect(age().num_filter(eq(val("18"), op(BETWEEN), val("65"), '
                                'temporal_unit(YEAR))))')
    assert sexes == {"female"} and [(n.kind, n.op, n.value, n.high) for n in numbers] == [
        ("age", "between", 18.0, 65.0)]
    assert parse_lf("") == []
    assert draft_score.units_equal("x10^9/L", "x 109/L") and draft_score.units_equal("mL/min", "ml/MINUTE")
    assert not draft_score.units_equal("mg/dL", "g/L")


def test_every_adjudication_entry_sets_aside_a_disagreement(leaf):
    """A stale entry (the reading changed, the disagreement is gone) would hide a future one."""
    tables = {k: v for k, v in leaf.items() if isinstance(v, draft_score.Tally)}
    assert draft_score.unused_entries(tables, BENCH / "draft_adjudication.toml") == []


def test_the_gold_reader_takes_eq_with_between_as_the_range():
    numbers, _, _ = gold_of('lab("BIMS").num_filter(eq(op(EQ), val("8"), op(BETWEEN), val("15")))')
    assert [(n.op, n.value, n.high) for n in numbers] == [("between", 8.0, 15.0)]
    numbers, _, _ = gold_of('lab("x").num_filter(eq(op(EQ), op(LT), val("1")))')
    assert numbers == []  # "= <1": not merged, the reading is ambiguous
