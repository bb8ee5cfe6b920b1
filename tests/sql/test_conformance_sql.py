"""The conformance suite (tests/conformance/*.toml) on the SQL backend: every case whose criterion the backend
expresses gives, on DuckDB, the outcome the case expects -- the row engine's, which tests/test_conformance.py
checks.  A case the backend does not express is skipped and counted; a test below requires the condition and
procedure cases to be expressed (and so run here)."""

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


def _sql_outcome(case: dict) -> str | None:
    """The SQL backend's outcome for the case, or None when it does not express the criterion."""
    trial = _trial(case)
    st = compile_sql(trial, strict=False, assume_absent=case.get("assume_absent", False))
    if not st.complete:
        return None
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
    if got is None:
        pytest.skip("not expressed on the SQL backend")
    assert got == case["outcome"], case["criterion"]


def _is_history(case: dict) -> bool:
    words = case["criterion"].split()
    return bool({"condition", "history", "procedure"} & set(words)) and not {
        "therapy", "dose", "washout", "ongoing"} & set(words)


def test_condition_and_procedure_cases_are_expressed():
    """The condition and procedure cases run above, none skipped as not expressed."""
    refused = []
    for param in _cases():
        case = param.values[0]
        if not _is_history(case):
            continue
        try:
            if _sql_outcome(case) is None:
                refused.append(case["name"])
        except PatientDataError:
            continue
    assert not refused, refused
