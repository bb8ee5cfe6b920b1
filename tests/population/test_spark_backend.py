"""Spark (``local[2]``, one session for the module): the canonical tables as Spark views are the DuckDB
ones, SQL's three-valued logic there is eligimatch's Kleene logic, and the population backend runs
there.  Kept small: a Spark session takes seconds to start on two cores.

The agreement of compiled trials with the row engine on Spark is in test_population_sql.py.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

import eligimatch
from eligimatch.logic import Truth, t_and, t_not, t_or
from eligimatch.spark import tables as spark_tables
from eligimatch.sql import TABLES, SparkBackend, connect_backend, write_duckdb, write_parquet

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import generate

_SQL = {Truth.TRUE: "TRUE", Truth.FALSE: "FALSE", Truth.UNKNOWN: "CAST(NULL AS BOOLEAN)"}
_BACK = {True: Truth.TRUE, False: Truth.FALSE, None: Truth.UNKNOWN}


def test_sql_null_is_kleene_unknown_on_spark(spark):
    values = list(Truth)
    selects = " UNION ALL ".join(
        f"SELECT {i} AS k, {_SQL[a]} AND {_SQL[b]} AS x, {_SQL[a]} OR {_SQL[b]} AS y, NOT {_SQL[a]} AS z"
        for i, (a, b) in enumerate(itertools.product(values, values)))
    rows = sorted(tuple(r) for r in spark.sql(selects).collect())
    for (k, x, y, z), (a, b) in zip(rows, itertools.product(values, values)):
        assert [_BACK[x], _BACK[y], _BACK[z]] == [t_and(a, b), t_or(a, b), t_not(a)], (a, b)


def test_canonical_tables_as_spark_views_are_the_duckdb_ones(spark, tmp_path):
    patients = [eligimatch.load_patient(p.read_text())
                for p in sorted((ROOT / "examples" / "patients").glob("*.json"))] + generate.patients(60, seed=5)
    duck = duckdb.connect()
    write_duckdb(duck, patients)
    frames = spark_tables(spark, duck, staging=tmp_path / "staged")
    assert set(frames) == {t.name for t in TABLES}
    for t in TABLES:
        cols = [c.name for c in t.columns if c.type != "TIME"]  # TIME is text on Spark (see _spark.py)
        want = sorted(duck.execute(f"SELECT {', '.join(cols)} FROM {t.name}").fetchall(), key=repr)
        got = sorted((tuple(r) for r in spark.sql(f"SELECT {', '.join(cols)} FROM {t.name}").collect()), key=repr)
        assert got == want, t.name
    # the same from a folder of Parquet files as write_parquet writes them, under a prefix
    folder = tmp_path / "parquet"
    write_parquet(folder, patients[:10])
    spark_tables(spark, str(folder), prefix="p10_")
    assert spark.sql("SELECT count(*) FROM p10_patients").collect()[0][0] == 10


def test_spark_backend_materializes_and_exports(spark, tmp_path):
    b = connect_backend(spark)
    assert isinstance(b, SparkBackend) and b.dialect == "spark"
    b.materialize("em_s", "SELECT id AS patient_id, id % 3 AS k FROM range(25)")
    assert b.rows("SELECT count(*) FROM em_s") == [(25,)]
    assert b.export("SELECT patient_id, k FROM em_s ORDER BY patient_id", ("patient_id", "k"),
                    tmp_path / "s.parquet", "parquet") == 25
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{tmp_path / 's.parquet'}'").fetchone() == (25,)
    b.drop("em_s")
    assert not spark.catalog.tableExists("em_s")
