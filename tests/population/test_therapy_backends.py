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
from therapy_population import AS_OF, THERAPY_TRIAL, differences, population


@pytest.fixture(scope="module")
def wide():
    return eligimatch.compile_trial(THERAPY_TRIAL), population(random.Random(11), 60)


def test_therapies_agree_on_postgres(pg, wide):
    trial, patients = wide
    write_postgres(pg, patients)
    backend = connect_backend(pg)
    for assume_absent in (False, True):
        found = differences(backend, trial, patients, AS_OF, {"screening": AS_OF}, assume_absent=assume_absent)
        assert not found, "\n".join(found[:20])


def test_therapies_agree_on_spark(spark, wide, tmp_path):
    trial, patients = wide
    duck = duckdb.connect()
    write_duckdb(duck, patients)
    eligimatch.spark.tables(spark, duck)
    found = differences(connect_backend(spark), trial, patients, AS_OF)
    assert not found, "\n".join(found[:20])
