"""An OMOP observation period proves an absence only for a person observed since birth.

``complete="observation_period"`` used to mark conditions, therapies and procedures complete whenever an
observation period covered the evaluation date, whatever its start: a person whose period began 10 days ago, with
no drug exposure recorded, then had "no therapy within 90 days" proved -- a wrong MATCH for a trial excluding
recent therapy (the therapy may have been given before the database saw the person).  The row engine
(``omop.patient`` + ``match``) and the SQL backend (the views of ``omop.create_views``, which ``screen-db``
uses) must both refuse that absence, and agree on every person; a person observed from birth keeps it.
"""

from __future__ import annotations

import datetime as dt

import pytest

import eligimatch
from eligimatch.knowledge import Catalogs

from . import eunomia as eunomia_db
from .omop_writer import write

duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'eligimatch[sql]')")
sql = pytest.importorskip("eligimatch.sql", reason="the SQL backend is not there")

CATS = Catalogs.default()
AS_OF = dt.date(2026, 3, 1)
_SOURCE = """trial "OBSERVED"
inclusion:
  - I1: age >= 18 years
exclusion:
  - E1: therapy naproxen within 90 days before enrollment
  - E2: history of osteoarthritis
  - E3: procedure wound_suture within 1 year before enrollment
"""
TRIAL = eligimatch.compile_trial(_SOURCE)

# person id -> (its observation period, what the verdict must be)
PEOPLE = {
    1: ((dt.date(2026, 2, 19), dt.date(2030, 12, 31)), "unknown"),   # observed for 10 days: nothing proved
    2: ((dt.date(1970, 5, 2), dt.date(2030, 12, 31)), "match"),    # observed since birth: absences proved
    3: ((dt.date(1970, 5, 3), dt.date(2030, 12, 31)), "unknown"),    # from the day after birth: not all of it
    4: ((dt.date(1960, 1, 1), dt.date(2025, 12, 31)), "unknown"),    # ended before the evaluation date
    5: ((dt.date(2026, 2, 19), dt.date(2030, 12, 31)), "no_match"),  # a recorded exposure still decides
}


def _database(path=None):
    patients = [eligimatch.load_patient({"id": str(pid), "birth_date": "1970-05-02", "sex": "female"})
                for pid in PEOPLE]
    con = duckdb.connect(str(path) if path is not None else ":memory:")
    write(con, patients, CATS)
    for pid, ((start, end), _) in PEOPLE.items():
        con.execute("UPDATE observation_period SET observation_period_start_date = ?, "
                    "observation_period_end_date = ? WHERE person_id = ?", (start, end, pid))
    naproxen = CATS.drugs.resolve("naproxen")
    cid = 3_000_001  # a made-up concept id (omop_writer numbers its own from 2,000,001)
    con.execute("INSERT INTO concept VALUES (?, 'naproxen', 'Drug', 'RxNorm', 'Ingredient', 'S', ?)",
                (cid, naproxen.rxnorm[0]))
    con.execute("INSERT INTO drug_exposure VALUES (900, 5, ?, DATE '2026-02-25', DATE '2026-02-27', 0, 'naproxen', "
                "NULL)", (cid,))
    return con


def _row_engine(con, pid, complete="observation_period"):
    imported = eligimatch.omop.patient(con, pid, AS_OF, complete=complete, catalogs=CATS)
    return imported, eligimatch.match(imported.patient, TRIAL, as_of=AS_OF)


def test_a_short_observation_period_proves_no_absence_in_the_row_engine():
    con = _database()
    for pid, (_, verdict) in PEOPLE.items():
        imported, result = _row_engine(con, pid)
        assert result.verdict.value == verdict, (pid, result.verdict.value)
    imported, result = _row_engine(con, 1)
    assert not (imported.patient.complete.therapies or imported.patient.complete.conditions
                or imported.patient.complete.procedures)
    assert "before its start may be missing" in imported.report.text()
    e1 = next(c for c in result.criteria if c.id == "E1")
    assert e1.outcome.value == "unknown"
    imported, _ = _row_engine(con, 2)
    c = imported.patient.complete
    assert c.therapies and c.conditions and c.procedures and not c.studies


def test_the_sql_backend_agrees_on_every_person():
    con = _database()
    eligimatch.omop.create_views(con, as_of=AS_OF, complete="observation_period", catalogs=CATS)
    patients = [_row_engine(con, pid)[0].patient for pid in PEOPLE]
    assert sql.disagreements(con, [TRIAL], patients, AS_OF) == []
    rows = {r["patient_id"]: r["verdict"] for r in sql.run(con, sql.compile_sql(TRIAL, "duckdb"), AS_OF)}
    assert rows == {str(pid): verdict for pid, (_, verdict) in PEOPLE.items()}


def _screened(path, complete):
    with sql.open_database(path, as_of=AS_OF, complete=complete) as db, \
            sql.screen_population(db.backend, [TRIAL], as_of=AS_OF) as pop:
        return dict(pop.backend.rows(f"SELECT patient_id, verdict FROM {pop.runs[0].table}"))


def test_screen_db_reads_the_observation_periods(tmp_path):
    path = tmp_path / "cdm.duckdb"
    _database(path).close()
    verdicts = _screened(path, "observation_period")
    assert verdicts == {str(pid): verdict for pid, (_, verdict) in PEOPLE.items()}
    verdicts = _screened(path, None)  # the default claims nothing: every absence unproved
    assert verdicts == {str(pid): "no_match" if pid == 5 else "unknown" for pid in PEOPLE}


def test_eunomia_persons_observed_after_birth_are_not_complete(tmp_path):
    con = eunomia_db.connect(tmp_path)
    as_of = dt.date(2005, 1, 1)
    eligimatch.omop.create_views(con, as_of=as_of, complete="observation_period")
    from_birth = ("EXISTS (SELECT 1 FROM observation_period op JOIN person pe ON pe.person_id = op.person_id "
                  "WHERE CAST(op.person_id AS VARCHAR) = p.patient_id AND op.observation_period_start_date <= "
                  "make_date(pe.year_of_birth, pe.month_of_birth, pe.day_of_birth) AND "
                  "op.observation_period_end_date >= DATE '2005-01-01')")
    any_complete = "(p.complete_conditions OR p.complete_therapies OR p.complete_procedures)"
    late = [r[0] for r in con.execute(f"SELECT patient_id FROM patients p WHERE NOT {from_birth} "
                                      "ORDER BY patient_id").fetchall()]
    early = [r[0] for r in con.execute(f"SELECT patient_id FROM patients p WHERE {from_birth} AND {any_complete} "
                                       "ORDER BY patient_id").fetchall()]
    assert len(late) > 100 and len(early) > 10
    assert con.execute(f"SELECT count(*) FROM patients p WHERE NOT {from_birth} AND {any_complete}").fetchone()[0] == 0
    trial = eligimatch.compile_trial('trial "EU"\ninclusion:\n  - I1: age >= 0 years\nexclusion:\n'
                                     '  - E1: therapy naproxen within 30 days before enrollment\n'
                                     '  - E2: history of osteoarthritis\n'
                                     '  - E3: procedure wound_suture within 1 year before enrollment\n')
    ids = late[:15] + early[:15]
    patients = [eligimatch.omop.patient(con, int(pid), as_of, complete="observation_period").patient for pid in ids]
    for pid, p in zip(ids, patients):
        c = p.complete
        assert (c.conditions or c.therapies or c.procedures) == (pid in early), pid
    assert sql.disagreements(con, [trial], patients, as_of, strict=False) == []


def test_screen_db_cli_takes_the_claim(tmp_path, capsys):
    import json

    from eligimatch.cli import main

    path, trial = tmp_path / "cdm.duckdb", tmp_path / "observed.elig"
    _database(path).close()
    trial.write_text(_SOURCE, encoding="utf-8")
    counts = {}
    for extra in ((), ("--complete", "observation_period")):
        assert main(["screen-db", str(path), str(trial), "--as-of", AS_OF.isoformat(), "--json", *extra]) == 0
        counts[extra] = json.loads(capsys.readouterr().out)["counts"]["OBSERVED"]
    assert counts[()] == {"match": 0, "no_match": 1, "unknown": 4}
    assert counts[("--complete", "observation_period")] == {"match": 1, "no_match": 1, "unknown": 3}
