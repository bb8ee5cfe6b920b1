"""The population answers on compiled SQL, on DuckDB, on a real PostgreSQL server and on Spark local[2]:
the same verdict and per-criterion outcome as the row engine for every patient and trial (the SQL
backend's agreement check, :func:`eligimatch.sql.disagreements`, run with these
connections, on the five seed trials and tests/population/feasibility.elig), and the same counts,
attrition, what-if and rows on every backend.

Every trial is expressed whole (strict compilation, for every dialect): the agreement check compares
every criterion and the verdict, and counts, attrition, what-if and rows run on all six trials.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

from rowruns import review_only

import eligimatch
from eligimatch.errors import PopulationError
from eligimatch.sql import DuckDBBackend, PostgresBackend, SparkBackend, disagreements, screen_population, write_duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import generate

AS_OF = dt.date(2026, 3, 1)
SEED_TRIALS = sorted((ROOT / "examples" / "trials").glob("*.elig"))
FEASIBILITY = Path(__file__).resolve().parent / "feasibility.elig"
EXAMPLES = sorted((ROOT / "examples" / "patients").glob("*.json"))


@pytest.fixture(scope="module")
def all_trials():
    """The five seed trials and the feasibility trial: the agreement check runs on all of them."""
    return [eligimatch.load_trial(p) for p in SEED_TRIALS] + [eligimatch.load_trial(FEASIBILITY)]


@pytest.fixture(scope="module")
def trials(all_trials):
    """Every trial, each expressed whole by the SQL backend (the population answers need their verdicts)."""
    from eligimatch.sql import compile_sql

    for t in all_trials:
        assert compile_sql(t).complete, t.id  # strict: a criterion the backend cannot express raises
    return all_trials


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark"])
def test_the_five_seed_trials_compile_whole_for_every_dialect(dialect):
    from eligimatch.sql import compile_sql

    for path in SEED_TRIALS:
        st = compile_sql(eligimatch.load_trial(path), dialect)  # strict=True: raises naming what is not expressed
        assert st.complete and not st.unsupported, path.stem


@pytest.fixture(scope="module")
def patients():
    return [eligimatch.load_patient(p.read_text()) for p in EXAMPLES] + generate.patients(60, seed=13)


@pytest.fixture(scope="module")
def results(trials, patients):
    """The row engine's answers: {(patient, trial label): MatchResult}."""
    return {(p.id, t.id): eligimatch.match(p, t, as_of=AS_OF) for p in patients for t in trials}


def _check_population(backend, trials, patients, results, tmp_path):
    """Counts, rows, attrition and a what-if on ``backend`` against the row engine's answers."""
    with screen_population(backend, trials, as_of=AS_OF) as pop:
        counts = pop.counts()
        for run in pop.runs:
            want = {v: sum(1 for p in patients if results[(p.id, run.label)].verdict.value == v)
                    for v in ("match", "unknown", "no_match")}
            assert counts[run.label] == want, run.label
        n_rows = 0
        for row in pop.rows():
            res = results[(row["patient"], row["trial"])]
            assert row["verdict"] == res.verdict.value
            split = {k: set(filter(None, row[k].split(";"))) for k in ("met", "not_met", "unknown", "review")}
            assert split["met"] == {c.id for c in res.criteria if c.met is True}
            assert split["not_met"] == {c.id for c in res.criteria if c.met is False}
            assert split["review"] == {c.id for c in res.criteria if review_only(c)}
            n_rows += 1
        assert n_rows == len(patients) * len(trials)
        atts = [pop.attrition(r.label) for r in pop.runs]  # raises if its last step is not the verdicts
        label = pop.runs[-1].label
        first = next(c.id for c in pop.runs[-1].trial.criteria if c.kind == "inclusion" and c.id != "I1")
        wi = pop.what_if(label, drop=[first], examples=5)
        # dropping a criterion never removes a match, and whoever becomes eligible failed it or was open on it
        assert wi.no_longer_eligible == 0
        for (b, a), ids in wi.examples.items():
            for pid in ids:
                met = next(c.met for c in results[(pid, label)].criteria if c.id == first)
                assert met is not True, (pid, b, a)
        assert pop.write(tmp_path / f"rows-{backend.dialect}.csv") == n_rows
        return counts, [a.to_dict() for a in atts], wi.to_dict()


def test_duckdb_population_matches_the_row_engine(trials, patients, results, tmp_path):
    con = duckdb.connect()
    write_duckdb(con, patients)
    _check_population(DuckDBBackend(con), trials, patients, results, tmp_path)


def test_postgres_agrees_with_the_row_engine(pg, all_trials, trials, patients, results, tmp_path):
    from eligimatch.sql import write_postgres

    write_postgres(pg, patients)
    backend = PostgresBackend(pg)
    found = disagreements(backend, all_trials, patients, AS_OF, None)  # strict: whole trials, verdicts too
    assert not found, "\n".join(str(d) for d in found[:20])
    pg_answers = _check_population(backend, trials, patients, results, tmp_path)
    con = duckdb.connect()
    write_duckdb(con, patients)
    assert pg_answers == _check_population(DuckDBBackend(con), trials, patients, results, tmp_path)


def test_spark_agrees_with_the_row_engine(spark, all_trials, trials, patients, results, tmp_path):
    from eligimatch.spark import tables

    con = duckdb.connect()
    write_duckdb(con, patients)
    tables(spark, con)
    backend = SparkBackend(spark)
    found = disagreements(backend, all_trials, patients, AS_OF, None)  # strict: whole trials, verdicts too
    assert not found, "\n".join(str(d) for d in found[:20])
    spark_answers = _check_population(backend, trials, patients, results, tmp_path)
    assert spark_answers == _check_population(DuckDBBackend(con), trials, patients, results, tmp_path)


def test_one_trial_id_twice_is_refused():
    con = duckdb.connect()
    write_duckdb(con, [eligimatch.load_patient(EXAMPLES[0].read_text())])
    trial = eligimatch.compile_trial('trial "X"\ninclusion:\n  - I1 "a": age >= 18 years\n')
    with screen_population(con, [trial], as_of=AS_OF) as pop:
        assert sum(pop.counts()["X"].values()) == 1
    with pytest.raises(PopulationError, match="trial id 'X' is used by two trials"):
        screen_population(con, [trial, trial], as_of=AS_OF)
