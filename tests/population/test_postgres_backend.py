"""PostgreSQL, a real server (Debian's ``postgresql``, started by the ``postgres_conninfo`` fixture):
the canonical tables written there are the DuckDB ones exactly, SQL's three-valued logic there is
eligimatch's Kleene logic, and the population backend runs its queries there.

The agreement of compiled trials with the row engine on PostgreSQL is in test_population_sql.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

import eligimatch
from eligimatch.logic import Truth, t_and, t_not, t_or
from eligimatch.sql import TABLES, PostgresBackend, copy_to_postgres, write_duckdb, write_postgres

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import generate

_SQL = {Truth.TRUE: "TRUE", Truth.FALSE: "FALSE", Truth.UNKNOWN: "CAST(NULL AS BOOLEAN)"}
_BACK = {True: Truth.TRUE, False: Truth.FALSE, None: Truth.UNKNOWN}


def _patients():
    examples = [eligimatch.load_patient(p.read_text()) for p in sorted((ROOT / "examples" / "patients").glob("*.json"))]
    return examples + generate.patients(120, seed=11)


def test_sql_null_is_kleene_unknown_on_postgres(pg):
    values = list(Truth)
    for a, b in itertools.product(values, values):
        row = pg.execute(f"SELECT {_SQL[a]} AND {_SQL[b]}, {_SQL[a]} OR {_SQL[b]}, NOT {_SQL[a]}").fetchone()
        assert [_BACK[v] for v in row] == [t_and(a, b), t_or(a, b), t_not(a)], (a, b)


def test_canonical_tables_in_postgres_are_the_duckdb_ones_exactly(pg):
    patients = _patients()
    counts = write_postgres(pg, patients)
    duck = duckdb.connect()
    assert write_duckdb(duck, patients) == counts
    for t in TABLES:
        cols = ", ".join(c.name for c in t.columns)
        want = sorted(duck.execute(f"SELECT {cols} FROM {t.name}").fetchall(), key=repr)
        got = sorted(pg.execute(f"SELECT {cols} FROM {t.name}").fetchall(), key=repr)
        assert got == want, t.name  # dates, times, doubles to the last bit, NULL apart from ''
    assert counts["observations"] > 1000
    # copying again into another schema, from DuckDB, replaces nothing it should not
    again = copy_to_postgres(duck, pg, schema="copy2", replace=True)
    assert again == counts
    assert pg.execute("SELECT count(*) FROM copy2.patients").fetchone()[0] == len(patients)


def test_empty_text_and_null_stay_apart(pg):
    from eligimatch.sql import ddl

    duck = duckdb.connect()
    for stmt in ddl("duckdb"):
        duck.execute(stmt)
    duck.execute("INSERT INTO patients (patient_id, sex, complete_conditions, complete_therapies, "
                 "complete_procedures, complete_studies) VALUES ('a', '', TRUE, FALSE, TRUE, FALSE), "
                 "('b', NULL, FALSE, FALSE, FALSE, FALSE), ('c', '\\N', TRUE, TRUE, TRUE, TRUE), "
                 "('d,\"e', 'x\ny', FALSE, TRUE, FALSE, TRUE)")
    copy_to_postgres(duck, pg)
    got = pg.execute("SELECT patient_id, sex, complete_conditions FROM patients ORDER BY 1").fetchall()
    assert got == [("a", "", True), ("b", None, False), ("c", "\\N", True), ('d,"e', "x\ny", False)]


def test_postgres_backend_materializes_streams_and_exports(pg, tmp_path):
    write_postgres(pg, _patients())
    b = PostgresBackend(pg)
    b.materialize("em_t", "SELECT patient_id, sex FROM patients")
    n = b.rows("SELECT count(*) FROM em_t")[0][0]
    assert n == len(_patients())
    assert sum(1 for _ in b.iter_rows("SELECT * FROM em_t", batch=7)) == n
    assert b.export("SELECT patient_id, sex FROM em_t ORDER BY 1", ("patient_id", "sex"), tmp_path / "a.csv", "csv") == n
    assert b.export("SELECT patient_id, sex FROM em_t ORDER BY 1", ("patient_id", "sex"), tmp_path / "a.parquet",
                    "parquet") == n
    back = duckdb.connect().execute(f"SELECT count(*), count(DISTINCT patient_id) FROM '{tmp_path / 'a.parquet'}'")
    assert back.fetchone() == (n, n)
    b.drop("em_t")
    assert b.rows("SELECT to_regclass('em_t')")[0][0] is None


def test_dates_survive(pg):
    p = eligimatch.load_patient('{"id": "d1", "birth_date": "1961-07", "anchors": {"screening": "2026-02-28"}}')
    write_postgres(pg, [p])
    assert pg.execute("SELECT birth_earliest, birth_latest, birth_precision FROM patients").fetchone() == (
        dt.date(1961, 7, 1), dt.date(1961, 7, 31), "month")


def test_a_query_with_common_table_expressions_runs_in_analysed_steps(pg):
    """PostgresBackend runs a compiled trial's query in steps (eligimatch.sql._staged): each CTE a TEMP table,
    analysed, then the rest -- the same rows as the query in one piece, and no step table left behind."""
    from eligimatch.sql import compile_sql, prepare
    from eligimatch.sql._staged import split

    patients = _patients()
    write_postgres(pg, patients)
    b = PostgresBackend(pg)
    trial = eligimatch.load_trial(ROOT / "examples" / "trials" / "NCT07301164.elig")
    st = compile_sql(trial, "postgres", strict=False)
    as_of = dt.date(2026, 3, 1)
    prepare(b, st, as_of)
    query = st.query(as_of)
    steps, rest = split(query)
    assert len(steps) > 10 and "WITH" not in rest.upper().split("SELECT")[0]
    with pg.cursor() as cur:
        cur.execute(query + " ORDER BY patient_id")
        whole = cur.fetchall()
    bystander = steps[-1][0]  # a table of the database bearing a step's name is neither read nor dropped
    pg.execute(f"CREATE TABLE {bystander} (kept TEXT)")
    pg.execute(f"INSERT INTO {bystander} VALUES ('mine')")
    jit = b.rows("SELECT current_setting('jit')")
    b.materialize("em_staged", query)
    assert b.rows("SELECT * FROM em_staged ORDER BY patient_id") == whole
    names, rows = b.columns(query + " ORDER BY patient_id")
    assert rows == whole and names[0] == "patient_id"
    assert len(whole) == len(patients)
    for name, _ in steps:
        assert b.rows(f"SELECT to_regclass('pg_temp.{name}')")[0][0] is None, name
    assert b.rows(f"SELECT kept FROM {bystander}") == [("mine",)]
    assert b.rows("SELECT current_setting('jit')") == jit  # off while the steps ran; the session's, restored


def test_an_error_in_a_step_is_the_error_shown(pg):
    import psycopg

    b = PostgresBackend(pg)
    with pytest.raises(psycopg.errors.UndefinedTable, match="no_such_table"):
        b.materialize("em_bad", "SELECT x FROM (WITH a AS (SELECT 1 AS x), c AS (SELECT * FROM no_such_table) "
                                "SELECT x FROM a) q")
    pg.rollback()
