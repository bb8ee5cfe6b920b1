"""Therapies on PostgreSQL (a real server) and Spark (``local[2]``): the therapy criteria of every timing
answer as the row engine does, on a small population drawn wide (tests/sql/therapy_population.py) -- the
record signatures and the mapping table of record kinds are built in each database's own dialect."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

import eligimatch
import eligimatch.spark
from eligimatch.sql import connect_backend, write_duckdb, write_postgres

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sql"))
from therapy_population import AS_OF, DOSE_TRIAL, THERAPY_TRIAL, differences, population


@pytest.fixture(scope="module")
def wide():
    """Therapy and dose criteria, and patients without extreme doses: PostgreSQL refuses a float8 sum that
    overflows (an error, where DuckDB and Spark give infinity as Python does)."""
    trials = [eligimatch.compile_trial(THERAPY_TRIAL), eligimatch.compile_trial(DOSE_TRIAL)]
    return trials, population(random.Random(11), 60, extreme=0.0)


def test_therapies_and_doses_agree_on_postgres(pg, wide):
    trials, patients = wide
    write_postgres(pg, patients)
    backend = connect_backend(pg)
    for trial in trials:
        for assume_absent in (False, True):
            found = differences(backend, trial, patients, AS_OF, {"screening": AS_OF}, assume_absent=assume_absent)
            assert not found, "\n".join(found[:20])


def test_therapies_and_doses_agree_on_spark(spark, wide):
    trials, patients = wide
    duck = duckdb.connect()
    write_duckdb(duck, patients)
    eligimatch.spark.tables(spark, duck)
    for trial in trials:
        found = differences(connect_backend(spark), trial, patients, AS_OF)
        assert not found, "\n".join(found[:20])
