"""The conformance suite (tests/conformance/*.toml) on the SQL backend: every case gives, on DuckDB, the
outcome the case expects -- the row engine's, which tests/test_conformance.py checks.  Every criterion of the
suite is expressed: the case compiles strictly (a criterion the backend could not express would raise
:class:`~eligimatch.errors.SqlNotExpressibleError` and fail the case, never be skipped)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

import eligimatch
from eligimatch.errors import PatientDataError
from eligimatch.sql import compile_sql, run, write_duckdb

HERE = Path(__file__).resolve().parent.parent / "conformance"
_OUTCOME = {True: "true", False: "false", None: "unknown"}


def _cases():
    for path in sorted(HERE.glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8")).get("case", []):
            if "error" not in case:
                yield pytest.param(case, id=f"{path.stem}:{case['name']}")


def _trial(case: dict):
    header = case.get("header", "")
    kind = case.get("kind", "inclusion")
    return eligimatch.compile_trial(f"{header}\n{kind}:\n  - C1 \"{case['name']}\":\n      {case['criterion']}\n")


def _sql_outcome(case: dict) -> str:
    """The SQL backend's outcome for the case (strict compilation: raises when a criterion is not expressed)."""
    trial = _trial(case)
    st = compile_sql(trial, assume_absent=case.get("assume_absent", False))
    assert st.complete and not st.unsupported
    patient = eligimatch.load_patient(case.get("patient", "{}"))
    con = duckdb.connect()
    write_duckdb(con, [patient])
    anchors = {k: dt.date.fromisoformat(v) for k, v in case.get("anchors", {}).items()}
    (row,) = run(con, st, dt.date.fromisoformat(case["as_of"]), anchors)
    return _OUTCOME[row["C1"]]


@pytest.mark.parametrize("case", list(_cases()))
def test_conformance_case_on_sql(case):
    try:
        got = _sql_outcome(case)
    except PatientDataError:
        pytest.skip("the case's patient is refused by the patient model (a test of the input, not of SQL)")
    assert got == case["outcome"], case["criterion"]
