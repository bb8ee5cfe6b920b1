"""Conditions (every timing, ``where``, ``except``) and procedures with ``where`` on PostgreSQL (a real
server) and Spark ``local[2]``: the same outcome as the row engine for every patient and criterion, on a
population drawn wide around the concepts (tests/condition_records.py; the DuckDB property test is
tests/sql/test_agreement_conditions.py).  Kept small: one trial, one population per backend."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from condition_records import AS_OF, population, trial_text

import eligimatch
from eligimatch.sql import compile_sql, connect_backend, disagreements, write_duckdb, write_postgres


def _case(seed: int, criteria: int, patients: int):
    r = random.Random(seed)
    trial = eligimatch.compile_trial(trial_text(r, criteria))
    assert compile_sql(trial).complete
    return trial, population(r, patients), {"diagnosis": AS_OF - dt.timedelta(days=r.randint(0, 400))}


def test_conditions_agree_on_postgres(pg):
    trial, patients, anchors = _case(7, 10, 50)
    write_postgres(pg, patients)
    backend = connect_backend(pg)
    for assume_absent in (False, True):
        found = disagreements(backend, [trial], patients, AS_OF, anchors, assume_absent=assume_absent)
        assert not found, "\n".join(str(d) for d in found[:20])


def test_conditions_agree_on_spark(spark):
    from eligimatch.spark import tables

    trial, patients, anchors = _case(8, 6, 30)
    con = duckdb.connect()
    write_duckdb(con, patients)
    tables(spark, con)
    found = disagreements(connect_backend(spark), [trial], patients, AS_OF, anchors)
    assert not found, "\n".join(str(d) for d in found[:20])
