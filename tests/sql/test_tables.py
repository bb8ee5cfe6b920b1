"""The canonical patient tables: documented, rendered for each dialect, written from patient profiles."""

from __future__ import annotations

import datetime as dt
import doctest
import json
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
sqlglot = pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

import eligimatch
from eligimatch import sql
from eligimatch.sql import _schema, _writer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "patients").glob("*.json"))


def _patients():
    return [eligimatch.load_patient(p.read_text()) for p in EXAMPLES]


def test_docs_describe_every_table_and_column_exactly():
    text = (ROOT / "docs" / "sql.md").read_text()
    assert _schema.schema_markdown() in text
    for t in sql.TABLES:
        assert f"### `{t.name}`" in text
        assert all(c.doc for c in t.columns), t.name


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark"])
def test_ddl_renders_and_parses_back_for_each_dialect(dialect):
    statements = sql.ddl(dialect)
    assert len(statements) == len(sql.TABLES)
    for stmt, t in zip(statements, sql.TABLES):
        tree = sqlglot.parse_one(stmt, read=dialect)
        assert tree.this.this.name == t.name
        assert [c.name for c in tree.this.expressions] == list(t.column_names)


@pytest.mark.parametrize("module", [_writer, _schema])  # the public names' examples: test_public_api.py
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_example_patients_round_trip_through_duckdb():
    patients = _patients()
    con = duckdb.connect()
    counts = sql.write_duckdb(con, patients)
    assert counts["patients"] == len(patients)
    assert counts["observations"] == sum(len(p.observations) for p in patients)
    assert counts["conditions"] == sum(len(p.conditions) for p in patients)
    assert counts["therapies"] == sum(len(p.therapies) for p in patients)
    assert counts["facts"] == sum(len(p.facts) for p in patients)
    for p in patients:
        rows = con.execute("SELECT seq, value, unit, date FROM observations WHERE patient_id = ? ORDER BY seq",
                           [p.id]).fetchall()
        assert rows == [(i, o.value, o.unit, o.date) for i, o in enumerate(p.observations)]
        (sex, c_cond, c_ther), = con.execute(
            "SELECT sex, complete_conditions, complete_therapies FROM patients WHERE patient_id = ?",
            [p.id]).fetchall()
        assert (sex, c_cond, c_ther) == (p.sex, p.complete.conditions, p.complete.therapies)
    # every table's columns are the documented ones, in order
    for t in sql.TABLES:
        cols = [r[0] for r in con.execute(f"DESCRIBE {t.name}").fetchall()]
        assert cols == list(t.column_names)


def test_partial_dates_times_and_typed_facts_are_kept():
    p = eligimatch.load_patient(json.dumps({
        "id": "x", "birth_date": "1968", "sex": "male",
        "facts": {"ecog": 1, "pregnant": False, "her2_ihc": "2+",
                  "weight_loss": {"value": 3, "unit": "kg", "date": "2026-02"}},
        "observations": [{"analyte": "anc", "value": 1.5, "unit": "10^9/L", "date": "2026-02-20",
                          "time": "18:30:00+01:00", "reference_range": {"low": 1.8, "high": 7.5}},
                         {"analyte": "not-an-analyte", "value": 1, "unit": "mg", "date": "2026-02-20"}],
        "conditions": [{"name": "lupus", "onset": "2019-04", "attributes": {"grade": 2, "symptomatic": True}}],
        "therapies": [{"classes": ["corticosteroid"], "start": "2025", "ongoing": True,
                       "dose": {"value": 10, "unit": "mg", "per_day": 1}}],
        "anchors": {"apheresis": "2026-03-10"},
    }))
    con = duckdb.connect()
    sql.write_duckdb(con, [p])
    assert con.execute("SELECT birth_earliest, birth_latest, birth_precision FROM patients").fetchall() == [
        (dt.date(1968, 1, 1), dt.date(1968, 12, 31), "year")]
    obs = con.execute("SELECT analyte_id, time, utc_offset_s, time_key_us, ref_low, ref_high FROM observations "
                      "ORDER BY seq").fetchall()
    assert obs[0] == ("anc", dt.time(18, 30), 3600, (17 * 3600 + 30 * 60) * 1_000_000, 1.8, 7.5)
    assert obs[1][0] is None  # not in the catalog: kept as recorded, never used
    facts = dict((r[0], r[1:]) for r in con.execute(
        "SELECT name, value_type, value_bool, value_number, value_text, unit, date_precision FROM facts").fetchall())
    assert facts["ecog"] == ("number", None, 1.0, None, None, None)
    assert facts["pregnant"] == ("bool", False, None, None, None, None)
    assert facts["her2_ihc"] == ("text", None, None, "2+", None, None)
    assert facts["weight_loss"] == ("number", None, 3.0, None, "kg", "month")
    assert con.execute("SELECT name, value_type, value_number, value_bool FROM record_attributes ORDER BY name"
                       ).fetchall() == [("grade", "number", 2.0, None), ("symptomatic", "bool", None, True)]
    assert con.execute("SELECT drug, drug_id, start_earliest, start_precision, ongoing, dose_value, dose_per_day "
                       "FROM therapies").fetchall() == [(None, None, dt.date(2025, 1, 1), "year", True, 10.0, 1.0)]
    assert con.execute("SELECT class FROM therapy_classes").fetchall() == [("corticosteroid",)]
    assert con.execute("SELECT name, date FROM anchors").fetchall() == [("apheresis", dt.date(2026, 3, 10))]


def test_patients_without_ids_get_keys_and_duplicates_are_refused():
    a = eligimatch.load_patient({"sex": "female"})
    con = duckdb.connect()
    sql.write_duckdb(con, [a, a])
    assert [r[0] for r in con.execute("SELECT patient_id FROM patients ORDER BY 1").fetchall()] == ["#0", "#1"]
    b = eligimatch.load_patient({"id": "same"})
    with pytest.raises(ValueError, match="two patients have the id 'same'"):
        sql.write_duckdb(duckdb.connect(), [b, b])


def test_parquet_files_hold_every_table(tmp_path):
    patients = _patients()
    paths = sql.write_parquet(tmp_path, patients)
    assert set(paths) == set(sql.TABLE_NAMES)
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_parquet('{paths['patients']}')").fetchone()[0]
    assert n == len(patients)
    empty = con.execute(f"SELECT count(*) FROM read_parquet('{paths['studies']}')").fetchone()[0]
    assert empty == 0
