"""One engine, two backends, proven equal: the SQL backend on DuckDB against the row engine.

For every patient and trial: the same verdict, and the same outcome (TRUE / FALSE / UNKNOWN) for every
criterion the SQL backend expresses.  Populations come from the fuzzing generators (tests/fuzzing.py:
random trials from the grammar's pieces, patients with extreme, missing, messy and conflicting values)
and from the benchmark's generator (bench/generate.py); the five seed trials run on the example patients.
The PostgreSQL and Spark runners reuse :func:`eligimatch.sql._agreement.disagreements` with their
connections.
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
from eligimatch.errors import CriteriaError, PatientDataError
from eligimatch.sql import compile_sql, disagreements, write_duckdb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(ROOT / "bench"))

import fuzzing as F

AS_OF = dt.date(2026, 3, 1)


def _patients(r: random.Random, n: int) -> list:
    gen = F.PatientGen(r)
    out, seen = [], set()
    while len(out) < n:
        doc = gen.patient()
        doc["id"] = f"p{len(out)}"
        try:
            p = eligimatch.load_patient(doc)
        except PatientDataError:
            continue
        if p.id not in seen:
            seen.add(p.id)
            out.append(p)
    return out


def _trial(r: random.Random):
    gen = F.CriteriaGen(r)
    for _ in range(50):
        try:
            return eligimatch.compile_trial(gen.trial(r.randint(2, 6)))
        except CriteriaError:
            continue
    return None


def _check(trials, patients, as_of=AS_OF, anchors=None):
    con = duckdb.connect()
    write_duckdb(con, patients)
    found = disagreements(con, trials, patients, as_of, anchors, strict=False)
    assert not found, "\n".join(str(d) for d in found[:20])


@settings(max_examples=F.examples(25))
@given(st.integers(0, 2**32))
def test_random_trials_agree_on_random_patients(seed):
    r = random.Random(seed)  # one seed draws a whole population (a recorded draw per value would be too large)
    trial = _trial(r)
    if trial is None:
        return
    _check([trial], _patients(r, 12))


@settings(max_examples=F.examples(10))
@given(st.integers(0, 2**32))
def test_random_trials_agree_with_caller_anchors(seed):
    r = random.Random(seed)
    trial = _trial(r)
    if trial is None:
        return
    anchors = {a: AS_OF + dt.timedelta(days=r.randint(-40, 20)) for a in trial.anchors or F.ANCHORS
               if r.random() < 0.5}
    try:
        eligimatch.engine._matching.check_anchor_names((trial,), anchors)
    except eligimatch.errors.AnchorError:
        return
    _check([trial], _patients(r, 8), anchors=anchors)


SEED_TRIALS = sorted((ROOT / "examples" / "trials").glob("*.elig"))
EXAMPLE_PATIENTS = sorted((ROOT / "examples" / "patients").glob("*.json"))


def test_seed_trials_agree_on_the_example_patients():
    trials = [eligimatch.load_trial(p) for p in SEED_TRIALS]
    patients = [eligimatch.load_patient(p.read_text()) for p in EXAMPLE_PATIENTS]
    assert len(trials) == 5 and patients
    _check(trials, patients)


def test_seed_trials_agree_on_the_benchmark_population():
    import generate

    trials = [eligimatch.load_trial(p) for p in SEED_TRIALS]
    _check(trials, generate.patients(150, seed=7), as_of=generate.AS_OF)


def test_the_criteria_compared_are_many():
    """The comparison is not vacuous: every criterion of the seed trials compiles to SQL (doses and stable
    doses included), so the agreement above compares every criterion and the verdicts."""
    for p in SEED_TRIALS:
        st = compile_sql(eligimatch.load_trial(p), strict=False)
        assert st.complete and all(c.expressible for c in st.criteria), (p.stem, sorted(st.unsupported))


COVERING = HERE / "covering.elig"


def test_covering_trial_agrees_on_the_benchmark_population():
    """Every kind the backend expresses, on 300 realistic patients (per-patient anchors, mixed units,
    same-day results, partial dates), and every criterion reaches TRUE, FALSE and UNKNOWN on some patient
    or at least two of them (the comparison is not vacuous)."""
    import generate

    trial = eligimatch.load_trial(COVERING)
    st = compile_sql(trial)
    assert st.complete
    patients = generate.patients(300, seed=11)
    con = duckdb.connect()
    write_duckdb(con, patients)
    found = disagreements(con, [trial], patients, generate.AS_OF)
    assert not found, "\n".join(str(d) for d in found[:20])
    from eligimatch.sql import run

    rows = run(con, st, generate.AS_OF)
    single = [c.id for c in st.criteria if len({r[c.id] for r in rows}) < 2]
    # the benchmark population has no Karnofsky score, no serologies, no `diagnosis` anchor: those
    # criteria are unknown throughout here, and decided in the messy population below
    assert len(single) <= len(st.criteria) // 4, single
    assert {r["verdict"] for r in rows} >= {"no_match", "unknown"}


@settings(max_examples=F.examples(12))
@given(st.integers(0, 2**32))
def test_covering_trial_agrees_on_messy_patients(seed):
    r = random.Random(seed)
    _check([eligimatch.load_trial(COVERING)], _patients(r, 25))


@settings(max_examples=F.examples(6))
@given(st.integers(0, 2**32))
def test_covering_trial_agrees_with_caller_anchors_and_other_dates(seed):
    import generate

    r = random.Random(seed)
    trial = eligimatch.load_trial(COVERING)
    as_of = generate.AS_OF + dt.timedelta(days=r.randint(-400, 60))
    anchors = {a: as_of + dt.timedelta(days=r.randint(-30, 30))
               for a in ("screening", "apheresis", "enrollment", "diagnosis") if r.random() < 0.5}
    _check([trial], generate.patients(40, seed=r.randint(0, 10**6)), as_of=as_of, anchors=anchors)
