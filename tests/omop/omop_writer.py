"""A small OMOP CDM v5.4 writer for tests: eligimatch patients -> OMOP rows in DuckDB, with a tiny vocabulary.

:func:`project` is what an OMOP database can carry of a patient (docs/omop.md, "Limits"): the profile reduced to
it.  :func:`write` writes profiles (projected or not) into the CDM tables person, observation_period, measurement,
observation, condition_occurrence, drug_exposure, procedure_occurrence and the vocabulary tables concept,
concept_ancestor, concept_relationship.  The vocabulary holds only the concepts the patients use, with made-up
concept ids: LOINC codes of the analytes, UCUM units (concept_code as recorded), the conditions' and procedures'
own codes (or a local concept named as the record when it has no code), RxNorm ingredients of the drugs, SNOMED CT
routes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eligimatch.knowledge._dates import PartialDate
from eligimatch.sources._codes import ROUTES
from eligimatch.sources._patient import Condition, Observation, Patient, Procedure, Therapy

OMOP_VOCAB = {"SNOMED": "SNOMED", "ICD10CM": "ICD10CM", "LOINC": "LOINC", "RXNORM": "RxNorm", "CPT": "CPT4",
              "UCUM": "UCUM"}
_ROUTE_CODES = {v: k for k, v in ROUTES.items()}
CARRIED_FACTS = ("ecog", "karnofsky", "pregnant")

DDL = """
CREATE TABLE person (person_id BIGINT, gender_concept_id INTEGER, year_of_birth INTEGER, month_of_birth INTEGER,
  day_of_birth INTEGER, person_source_value VARCHAR);
CREATE TABLE observation_period (observation_period_id BIGINT, person_id BIGINT, observation_period_start_date DATE,
  observation_period_end_date DATE, period_type_concept_id INTEGER);
CREATE TABLE measurement (measurement_id BIGINT, person_id BIGINT, measurement_concept_id INTEGER,
  measurement_date DATE, measurement_time VARCHAR, operator_concept_id INTEGER, value_as_number DOUBLE,
  value_as_concept_id INTEGER, unit_concept_id INTEGER, range_low DOUBLE, range_high DOUBLE,
  measurement_source_value VARCHAR, measurement_source_concept_id INTEGER, unit_source_value VARCHAR);
CREATE TABLE observation (observation_id BIGINT, person_id BIGINT, observation_concept_id INTEGER,
  observation_date DATE, value_as_number DOUBLE, value_as_string VARCHAR, value_as_concept_id INTEGER,
  unit_concept_id INTEGER, observation_source_value VARCHAR, observation_source_concept_id INTEGER);
CREATE TABLE condition_occurrence (condition_occurrence_id BIGINT, person_id BIGINT, condition_concept_id INTEGER,
  condition_start_date DATE, condition_end_date DATE, condition_source_value VARCHAR,
  condition_source_concept_id INTEGER);
CREATE TABLE drug_exposure (drug_exposure_id BIGINT, person_id BIGINT, drug_concept_id INTEGER,
  drug_exposure_start_date DATE, drug_exposure_end_date DATE, route_concept_id INTEGER, drug_source_value VARCHAR,
  drug_source_concept_id INTEGER);
CREATE TABLE procedure_occurrence (procedure_occurrence_id BIGINT, person_id BIGINT, procedure_concept_id INTEGER,
  procedure_date DATE, procedure_source_value VARCHAR, procedure_source_concept_id INTEGER);
CREATE TABLE death (person_id BIGINT, death_date DATE);
CREATE TABLE concept (concept_id INTEGER, concept_name VARCHAR, domain_id VARCHAR, vocabulary_id VARCHAR,
  concept_class_id VARCHAR, standard_concept VARCHAR, concept_code VARCHAR);
CREATE TABLE concept_ancestor (ancestor_concept_id INTEGER, descendant_concept_id INTEGER,
  min_levels_of_separation INTEGER, max_levels_of_separation INTEGER);
CREATE TABLE concept_relationship (concept_id_1 INTEGER, concept_id_2 INTEGER, relationship_id VARCHAR,
  invalid_reason VARCHAR);
"""


def _day(d: Any, last: bool = False) -> dt.date | None:
    """A full date for a possibly partial one: its first day (its last with ``last``)."""
    if d is None or isinstance(d, dt.date):
        return d
    if isinstance(d, PartialDate):
        return d.latest if last else d.earliest
    p = PartialDate.parse(str(d))
    return p.latest if last else p.earliest


def project(patient: Patient, catalogs: Any) -> Patient:
    """The patient as an OMOP CDM database can carry it (see the module docstring and docs/omop.md)."""
    facts = {k: v for k, v in patient.facts.items() if k in CARRIED_FACTS}
    observations = []
    for o in patient.observations:
        a = catalogs.analytes.resolve(o.analyte)
        if a is None or (not a.loinc and a.kind != "score"):
            continue  # no LOINC code: a lab cannot be named in OMOP (a score is found by its name)
        rr = o.reference_range if o.reference_range is None or o.reference_range.unit in (None, o.unit) else None
        if rr is not None:
            rr = rr.model_copy(update={"unit": None})
        observations.append(Observation(analyte=a.id, value=o.value, unit=o.unit, date=o.date, reference_range=rr))
    conditions = [Condition(name=c.name, code=c.code, onset=_day(c.onset), end=_day(c.end, last=True))
                  for c in patient.conditions]
    therapies = []
    for t in patient.therapies:
        d = catalogs.drugs.resolve(t.drug) if t.drug else None
        if d is None or not getattr(d, "rxnorm", ()):
            continue  # a class, or a drug without an RxNorm code: no drug concept to write
        therapies.append(Therapy(drug=d.id, start=_day(t.start), end=_day(t.end, last=True),
                                 route=t.route if t.route in _ROUTE_CODES else None))
    procedures = [Procedure(name=p.name, code=p.code, date=_day(p.date)) for p in patient.procedures]
    return Patient(id=patient.id, birth_date=patient.birth_date, sex=patient.sex, facts=facts,
                   observations=tuple(observations), conditions=tuple(conditions), therapies=tuple(therapies),
                   procedures=tuple(procedures), complete=patient.complete)


class _Vocabulary:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple] = {}

    def concept(self, vocabulary: str, code: str, name: str, domain: str = "", cls: str = "",
                standard: str | None = "S") -> int:
        key = (vocabulary, code)
        if key not in self.rows:
            cid = 2_000_000 + len(self.rows) + 1
            self.rows[key] = (cid, name, domain, vocabulary, cls, standard, code)
        return int(self.rows[key][0])


def _coded(vocab: _Vocabulary, code: str | None, name: str | None, domain: str) -> int:
    if code and ":" in code:
        system, value = code.split(":", 1)
        if system in OMOP_VOCAB:
            return vocab.concept(OMOP_VOCAB[system], value, name or value, domain)
    return vocab.concept("eligimatch", f"{domain}:{name}", name or "", domain, standard=None)


def write(con: Any, patients: list[Patient], catalogs: Any, *,
          period: tuple[dt.date, dt.date] | None = None) -> list[int]:
    """Write ``patients`` into OMOP CDM tables in the DuckDB connection; their person_ids (1, 2, ...).
    ``period`` is each person's observation period (default: 1900-01-01 to 2100-12-31)."""
    con.execute(DDL)
    vocab = _Vocabulary()
    rows: dict[str, list[tuple]] = {t: [] for t in ("person", "observation_period", "measurement", "observation",
                                                    "condition_occurrence", "drug_exposure", "procedure_occurrence")}
    start, end = period or (dt.date(1900, 1, 1), dt.date(2100, 12, 31))
    n = 0
    ids = []
    for pid, p in enumerate(patients, 1):
        ids.append(pid)
        b = p.birth_date
        y = m = d = None
        if isinstance(b, dt.date):
            y, m, d = b.year, b.month, b.day
        elif b is not None:
            y = b.earliest.year
            m = b.earliest.month if b.earliest.month == b.latest.month else None
        rows["person"].append((pid, {"male": 8507, "female": 8532}.get(p.sex or "", 0), y, m, d, p.id))
        rows["observation_period"].append((pid, pid, start, end, 32817))
        for o in p.observations:
            a = catalogs.analytes.resolve(o.analyte)
            n += 1
            cid = (vocab.concept("LOINC", a.loinc[0], a.name, "Measurement") if a.loinc else
                   vocab.concept("eligimatch", f"Measurement:{a.name}", a.name, "Measurement", standard=None))
            uid = vocab.concept("UCUM", o.unit, o.unit, "Unit") if o.unit else 0
            rr = o.reference_range
            rows["measurement"].append((n, pid, cid, o.date, None, 4172703, o.value, None, uid,
                                        rr.low if rr else None, rr.high if rr else None, o.analyte, None, o.unit))
        for name, v in p.facts.items():
            value = v.value if hasattr(v, "value") else v
            date = _day(getattr(v, "date", None))
            n += 1
            if name == "pregnant":
                answer = vocab.concept("LOINC", "LA15173-0" if value else "LA26683-5",
                                       "Pregnant" if value else "Not pregnant", "Meas Value")
                rows["observation"].append((n, pid, vocab.concept("LOINC", "82810-3", "Pregnancy status",
                                                                  "Observation"), date, None, None, answer, 0,
                                            name, None))
            elif name in ("ecog", "karnofsky"):
                code = "89247-1" if name == "ecog" else "89243-0"
                rows["measurement"].append((n, pid, vocab.concept("LOINC", code, name, "Measurement"), date, None,
                                            4172703, float(value), None, 0, None, None, name, None, None))
        for c in p.conditions:
            n += 1
            rows["condition_occurrence"].append((n, pid, _coded(vocab, c.code, c.name, "Condition"), _day(c.onset),
                                                 _day(c.end, last=True), c.name or c.code, None))
        for t in p.therapies:
            drug = catalogs.drugs.resolve(t.drug)
            n += 1
            cid = vocab.concept("RxNorm", drug.rxnorm[0], drug.name, "Drug", "Ingredient")
            route = vocab.concept("SNOMED", _ROUTE_CODES[t.route], t.route, "Route") if t.route else 0
            rows["drug_exposure"].append((n, pid, cid, _day(t.start), _day(t.end, last=True), route, t.drug, None))
        for pr in p.procedures:
            n += 1
            rows["procedure_occurrence"].append((n, pid, _coded(vocab, pr.code, pr.name, "Procedure"), _day(pr.date),
                                                 pr.name or pr.code, None))
    for table, values in rows.items():
        if values:
            marks = ", ".join("?" * len(values[0]))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
    if vocab.rows:
        con.executemany("INSERT INTO concept VALUES (?, ?, ?, ?, ?, ?, ?)", list(vocab.rows.values()))
    return ids
