"""The history kinds the SQL backend expresses, against the row engine: study participation, with the
absent-record policy (complete histories, ``assume_absent``), windows on caller and patient anchors."""

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
from eligimatch.errors import PatientDataError
from eligimatch.sql import compile_sql, disagreements, run, write_duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import fuzzing as F

AS_OF = dt.date(2026, 3, 1)
TRIAL = '''
trial "NCT0001"
anchors screening, enrollment, diagnosis
inclusion:
  - P1: participation in another study
  - P2: participation in another study within 3 months before enrollment
  - P3: not participation in another study within 30 days before diagnosis
'''


def _population(r: random.Random, n: int) -> list:
    gen = F.PatientGen(r)
    out: list = []
    while len(out) < n:
        d = gen.patient()
        d["id"] = f"p{len(out)}"
        d.setdefault("complete", {})["studies"] = r.random() < 0.5
        if r.random() < 0.7:
            d["studies"] = [{"study": r.choice(["NCT0001", "nct0001", "NCT9", None]),
                             **({"start": gen.date()} if r.random() < 0.8 else {}),
                             **({"end": gen.date()} if r.random() < 0.4 else {})} for _ in range(r.randint(0, 3))]
        if r.random() < 0.3:
            d["anchors"] = {"enrollment": gen.exact_date()}
        try:
            out.append(eligimatch.load_patient(d))
        except PatientDataError:
            continue
    return out


@settings(max_examples=F.examples(6))
@given(st.integers(0, 2**32))
def test_participation_agrees_under_both_policies(seed):
    r = random.Random(seed)
    trial = eligimatch.compile_trial(TRIAL)
    assert compile_sql(trial).complete
    patients = _population(r, 60)
    con = duckdb.connect()
    write_duckdb(con, patients)
    anchors = {"diagnosis": AS_OF - dt.timedelta(days=r.randint(0, 120))} if r.random() < 0.7 else {}
    for assume_absent in (False, True):
        found = disagreements(con, [trial], patients, AS_OF, anchors, assume_absent=assume_absent)
        assert not found, "\n".join(str(d) for d in found[:20])


def test_participation_reaches_every_outcome():
    trial = eligimatch.compile_trial(TRIAL)
    patients = _population(random.Random(4), 300)
    con = duckdb.connect()
    write_duckdb(con, patients)
    rows = run(con, compile_sql(trial), AS_OF, {"diagnosis": dt.date(2025, 12, 31)})
    for cid in ("P1", "P2", "P3"):
        assert {r[cid] for r in rows} == {True, False, None}, cid


PROC_TRIAL = '''
trial "T"
anchors screening, apheresis, enrollment, diagnosis
exclusion:
  - Q1: procedure major_surgery within 2 weeks before apheresis
  - Q2: procedure (major_surgery, apheresis) except colectomy
  - Q3: procedure major_surgery within 6 months before diagnosis
  - Q4: procedure biopsy
  - Q5: procedure major_surgery where in_place
'''


def _procedure_population(r: random.Random, n: int) -> list:
    """Patients whose procedures are the concepts asked for, below them, above them, beside them, or not in
    the catalog, with full, partial, missing and later dates."""
    cats = eligimatch.Catalogs.default().procedures
    near: set[str] = set()
    for cid in ("major_surgery", "apheresis", "colectomy", "biopsy"):
        near |= set(cats.descendants(cid)) | set(cats.ancestors(cid))
    names = sorted(near) + ["not a procedure we know"]
    gen = F.PatientGen(r)
    out: list = []
    while len(out) < n:
        d = {"id": f"p{len(out)}", "complete": {"procedures": r.random() < 0.5}}
        d["procedures"] = [{"name": r.choice(names), **({"date": gen.date()} if r.random() < 0.85 else {})}
                           for _ in range(r.randint(0, 3))]
        if r.random() < 0.5:
            d["anchors"] = {"apheresis": gen.exact_date()}
        try:
            out.append(eligimatch.load_patient(d))
        except PatientDataError:
            continue
    return out


@settings(max_examples=F.examples(6))
@given(st.integers(0, 2**32))
def test_procedures_agree_under_both_policies(seed):
    r = random.Random(seed)
    trial = eligimatch.compile_trial(PROC_TRIAL)
    sql_trial = compile_sql(trial, strict=False)
    assert sql_trial.complete  # `where` on a procedure too (tests/sql/test_agreement_conditions.py draws attributes)
    patients = _procedure_population(r, 80)
    con = duckdb.connect()
    write_duckdb(con, patients)
    anchors = {"diagnosis": AS_OF - dt.timedelta(days=r.randint(0, 120))} if r.random() < 0.7 else {}
    for assume_absent in (False, True):
        found = disagreements(con, [trial], patients, AS_OF, anchors, assume_absent=assume_absent, strict=False)
        assert not found, "\n".join(str(d) for d in found[:20])


def test_procedures_reach_every_outcome():
    trial = eligimatch.compile_trial(PROC_TRIAL)
    patients = _procedure_population(random.Random(2), 300)
    con = duckdb.connect()
    write_duckdb(con, patients)
    rows = run(con, compile_sql(trial, strict=False), AS_OF, {"diagnosis": dt.date(2025, 12, 31)})
    for cid in ("Q1", "Q2", "Q3", "Q4"):
        assert {r[cid] for r in rows} == {True, False, None}, cid
