"""Conditions (and procedures with ``where``) on the SQL backend, against the row engine.

Populations drawn wide around the concepts the criteria name -- the concept itself, below it, above it
(ICD-10-CM C79.9 against brain metastases, "leukemia" against B-ALL), beside it, excepted, not in the
catalog -- with full, partial, missing and later onset and end dates, every status or none, and attributes
of every kind a chart writes (yes/no spellings, stage and TNM spellings, grades as numbers and numerals,
words); criteria over every timing (present, ever, within a window, diagnosed within, still present or
not), ``where`` (yes/no, coded with and across vocabulary scales, ordered, text, ``in``, ``or``) and
``except``, on caller, patient and missing anchors, under both absent-record policies.  The SQL backend
must give every patient the row engine's outcome for every criterion; the seed trials' condition criteria
too.  The generators are in tests/condition_records.py (PostgreSQL and Spark:
tests/population/test_conditions_backends.py).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

from hypothesis import given, settings
from hypothesis import strategies as st

import eligimatch
from eligimatch.sql import compile_sql, disagreements, run, write_duckdb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

import fuzzing as F
from condition_records import ANCHORS, AS_OF, population, trial_text


def _check(con, trials, patients, anchors, **kw) -> None:
    for assume_absent in (False, True):
        found = disagreements(con, trials, patients, AS_OF, anchors, assume_absent=assume_absent, **kw)
        assert not found, "\n".join(str(d) for d in found[:20])


@settings(max_examples=F.examples(8), deadline=None)
@given(st.integers(0, 2**32))
def test_conditions_agree(seed):
    r = random.Random(seed)
    trial = eligimatch.compile_trial(trial_text(r))
    assert compile_sql(trial).complete  # every condition and procedure form here is expressed
    patients = population(r, 70)
    con = duckdb.connect()
    write_duckdb(con, patients)
    anchors = {"diagnosis": AS_OF - dt.timedelta(days=r.randint(0, 400))} if r.random() < 0.5 else {}
    _check(con, [trial], patients, anchors)


def test_every_timing_reaches_every_outcome():
    """The generated forms are not vacuous: each timing gives TRUE, FALSE and UNKNOWN to somebody."""
    text = f'''trial "T"
{ANCHORS}
exclusion:
  - A: condition malignancy
  - B: history of malignancy
  - C: history of malignancy within 12 months before diagnosis
  - D: condition malignancy diagnosed within 5 years before screening
  - E: history of malignancy diagnosed within 5 years before screening
  - F: history of malignancy where stage in (IV, metastatic) except carcinoma_in_situ_skin
  - G: history of infection where (symptomatic or grade >= 2)
'''
    trial = eligimatch.compile_trial(text)
    patients = population(random.Random(3), 400)
    con = duckdb.connect()
    write_duckdb(con, patients)
    rows = run(con, compile_sql(trial), AS_OF, {"diagnosis": dt.date(2025, 12, 31)})
    for cid in "ABCDEFG":
        assert {r[cid] for r in rows} == {True, False, None}, cid
    _check(con, [trial], patients, {"diagnosis": dt.date(2025, 12, 31)})


SEEDS = sorted((ROOT / "examples" / "trials").glob("*.elig"))


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_seed_trial_conditions_agree(path):
    """The seed trials' condition (and every other expressed) criteria, on a wide population and on the
    example patients."""
    trial = eligimatch.load_trial(path)
    st_ = compile_sql(trial, strict=False)
    conditions = [c.id for c in trial.plan.all_criteria() if "Condition(" in repr(c.expr)]
    assert conditions and not [c for c in conditions if c in st_.unsupported and "allergy" not in
                               st_.unsupported[c] and "Therapy" not in st_.unsupported[c]
                               and "Dose" not in st_.unsupported[c]]
    patients = population(random.Random(path.stem), 60)
    examples = [eligimatch.load_patient(p.read_text()) for p in sorted((ROOT / "examples" / "patients").glob("*.json"))]
    for group in (patients, examples):
        con = duckdb.connect()
        write_duckdb(con, group)
        anchors = {"leukapheresis": dt.date(2026, 2, 1)} if "leukapheresis" in trial.plan.anchors else {}
        _check(con, [trial], group, anchors, strict=False)


def test_an_undeclared_status_never_decides():
    """A database written by another tool may hold a status outside the four the schema declares: the SQL
    backend reads it as no status (never as active, never as resolved)."""
    trial = eligimatch.compile_trial(f'trial "T"\n{ANCHORS}\nexclusion:\n  - A: condition stroke\n'
                                     '  - B: history of stroke within 6 months before screening\n')
    p = eligimatch.load_patient({"id": "x", "complete": {"conditions": True},
                                 "conditions": [{"name": "stroke", "onset": "2020-01-01", "status": "active"}]})
    con = duckdb.connect()
    write_duckdb(con, [p])
    con.execute("UPDATE conditions SET status = 'Resolved'")
    row = run(con, compile_sql(trial), AS_OF)[0]
    assert row["A"] is None and row["B"] is None
