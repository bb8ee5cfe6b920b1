"""OMOP CDM on PostgreSQL: omop.patient and the canonical views (create_views) on a real server, with the CDM
tables in a schema of their own; a person's rows in the views are the records omop.patient maps.

The server is the throw-away one of the population tests (tests/population/pgserver.py: Debian's ``postgresql``
package, or ``ELIGIMATCH_TEST_POSTGRES``); skipped when it cannot be had, failed in CI (``CI`` set)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import pytest

import eligimatch
from eligimatch.knowledge._catalogs import Catalogs

from .omop_writer import project, write
from .test_omop_views import _from_patient, _from_views

duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'eligimatch[sql]')")
ROOT = Path(__file__).resolve().parents[2] / "examples"
PGSERVER = Path(__file__).resolve().parents[1] / "population"
CATS = Catalogs.default()
_TYPES = {"BIGINT": "BIGINT", "INTEGER": "INTEGER", "VARCHAR": "TEXT", "DATE": "DATE", "DOUBLE": "DOUBLE PRECISION"}


@pytest.fixture(scope="module")
def cdm():
    """A PostgreSQL connection whose schema ``cdm`` holds the example patients as OMOP tables."""
    if not (PGSERVER / "pgserver.py").exists():
        pytest.skip("the PostgreSQL test server (tests/population/pgserver.py) is not there")
    sys.path.insert(0, str(PGSERVER))
    try:
        from pgserver import PostgresServer, unavailable
    finally:
        sys.path.remove(str(PGSERVER))
    reason = unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs this: {reason}")
        pytest.skip(reason)
    import psycopg

    patients = [project(eligimatch.load_patient(p.read_text(encoding="utf-8")), CATS)
                for p in sorted((ROOT / "patients").glob("*.json"))]
    local = duckdb.connect()
    write(local, patients, CATS, period=(dt.date(2000, 1, 1), dt.date(2030, 12, 31)))
    with PostgresServer.start() as server:
        con = psycopg.connect(server.conninfo, autocommit=True)
        con.execute("CREATE SCHEMA cdm")
        tables = local.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
        for (table,) in tables.fetchall():
            cols = local.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                                 "ORDER BY ordinal_position", [table]).fetchall()
            con.execute(f"CREATE TABLE cdm.{table} ({', '.join(f'{c} {_TYPES[t]}' for c, t in cols)})")
            rows = local.execute(f"SELECT * FROM {table}").fetchall()
            if rows:
                with con.cursor() as cur:
                    cur.executemany(f"INSERT INTO cdm.{table} VALUES ({', '.join(['%s'] * len(cols))})", rows)
        yield con, len(patients)
        con.close()


class _Qmark:
    """The views' comparison helper writes ``?``; psycopg wants ``%s``."""

    def __init__(self, con):
        self.con = con

    def execute(self, sql, params):
        return self.con.execute(sql.replace("?", "%s"), params)


def test_omop_on_postgresql(cdm):
    con, n = cdm
    assert eligimatch.omop.is_omop(con, schema="cdm") and not eligimatch.omop.is_omop(con)
    eligimatch.omop.create_views(con, as_of="2026-03-01", schema="cdm", complete="observation_period",
                                 catalogs=CATS)
    for pid in range(1, n + 1):
        imp = eligimatch.omop.patient(con, pid, "2026-03-01", schema="cdm", complete="observation_period",
                                      catalogs=CATS)
        assert not imp.report.by_outcome("unmapped"), imp.report.text()
        assert _from_views(_Qmark(con), str(pid)) == _from_patient(imp.patient), pid
