"""Attrition, tiers, rows and charts of a population, checked against the row engine's own results.

The run tables here are made by the row engine (rowruns.py), so these tests fix the population
answers' semantics independently of the SQL compiler; tests/population/test_population_sql.py runs
the same answers on compiled SQL.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

from rowruns import review_only, row_engine_run

import eligimatch
from eligimatch.errors import PopulationError
from eligimatch.logic import (
    Truth,
    t_and,
)
from eligimatch.sql import DuckDBBackend, Population

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import generate

AS_OF = dt.date(2026, 3, 1)
TRIALS = sorted((ROOT / "examples" / "trials").glob("*.elig"))


@pytest.fixture(scope="module")
def patients():
    examples = [eligimatch.load_patient(p.read_text()) for p in sorted((ROOT / "examples" / "patients").glob("*.json"))]
    return examples + generate.patients(250, seed=7)


def _truth(met):
    return Truth.UNKNOWN if met is None else (Truth.TRUE if met else Truth.FALSE)


def _met_for_verdict(r):
    return True if review_only(r) else r.met


def _expected_steps(trial, results):
    """Passing / unknown / excluded after each step, recomputed from the row engine's results."""
    general = [c.id for c in trial.criteria]
    out = []
    for k in range(1, len(general) + 1):
        ids = general[:k]
        tally = {Truth.TRUE: 0, Truth.UNKNOWN: 0, Truth.FALSE: 0}
        for res in results:
            by = {c.id: c for c in res.criteria}
            tally[t_and(*(_truth(_met_for_verdict(by[i])) for i in ids))] += 1
        out.append((general[k - 1], tally[Truth.TRUE], tally[Truth.UNKNOWN], tally[Truth.FALSE]))
    return out


@pytest.mark.parametrize("path", TRIALS, ids=lambda p: p.stem)
def test_attrition_steps_are_the_cumulative_kleene_and_and_end_at_the_verdicts(path, patients):
    trial = eligimatch.load_trial(path)
    con = duckdb.connect()
    run, results = row_engine_run(con, trial, patients, AS_OF)
    pop = Population(DuckDBBackend(con), AS_OF, [run])
    att = pop.attrition()

    verdicts = {v: sum(1 for r in results if r.verdict.value == v) for v in ("match", "unknown", "no_match")}
    assert pop.counts()[run.label] == verdicts
    assert att.total == len(patients)
    last = att.steps[-1]
    assert (last.passing, last.unknown, last.excluded) == (verdicts["match"], verdicts["unknown"],
                                                           verdicts["no_match"])
    expected = _expected_steps(trial, results)
    got = [(s.criterion, s.passing, s.unknown, s.excluded) for s in att.steps[:len(expected)]]
    assert got == expected
    if trial.cohorts:
        assert att.steps[-1].criterion == "cohorts" and len(att.steps) == len(trial.criteria) + 1
    else:
        assert len(att.steps) == len(trial.criteria)
    prev_pass, prev_excl = att.total, 0
    for s in att.steps:
        assert s.passing <= prev_pass and s.excluded >= prev_excl
        assert s.removed == s.excluded - prev_excl
        assert s.passing + s.unknown + s.excluded == att.total
        prev_pass, prev_excl = s.passing, s.excluded
    # each criterion alone, over everyone
    for s in att.steps:
        if s.criterion == "cohorts":
            continue
        mets = [_met_for_verdict(next(c for c in r.criteria if c.id == s.criterion)) for r in results]
        assert (s.met, s.not_met, s.unknown_alone) == (mets.count(True), mets.count(False), mets.count(None))


def test_attrition_counts_pending_review_and_a_custom_order(patients):
    trial = eligimatch.load_trial(ROOT / "examples" / "trials" / "NCT05621486.elig")
    con = duckdb.connect()
    run, results = row_engine_run(con, trial, patients, AS_OF)
    pop = Population(DuckDBBackend(con), AS_OF, [run])
    att = pop.attrition()
    # patients passing every step whose only open criteria are the investigator's
    pending = sum(1 for r in results if r.verdict.value == "match" and r.review)
    assert att.steps[-1].pending_review == pending
    order = [c.id for c in trial.criteria][::-1]
    rev = pop.attrition(order=order)
    assert [s.criterion for s in rev.steps] == order
    assert (rev.steps[-1].passing, rev.steps[-1].excluded) == (att.steps[-1].passing, att.steps[-1].excluded)
    with pytest.raises(PopulationError, match="each general criterion"):
        pop.attrition(order=order[1:])


@pytest.mark.parametrize("name", ["NCT07301164", "CT1192-SLE"])
def test_tiers_and_rows_follow_the_row_engine(patients, name):
    trial = eligimatch.load_trial(ROOT / "examples" / "trials" / f"{name}.elig")
    con = duckdb.connect()
    run, results = row_engine_run(con, trial, patients, AS_OF)
    pop = Population(DuckDBBackend(con), AS_OF, [run])
    tiers = pop.tiers()[run.label]
    # the row engine's tiers (screening._ranking) without the disease probes: unlikely = an exception pending
    unlikely = [r for r in results if r.verdict.value != "no_match" and r.excluded_unless]
    rest = [r for r in results if not (r.verdict.value != "no_match" and r.excluded_unless)]
    assert tiers["unlikely"] == len(unlikely)
    assert tiers["eligible"] == sum(1 for r in rest if r.verdict.value == "match" and not r.review)
    assert tiers["eligible_pending_review"] == sum(1 for r in rest if r.verdict.value == "match" and r.review)
    assert tiers["possible"] == sum(1 for r in rest if r.verdict.value == "unknown")
    assert tiers["not_eligible"] == sum(1 for r in results if r.verdict.value == "no_match")
    by_patient = {res.patient_id: res for res in results}
    rows = list(pop.rows())
    assert len(rows) == len(patients)
    for row in rows:
        res = by_patient[row["patient"]]
        assert row["verdict"] == res.verdict.value and row["trial"] == run.label
        split = {k: set(filter(None, row[k].split(";"))) for k in ("met", "not_met", "unknown", "review")}
        assert split["met"] == {c.id for c in res.criteria if c.met is True}
        assert split["not_met"] == {c.id for c in res.criteria if c.met is False}
        assert split["review"] == {c.id for c in res.criteria if review_only(c)}
        assert split["unknown"] == {c.id for c in res.criteria if c.met is None and not review_only(c)}
        assert set(filter(None, row["matched_cohorts"].split(";"))) == set(res.matched_cohorts)


def test_write_rows_as_csv_and_parquet(tmp_path, patients):
    trial = eligimatch.load_trial(ROOT / "examples" / "trials" / "NCT03754764.elig")
    con = duckdb.connect()
    run, results = row_engine_run(con, trial, patients[:40], AS_OF)
    pop = Population(DuckDBBackend(con), AS_OF, [run])
    for name in ("rows.csv", "rows.parquet"):
        assert pop.write(tmp_path / name) == 40
        back = duckdb.connect().execute(f"SELECT patient, verdict, not_met FROM '{tmp_path / name}' "
                                        f"ORDER BY patient").fetchall()
        assert [(r[0], r[1]) for r in back] == sorted((r.patient_id, r.verdict.value) for r in results)
    assert not list(tmp_path.glob(".*partial"))
    with pytest.raises(PopulationError, match="parquet or .csv"):
        pop.write(tmp_path / "rows.txt")


def test_charts(tmp_path, patients):
    trial = eligimatch.load_trial(ROOT / "examples" / "trials" / "NCT06350110.elig")
    con = duckdb.connect()
    run, _ = row_engine_run(con, trial, patients, AS_OF)
    att = Population(DuckDBBackend(con), AS_OF, [run]).attrition()
    page = att.html()
    assert page.startswith("<!doctype html>") and "<svg" in page
    for s in att.steps:
        assert f"<td>{s.criterion}</td>" in page and f"{s.passing:,}" in page
    pytest.importorskip("matplotlib", reason="the chart extra (matplotlib) is not installed")
    png = tmp_path / "w.png"
    att.png(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
