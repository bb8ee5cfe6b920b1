"""One OMOP CDM person as an eligimatch profile, with a mapping report (docs/omop.md).

Every row read appears in the report (``measurement 1234: ...``): mapped (and where to), skipped, not mapped or
rejected, and why.  The catalogs are reached through the shared mapping core (:mod:`eligimatch.sources._resolve`)
with the database's own vocabulary as the terminology (:class:`~eligimatch.knowledge._terminology.OmopVocabulary`):
a SNOMED CT condition resolves through CONCEPT_ANCESTOR to the nearest catalog concept, an ICD-10-CM source code
through the ICD-10-CM hierarchy, a drug product to its RxNorm ingredients.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from eligimatch.errors import OmopError
from eligimatch.sources._codes import (
    ECOG_ANSWERS,
    ECOG_LOINC,
    KARNOFSKY_LOINC,
    PREGNANCY_ANSWERS,
    PREGNANCY_LOINC,
    ROUTES,
    UNKNOWN_ANSWERS,
    number,
    system_name,
)
from eligimatch.sources._collect import Collector, Row
from eligimatch.sources._patient import Completeness, Condition, Observation, Patient, Procedure, Therapy
from eligimatch.sources._report import MappingReport
from eligimatch.sources._resolve import Coding, short_error
from eligimatch.sources.omop._db import Database

__all__ = ["GENDERS", "OPERATORS", "OmopImport", "OmopMapper"]

#: OMOP gender concepts -> Patient.sex.
GENDERS = {8507: "male", 8532: "female"}
#: OMOP "Meas Value Operator" concepts: only "=" is a measured value.
OPERATORS = {4172703: "=", 4171756: "<", 4171754: "<=", 4172704: ">", 4171755: ">="}
_FACT_LOINCS = {ECOG_LOINC: ("ecog", "ECOG performance status"),
                KARNOFSKY_LOINC: ("karnofsky", "Karnofsky performance status"),
                PREGNANCY_LOINC: ("pregnant", "pregnancy status")}
_FACT_NAMES = {name: label for name, label in _FACT_LOINCS.values()}


@dataclass(frozen=True)
class OmopImport:
    """The result of reading one OMOP person: the patient profile and the mapping report."""

    patient: Patient
    report: MappingReport


def _date(value: Any) -> Any:
    """A date (or None) from what the driver gives: a date, a timestamp or ISO text."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _birth(year: Any, month: Any, day: Any) -> _dt.date | str | None:
    """A birth date from year/month/day of birth: a date, ``"YYYY-MM"`` or ``"YYYY"`` as far as they are valid."""
    if not year:
        return None
    if not month or not 1 <= int(month) <= 12:
        return f"{int(year):04d}"
    if day:
        try:
            return _dt.date(int(year), int(month), int(day))
        except ValueError:
            pass
    return f"{int(year):04d}-{int(month):02d}"


def _first_day(birth: _dt.date | str | None) -> _dt.date | None:
    """The earliest day a birth date allows (``"1970"`` -> 1970-01-01), or None when it is not known."""
    if birth is None or isinstance(birth, _dt.date):
        return birth
    year, _, month = birth.partition("-")
    return _dt.date(int(year), int(month or 1), 1)


def _id(value: Any) -> str | None:
    """A row id as text: ``233`` for an id stored as the float 233.0 (Eunomia's measurement_id)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class OmopMapper(Collector):
    """Reads the rows of one person, table by table (see the module docstring)."""

    input_type = "omop"

    def __init__(self, db: Database, person_id: Any, as_of: _dt.date, catalogs: Any, complete: Any,
                 terminology: Any):
        super().__init__(catalogs, Completeness(), terminology)
        self.db = db
        self.person_id = person_id
        self.as_of = as_of
        self.claim = complete
        self.rows = 0
        self.concept: dict[int, dict[str, Any]] = {}
        self.born: _dt.date | None = None  # the earliest day the person's birth date allows

    # ---- helpers
    def read(self, table: str, order: str) -> list[dict[str, Any]]:
        if not self.db.has(table, ("person_id",)):
            if self.db.columns(table) is not None:
                self.note(f"table {table} has no person_id column (not in the OMOP CDM shape): not read")
            return []
        rows = self.db.query(f"SELECT * FROM {{p}}{table} WHERE person_id = ? ORDER BY {order}", (self.person_id,))
        self.rows += len(rows)
        return rows

    def load_concepts(self, rows: list[dict[str, Any]], *columns: str) -> None:
        wanted = {r.get(c) for r in rows for c in columns} - set(self.concept)
        self.concept.update(self.db.concepts(wanted))

    def codings(self, *ids: Any) -> list[Coding]:
        out: list[Coding] = []
        for cid in ids:
            c = self.concept.get(int(cid)) if cid else None
            if c is not None and (system_name(c["vocabulary_id"]), str(c["concept_code"])) not in \
                    [(s, k) for s, k, _ in out]:
                out.append((system_name(c["vocabulary_id"]), str(c["concept_code"]), c["concept_name"]))
        return out

    @staticmethod
    def labels(codings: list[Coding], *extra: str) -> tuple[str, ...]:
        return tuple(f"{s}:{c}" for s, c, _ in codings) + tuple(e for e in extra if e)

    def row(self, table: str, key: str, r: dict[str, Any]) -> Row:
        rid = _id(r.get(key))
        return Row(table, rid, f"{table} {rid or '(no id)'}")

    # ---- the run
    def run(self) -> OmopImport:
        people = self.db.query("SELECT * FROM {p}person WHERE person_id = ?", (self.person_id,))
        if not people:
            raise OmopError(f"no person with person_id {self.person_id!r} in the OMOP database", table="person")
        self.rows += 1
        fields = self.map_person(people[0])
        self.map_measurements()
        self.map_observations()
        self.map_conditions()
        self.map_drugs()
        self.map_procedures()
        self.map_death()
        claimed = self.observation_period()
        facts = self.choose_facts()
        self.complete = claimed
        complete = self.completeness()
        patient = Patient(id=fields["id"], birth_date=fields.get("birth_date"), sex=fields.get("sex"), facts=facts,
                          observations=tuple(self.observations), conditions=tuple(self.conditions),
                          therapies=tuple(self.therapies), procedures=tuple(self.procedures), complete=complete)
        order = ("input", "person", "observation_period", "measurement", "observation", "condition_occurrence",
                 "drug_exposure", "procedure_occurrence", "death")
        lines = sorted(self.lines, key=lambda line: order.index(line.resource_type) if line.resource_type in order
                       else 0)
        return OmopImport(patient, MappingReport(tuple(lines), self.rows, source="OMOP", record="row"))

    # ---- person
    def map_person(self, r: dict[str, Any]) -> dict[str, Any]:
        item = self.row("person", "person_id", r)
        out: dict[str, Any] = {"id": _id(r["person_id"])}
        gender = r.get("gender_concept_id")
        if gender in GENDERS:
            out["sex"] = GENDERS[gender]
        else:
            self.add("note", item, f"gender_concept_id {gender} is not 8507 (male) or 8532 (female): sex left unknown")
        birth = _birth(r.get("year_of_birth"), r.get("month_of_birth"), r.get("day_of_birth"))
        if birth is None:
            self.add("note", item, "no year_of_birth: age left unknown")
        elif isinstance(birth, str) and r.get("day_of_birth"):
            self.add("note", item, f"{r.get('year_of_birth')}-{r.get('month_of_birth')}-{r.get('day_of_birth')} is "
                                   f"not a date: the birth date is read as {birth}")
        if isinstance(birth, str):
            self.add("note", item, f"birth date known only to the {'year' if len(birth) == 4 else 'month'} ({birth}):"
                                   " an age criterion is decided only when every possible birthday agrees")
        if birth is not None:
            out["birth_date"] = birth
        self.born = _first_day(birth)
        self.add("mapped", item, "demographics", target="patient: " + ", ".join(
            f"{k}={v}" for k, v in out.items() if k != "id") or "patient")
        return out

    # ---- measurement
    def map_measurements(self) -> None:
        rows = self.read("measurement", "measurement_date, measurement_id")
        self.load_concepts(rows, "measurement_concept_id", "unit_concept_id", "value_as_concept_id",
                           "measurement_source_concept_id")
        for r in rows:
            item = self.row("measurement", "measurement_id", r)
            codings = self.codings(r.get("measurement_concept_id"), r.get("measurement_source_concept_id"))
            codes = self.labels(codings, "" if codings else f"source value {r.get('measurement_source_value')!r}")
            when = _date(r.get("measurement_date"))
            found = self.analyte(codings)
            if isinstance(found, tuple):
                self.fact_row(item, r, found, when, codes)
                continue
            if found is None:
                analytes = self.terms.analytes_of(c for s, c, _ in codings if s == "LOINC")
                self.add("unmapped" if len(analytes) < 2 else "rejected", item,
                         "its LOINC codes name different analytes: " + ", ".join(sorted(a.id for a in analytes))
                         if len(analytes) > 1 else "LOINC code not in the analyte catalog"
                         if any(s == "LOINC" for s, _, _ in codings) else "no LOINC code" if codings else
                         "measurement_concept_id 0 (no matching concept)", codes)
                continue
            self.measurement_value(item, r, found, when, codes)

    def analyte(self, codings: list[Coding]) -> Any:
        """What a measurement concept is: a fact (``(name, label)``: ECOG, Karnofsky, pregnancy status), the one
        catalog analyte its LOINC codes name (or a clinical score by its name), or None."""
        loincs = [c for s, c, _ in codings if s == "LOINC"]
        fact = next((_FACT_LOINCS[c] for c in loincs if c in _FACT_LOINCS), None)
        if fact is not None:
            return fact
        analytes = self.terms.analytes_of(loincs)
        if len(analytes) == 1:
            return analytes[0]
        if analytes:
            return None
        return self.terms.score_by_name([n for _, _, n in codings if n])

    def measurement_value(self, item: Row, r: dict[str, Any], analyte: Any, when: _dt.date | None,
                          codes: tuple[str, ...]) -> None:
        value = number(r.get("value_as_number"))
        if value is None:
            coded = r.get("value_as_concept_id")
            self.add("rejected" if coded else "skipped", item,
                     f"a coded value (concept {coded}) is not a number with a unit" if coded else
                     "no value_as_number: a measurement without a value", codes)
            return
        op = r.get("operator_concept_id")
        if op and OPERATORS.get(op) != "=":
            self.add("rejected", item, f"value {OPERATORS.get(op, f'operator {op}')} {value:g} is a bound, not a "
                                       "result: eligimatch needs the measured value", codes)
            return
        code, text, unit_note = self.unit_of(r)
        unit, problem = self.terms.analyte_unit(analyte, code, text)
        if problem:
            self.add("rejected", item, problem + (f" ({unit_note})" if unit_note else ""), codes)
            return
        bounds = {side: (r.get(f"range_{side}"), code, text) for side in ("low", "high")
                  if r.get(f"range_{side}") is not None}
        rr, rr_note = self.terms.reference_range(analyte, bounds, unit) if bounds else (None, None)
        try:
            obs = Observation(analyte=analyte.id, value=value, unit=unit, date=when, reference_range=rr,
                              source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"invalid: {short_error(exc)}", codes)
            return
        self.observations.append(obs)
        self.add("mapped", item, analyte.name, codes,
                 target=f"observations: {analyte.id} {f'{value:g} {unit or str()}'.strip()} ({when or 'undated'})")
        for note in (rr_note, None if when else "no measurement_date: undated (does not count for a lab criterion)"):
            if note:
                self.add("note", item, note)

    def unit_of(self, r: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
        """(UCUM code of unit_concept_id, unit_source_value, a note when the unit concept is not UCUM)."""
        text = r.get("unit_source_value") or None
        uid = r.get("unit_concept_id")
        c = self.concept.get(int(uid)) if uid else None
        if c is None:
            return None, text, None
        if c["vocabulary_id"] != "UCUM":
            return None, text, f"unit_concept_id {uid} is in {c['vocabulary_id']}, not UCUM"
        return str(c["concept_code"]), text, None

    def fact_value(self, name: str, r: dict[str, Any]) -> tuple[Any, str | None]:
        """The value of fact ``name`` in a row (value_as_number or value_as_concept_id), or None and why."""
        answer = self.codings(r.get("value_as_concept_id"))
        if name == "pregnant":
            value = next((PREGNANCY_ANSWERS[(s, c)] for s, c, _ in answer if (s, c) in PREGNANCY_ANSWERS), None)
            if value is None:
                unknown = any((s, c) in UNKNOWN_ANSWERS for s, c, _ in answer)
                return None, ("pregnancy status recorded as unknown" if unknown else
                              "pregnancy status answer not understood (expected pregnant / not pregnant)")
            return value, None
        num = number(r.get("value_as_number"))
        if num is None and name == "ecog":
            num = next((float(ECOG_ANSWERS[c]) for s, c, _ in answer if s == "LOINC" and c in ECOG_ANSWERS), None)
        top, step = (5, 1) if name == "ecog" else (100, 10)
        if num is None or not num.is_integer() or not 0 <= num <= top or num % step:
            label = _FACT_NAMES[name]
            return None, f"{label} not understood (expected an integer 0-{top}{' in steps of 10' if step > 1 else ''})"
        return int(num), None

    def fact_row(self, item: Row, r: dict[str, Any], fact: tuple[str, str], when: _dt.date | None,
                 codes: tuple[str, ...]) -> None:
        name, label = fact
        value, problem = self.fact_value(name, r)
        if problem is not None:
            self.add("skipped" if "recorded as unknown" in problem else "rejected", item, problem,
                     codes + self.labels(self.codings(r.get("value_as_concept_id"))))
            return
        self.fact_candidate(name, value, when, item, label, codes)

    # ---- observation
    def map_observations(self) -> None:
        rows = self.read("observation", "observation_date, observation_id")
        self.load_concepts(rows, "observation_concept_id", "value_as_concept_id", "observation_source_concept_id")
        for r in rows:
            item = self.row("observation", "observation_id", r)
            codings = self.codings(r.get("observation_concept_id"), r.get("observation_source_concept_id"))
            codes = self.labels(codings)
            loincs = [c for s, c, _ in codings if s == "LOINC"]
            fact = next((_FACT_LOINCS[c] for c in loincs if c in _FACT_LOINCS), None)
            if fact is None:
                self.add("unmapped", item, "not an observation eligimatch reads as a fact (ECOG, Karnofsky, pregnancy "
                                           "status by LOINC)", codes)
                continue
            self.fact_row(item, r, fact, _date(r.get("observation_date")), codes)

    # ---- condition_occurrence
    def map_conditions(self) -> None:
        rows = self.read("condition_occurrence", "condition_start_date, condition_occurrence_id")
        self.load_concepts(rows, "condition_concept_id", "condition_source_concept_id")
        for r in rows:
            item = self.row("condition_occurrence", "condition_occurrence_id", r)
            codings = self.codings(r.get("condition_concept_id"), r.get("condition_source_concept_id"))
            names = [n for _, _, n in codings if n]
            codes = self.labels(codings, "" if codings else f"source value {r.get('condition_source_value')!r}")
            concept, code, name, how = self.terms.concept_of(codings, names, self.cat.conditions,
                                                             ("SNOMED", "ICD10CM"))
            if concept is None:
                self.add("unmapped", item, "condition code not in the condition catalog" if codings else
                         "condition_concept_id 0 (no matching concept)", codes, history="conditions")
                continue
            onset, end = _date(r.get("condition_start_date")), _date(r.get("condition_end_date"))
            try:
                rec = Condition(name=name, code=code, onset=onset, end=end, source=self.source(item))
            except ValidationError as exc:
                self.add("rejected", item, f"invalid: {short_error(exc)}", codes, history="conditions")
                continue
            self.conditions.append(rec)
            self.add("mapped", item, f"{concept.name}{how}", codes,
                     target=f"conditions: {concept.id} (onset {onset or 'not recorded'}"
                            f"{', ended ' + str(end) if end else ''})")

    # ---- drug_exposure
    def map_drugs(self) -> None:
        rows = self.read("drug_exposure", "drug_exposure_start_date, drug_exposure_id")
        self.load_concepts(rows, "drug_concept_id", "drug_source_concept_id", "route_concept_id")
        for r in rows:
            item = self.row("drug_exposure", "drug_exposure_id", r)
            codings = self.codings(r.get("drug_concept_id"), r.get("drug_source_concept_id"))
            codes = self.labels(codings, "" if codings else f"source value {r.get('drug_source_value')!r}")
            entries, how = self.terms.drugs_of(codings, [n for _, _, n in codings if n])
            if not entries:
                self.add("unmapped", item, "drug not in the drug catalog (by RxNorm code, ingredient or name)"
                         if codings else "drug_concept_id 0 (no matching concept)", codes, history="therapies")
                continue
            start, end = _date(r.get("drug_exposure_start_date")), _date(r.get("drug_exposure_end_date"))
            route = self.route(r.get("route_concept_id"))
            rc = self.concept.get(int(r["route_concept_id"])) if r.get("route_concept_id") else None
            if rc is not None and route is None:
                self.add("note", item, f"route {rc['vocabulary_id']}:{rc['concept_code']} not mapped: route left "
                                       "unknown")
            for entry in entries:
                is_class = not hasattr(entry, "rxnorm")
                try:
                    rec = Therapy(drug=None if is_class else entry.id, classes=(entry.id,) if is_class else (),
                                  start=start, end=end, route=route, source=self.source(item))
                except ValidationError as exc:
                    self.add("rejected", item, f"invalid: {short_error(exc)}", codes, history="therapies")
                    break
                self.therapies.append(rec)
                self.add("mapped", item, f"{entry.name}{how}", codes,
                         target=f"therapies: {entry.id} ({start or '?'} to {end or '?'}"
                                f"{', ' + route if route else ''})")

    def route(self, concept_id: Any) -> str | None:
        """The route of a SNOMED CT route concept, or None."""
        rc = self.concept.get(int(concept_id)) if concept_id else None
        if rc is None or rc["vocabulary_id"] != "SNOMED":
            return None
        return ROUTES.get(str(rc["concept_code"]))

    # ---- procedure_occurrence
    def map_procedures(self) -> None:
        rows = self.read("procedure_occurrence", "procedure_date, procedure_occurrence_id")
        self.load_concepts(rows, "procedure_concept_id", "procedure_source_concept_id")
        for r in rows:
            item = self.row("procedure_occurrence", "procedure_occurrence_id", r)
            codings = self.codings(r.get("procedure_concept_id"), r.get("procedure_source_concept_id"))
            codes = self.labels(codings, "" if codings else f"source value {r.get('procedure_source_value')!r}")
            concept, code, name, how = self.terms.concept_of(codings, [n for _, _, n in codings if n],
                                                             self.cat.procedures, ("SNOMED", "CPT"))
            if concept is None:
                self.add("unmapped", item, "procedure code not in the procedure catalog" if codings else
                         "procedure_concept_id 0 (no matching concept)", codes, history="procedures")
                continue
            when = _date(r.get("procedure_date"))
            try:
                rec = Procedure(name=name, code=code, date=when, source=self.source(item))
            except ValidationError as exc:
                self.add("rejected", item, f"invalid: {short_error(exc)}", codes, history="procedures")
                continue
            self.procedures.append(rec)
            self.add("mapped", item, f"{concept.name}{how}", codes,
                     target=f"procedures: {concept.id} ({when or 'date not recorded'})")

    # ---- death, observation_period
    def map_death(self) -> None:
        for r in self.read("death", "death_date"):
            self.add("note", self.row("death", "person_id", r),
                     f"the person died on {_date(r.get('death_date')) or '(no date)'}")

    def observation_period(self) -> Completeness:
        """The completeness claimed: none by default; a Completeness is taken as given;
        ``complete="observation_period"`` marks conditions, therapies and procedures complete when one
        observation period covers the person's whole life up to the evaluation date -- it starts on or before the
        earliest day the birth date allows and ends on or after ``as_of`` -- for records from before a period's
        start may be missing, and the engine's completeness has no start date (an absence it proves is an absence
        over the whole history).  Either claim is then kept only for histories whose every row was mapped
        (:meth:`Collector.completeness`)."""
        rows = self.read("observation_period", "observation_period_start_date")
        covering = whole = None
        for r in rows:
            start, end = _date(r.get("observation_period_start_date")), _date(r.get("observation_period_end_date"))
            item = self.row("observation_period", "observation_period_id", r)
            inside = start is not None and end is not None and start <= self.as_of <= end
            from_birth = inside and self.born is not None and start is not None and start <= self.born
            covering = covering or (r if inside else None)
            whole = whole or (r if from_birth else None)
            self.add("mapped" if inside else "skipped", item,
                     f"observation period {start} to {end}" + ("" if inside else f": does not cover {self.as_of}"),
                     target="complete: conditions, therapies, procedures" if from_birth and self.claim ==
                     "observation_period" else None)
        if isinstance(self.claim, Completeness):
            return self.claim
        if self.claim != "observation_period":
            return Completeness()
        if covering is None:
            self.note(f"no observation period covers {self.as_of}: no history is complete (an absent record "
                      "proves nothing)")
            return Completeness()
        if whole is None:
            start = _date(covering.get("observation_period_start_date"))
            self.note(f"the observation period covering {self.as_of} starts on {start}, "
                      + (f"after the birth date ({self.born}): " if self.born is not None else
                         "and the birth date is not known: ")
                      + "records before its start may be missing, so no history is complete (an absent record "
                      "proves nothing; see docs/omop.md)")
            return Completeness()
        self.note(f"histories complete: the observation period "
                  f"{_date(whole.get('observation_period_start_date'))} to "
                  f"{_date(whole.get('observation_period_end_date'))} covers the person's life up to {self.as_of}")
        return Completeness(conditions=True, therapies=True, procedures=True)

