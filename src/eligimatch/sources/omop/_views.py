"""An OMOP CDM database presented as the canonical patient tables of the SQL backend (:mod:`eligimatch.sql`).

:func:`create_views` resolves, once, every concept the clinical tables use -- with the same catalogs, terminology
and rules as :func:`eligimatch.omop.patient`, by calling the same mapper code on each distinct key -- into small
mapping tables (``eligimatch_omop_*``), and creates one view per canonical table over the CDM tables joined to
them.  A person's rows in the views are the records ``omop.patient`` maps for that person, and the completeness
flags follow the same rule (claimed, an observation period covering the person's life from birth to ``as_of``,
and every row of the history mapped), so the SQL backend and the row engine answer alike.

The SQL is plain (CAST, CASE, ROW_NUMBER, make_date, date arithmetic with INTERVAL): DuckDB and PostgreSQL run it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from eligimatch.errors import OmopError
from eligimatch.sources._patient import Completeness
from eligimatch.sources.omop._db import Database, is_omop

__all__ = ["VIEW_NAMES", "create_views"]

#: The canonical tables the views present (eligimatch.sql._schema.TABLE_NAMES).
VIEW_NAMES = ("patients", "observations", "facts", "conditions", "therapies", "therapy_classes", "procedures",
              "record_attributes", "studies", "anchors")

_MAPS = {
    "condition": "concept_id BIGINT, source_concept_id BIGINT, name VARCHAR, code VARCHAR, catalog_id VARCHAR",
    "procedure": "concept_id BIGINT, source_concept_id BIGINT, name VARCHAR, code VARCHAR, catalog_id VARCHAR",
    "drug": "concept_id BIGINT, source_concept_id BIGINT, rank INTEGER, drug_id VARCHAR, class_id VARCHAR",
    "route": "concept_id BIGINT, route VARCHAR",
    "measurement": "concept_id BIGINT, source_concept_id BIGINT, unit_concept_id BIGINT, unit_source_value VARCHAR, "
                   "analyte_id VARCHAR, unit VARCHAR",
    "fact": "tbl VARCHAR, concept_id BIGINT, source_concept_id BIGINT, value_as_concept_id BIGINT, "
            "value_as_number DOUBLE PRECISION, name VARCHAR, value_type VARCHAR, value_bool BOOLEAN, "
            "value_number DOUBLE PRECISION",
}


def _partial(expr: str, prefix: str) -> str:
    """The three columns of a full date (or NULL) in the canonical partial-date form."""
    return (f"{expr} AS {prefix}_earliest, {expr} AS {prefix}_latest, "
            f"CASE WHEN {expr} IS NULL THEN NULL ELSE 'day' END AS {prefix}_precision")


def _none(*cols: str) -> str:
    return ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in (x.split(":") for x in cols))


def create_views(connection: Any, *, as_of: _dt.date | str | None = None, schema: str | None = None,
                 target_schema: str | None = None, complete: Any = None, catalogs: Any = None,
                 terminology: Any = None, temporary: bool = True, paramstyle: str | None = None) -> tuple[str, ...]:
    """Create the canonical tables as views over the OMOP CDM tables of ``connection``; returns their names.

    ``as_of`` (default today) and ``complete`` (None, ``"observation_period"`` or a Completeness) mean what they
    mean for :func:`eligimatch.omop.patient`.  ``schema``: where the CDM tables are; ``target_schema``: where the
    views go (None: the connection's default).  ``temporary`` (default) makes TEMP views and mapping tables, gone
    with the connection, leaving the database unchanged; with ``temporary=False`` they are stored (the database
    must be writable).  Raises :class:`~eligimatch.errors.OmopError` when the database is not an OMOP CDM one.
    """
    from eligimatch.sources.omop import vocabulary
    from eligimatch.sources.omop._mapper import OmopMapper

    if isinstance(as_of, str):
        as_of = _dt.date.fromisoformat(as_of)
    as_of = as_of or _dt.date.today()
    db = Database(connection, schema=schema, paramstyle=paramstyle)
    if not is_omop(connection, schema=schema):
        raise OmopError("not an OMOP CDM database: it needs the tables person, observation_period and concept"
                        + (f" in schema {schema!r}" if schema else ""))
    if target_schema is not None and temporary:
        raise ValueError("temporary views cannot be put in a schema: give target_schema with temporary=False")
    if catalogs is None:
        from eligimatch.knowledge._catalogs import Catalogs

        catalogs = Catalogs.default()
    if terminology is None:
        terminology = vocabulary(connection, schema=schema, paramstyle=db.paramstyle)
    if complete is not None and complete != "observation_period" and not isinstance(complete, Completeness):
        complete = Completeness.model_validate(complete)
    mapper = OmopMapper(db, None, as_of, catalogs, complete, terminology)
    maps = _maps(db, mapper)
    out = (f"{target_schema}." if target_schema else "")
    temp = "TEMP " if temporary else ""
    for name, columns in _MAPS.items():
        table = f"{out}eligimatch_omop_{name}_map"
        _execute(db, f"DROP TABLE IF EXISTS {table}")
        _execute(db, f"CREATE {temp}TABLE {table} ({columns})")
        db.insert(table, maps[name])
    for name, sql in _view_sql(db.prefix, out, as_of, complete).items():
        _execute(db, f"DROP VIEW IF EXISTS {out}{name}")
        _execute(db, f"CREATE {temp}VIEW {out}{name} AS {sql}")
    return tuple(f"{out}{n}" for n in VIEW_NAMES)


def _execute(db: Database, sql: str) -> None:
    cur = db.execute(sql)
    if cur is not db.con:
        getattr(cur, "close", lambda: None)()


def _distinct(db: Database, table: str, *columns: str) -> list[tuple]:
    if not db.has(table, columns):
        return []
    cols = ", ".join(columns)
    return [tuple(r[c] for c in columns) for r in db.query(f"SELECT DISTINCT {cols} FROM {{p}}{table}")]


def _record_concept(catalog: Any, code: str | None, name: str | None) -> Any:
    """The row engine's rule for the concept of a record (``engine._evaluate._resolve_record``): its code's,
    unless its name names a narrower concept below it."""
    by_code = catalog.resolve(code) if code else None
    by_name = catalog.resolve(name) if name else None
    if by_code is None:
        return by_name
    if by_name is not None and by_name.id != by_code.id and catalog.is_a(by_name.id, by_code.id):
        return by_name
    return by_code


def _maps(db: Database, m: Any) -> dict[str, list[tuple]]:
    """The mapping rows, computed by the mapper's own code on each distinct key."""
    from eligimatch.sources.omop._mapper import _FACT_LOINCS

    out: dict[str, list[tuple]] = {k: [] for k in _MAPS}
    for domain, table, catalog, systems in (("condition", "condition_occurrence", m.cat.conditions,
                                             ("SNOMED", "ICD10CM")),
                                            ("procedure", "procedure_occurrence", m.cat.procedures, ("SNOMED", "CPT"))):
        keys = _distinct(db, table, f"{domain}_concept_id", f"{domain}_source_concept_id")
        m.concept.update(db.concepts(k for key in keys for k in key))
        for cid, sid in keys:
            codings = m.codings(cid, sid)
            concept, code, name, _ = m.terms.concept_of(codings, [n for _, _, n in codings if n], catalog, systems)
            if concept is not None:
                rec = _record_concept(catalog, code, name)
                out[domain].append((cid or 0, sid or 0, name, code, rec.id if rec is not None else None))
    keys = _distinct(db, "drug_exposure", "drug_concept_id", "drug_source_concept_id")
    m.concept.update(db.concepts(k for key in keys for k in key))
    for cid, sid in keys:
        codings = m.codings(cid, sid)
        entries, _ = m.terms.drugs_of(codings, [n for _, _, n in codings if n])
        for rank, entry in enumerate(entries):
            is_class = not hasattr(entry, "rxnorm")
            out["drug"].append((cid or 0, sid or 0, rank, None if is_class else entry.id,
                                entry.id if is_class else None))
    routes = [r for (r,) in _distinct(db, "drug_exposure", "route_concept_id") if r]
    m.concept.update(db.concepts(routes))
    for rid in routes:
        route = m.route(rid)
        if route is not None:
            out["route"].append((rid, route))
    mkeys = _distinct(db, "measurement", "measurement_concept_id", "measurement_source_concept_id",
                      "unit_concept_id", "unit_source_value")
    m.concept.update(db.concepts(k for key in mkeys for k in key[:3]))
    for cid, sid, uid, usv in mkeys:
        analyte = m.analyte(m.codings(cid, sid))
        if analyte is None or isinstance(analyte, tuple):
            continue
        code, text, _ = m.unit_of({"unit_concept_id": uid, "unit_source_value": usv})
        unit, problem = m.terms.analyte_unit(analyte, code, text)
        if problem is None:
            out["measurement"].append((cid or 0, sid or 0, uid or 0, usv or "", analyte.id, unit))
    for tbl, prefix in (("measurement", "measurement"), ("observation", "observation")):
        fkeys = _distinct(db, tbl, f"{prefix}_concept_id", f"{prefix}_source_concept_id", "value_as_concept_id",
                          "value_as_number")
        m.concept.update(db.concepts(k for key in fkeys for k in key[:3]))
        for cid, sid, vcid, vnum in fkeys:
            loincs = [c for s, c, _ in m.codings(cid, sid) if s == "LOINC"]
            fact = next((_FACT_LOINCS[c] for c in loincs if c in _FACT_LOINCS), None)
            if fact is None or m.cat.facts.resolve(fact[0]) is None:
                continue
            value, _ = m.fact_value(fact[0], {"value_as_concept_id": vcid, "value_as_number": vnum})
            if value is None:
                continue
            is_bool = isinstance(value, bool)
            out["fact"].append((tbl, cid or 0, sid or 0, vcid or 0, vnum, fact[0], "bool" if is_bool else "number",
                                value if is_bool else None, None if is_bool else float(value)))
    return out


def _view_sql(p: str, out: str, as_of: _dt.date, complete: Any) -> dict[str, str]:
    """The SELECT of each view; ``p`` prefixes the CDM tables, ``out`` the mapping tables."""
    day = f"DATE '{as_of.isoformat()}'"
    claim = {h: False for h in ("conditions", "therapies", "procedures", "studies")}
    by_period = complete == "observation_period"
    if isinstance(complete, Completeness):
        claim.update(complete.model_dump())

    def flag(history: str, table: str, key: str, map_join: str, bad: str) -> str:
        if not (claim[history] or (by_period and history != "studies")):
            return f"FALSE AS complete_{history}"
        doubt = (f"NOT EXISTS (SELECT 1 FROM {p}{table} x LEFT JOIN {map_join} WHERE x.person_id = pe.person_id "
                 f"AND ({key} IS NULL OR {bad}))")
        return f"({'TRUE' if claim[history] else covered}) AND {doubt} AS complete_{history}"

    cmap = (f"{out}eligimatch_omop_condition_map cm ON cm.concept_id = COALESCE(x.condition_concept_id, 0) "
            "AND cm.source_concept_id = COALESCE(x.condition_source_concept_id, 0)")
    dmap = (f"{out}eligimatch_omop_drug_map dm ON dm.concept_id = COALESCE(x.drug_concept_id, 0) "
            "AND dm.source_concept_id = COALESCE(x.drug_source_concept_id, 0) AND dm.rank = 0")
    pmap = (f"{out}eligimatch_omop_procedure_map pm ON pm.concept_id = COALESCE(x.procedure_concept_id, 0) "
            "AND pm.source_concept_id = COALESCE(x.procedure_source_concept_id, 0)")
    valid_month = "pe.month_of_birth BETWEEN 1 AND 12"
    month_end = "EXTRACT(DAY FROM CAST(make_date(pe.year_of_birth, pe.month_of_birth, 1) + INTERVAL '1 month' " \
                "- INTERVAL '1 day' AS DATE))"
    full = f"pe.year_of_birth IS NOT NULL AND {valid_month} AND pe.day_of_birth BETWEEN 1 AND {month_end}"
    month = f"pe.year_of_birth IS NOT NULL AND {valid_month}"
    first = "make_date(pe.year_of_birth, pe.month_of_birth, 1)"
    born = (f"CASE WHEN {full} THEN make_date(pe.year_of_birth, pe.month_of_birth, pe.day_of_birth) "
            f"WHEN {month} THEN {first} WHEN pe.year_of_birth IS NOT NULL THEN make_date(pe.year_of_birth, 1, 1) END")
    # an observation period proves absences only when it covers the person's life up to as_of (OmopMapper.
    # observation_period): from on or before the earliest birthday the birth date allows, to on or after as_of
    covered = (f"EXISTS (SELECT 1 FROM {p}observation_period op WHERE op.person_id = pe.person_id AND "
               f"op.observation_period_start_date <= {day} AND op.observation_period_end_date >= {day} AND "
               f"op.observation_period_start_date <= {born})")
    views = {
        "patients": (
            "SELECT CAST(pe.person_id AS VARCHAR) AS patient_id, "
            f"{born} AS birth_earliest, "
            f"CASE WHEN {full} THEN make_date(pe.year_of_birth, pe.month_of_birth, pe.day_of_birth) "
            f"WHEN {month} THEN CAST({first} + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) "
            "WHEN pe.year_of_birth IS NOT NULL THEN make_date(pe.year_of_birth, 12, 31) END AS birth_latest, "
            f"CASE WHEN {full} THEN 'day' WHEN {month} THEN 'month' WHEN pe.year_of_birth IS NOT NULL THEN 'year' "
            "END AS birth_precision, "
            "CASE pe.gender_concept_id WHEN 8507 THEN 'male' WHEN 8532 THEN 'female' END AS sex, "
            + flag("conditions", "condition_occurrence", "cm.catalog_id", cmap,
                   "x.condition_end_date < x.condition_start_date") + ", "
            + flag("therapies", "drug_exposure", "dm.rank", dmap,
                   "x.drug_exposure_end_date < x.drug_exposure_start_date") + ", "
            + flag("procedures", "procedure_occurrence", "pm.catalog_id", pmap, "FALSE") + ", "
            + ("TRUE" if claim["studies"] else "FALSE") + " AS complete_studies "
            f"FROM {p}person pe"),
        "observations": (
            "SELECT CAST(x.person_id AS VARCHAR) AS patient_id, CAST(ROW_NUMBER() OVER (PARTITION BY x.person_id "
            "ORDER BY x.measurement_date, x.measurement_id) - 1 AS INTEGER) AS seq, mm.analyte_id AS analyte, "
            "mm.analyte_id, CAST(x.value_as_number AS DOUBLE PRECISION) AS value, mm.unit, x.measurement_date AS date, "
            + _none("time:TIME", "utc_offset_s:INTEGER", "time_key_us:BIGINT") + ", "
            "CASE WHEN x.range_low > x.range_high THEN NULL ELSE CAST(x.range_low AS DOUBLE PRECISION) END "
            "AS ref_low, "
            "CASE WHEN x.range_low > x.range_high THEN NULL ELSE CAST(x.range_high AS DOUBLE PRECISION) END "
            "AS ref_high, "
            + _none("ref_unit:VARCHAR", "method:VARCHAR") + ", 'measurement' AS source_type, "
            "CAST(x.measurement_id AS VARCHAR) AS source_id "
            f"FROM {p}measurement x JOIN {out}eligimatch_omop_measurement_map mm "
            "ON mm.concept_id = COALESCE(x.measurement_concept_id, 0) "
            "AND mm.source_concept_id = COALESCE(x.measurement_source_concept_id, 0) "
            "AND mm.unit_concept_id = COALESCE(x.unit_concept_id, 0) "
            "AND mm.unit_source_value = COALESCE(x.unit_source_value, '') "
            "WHERE x.value_as_number IS NOT NULL AND COALESCE(x.operator_concept_id, 0) IN (0, 4172703)"),
        "facts": _facts_sql(p, out),
        "conditions": (
            "SELECT CAST(x.person_id AS VARCHAR) AS patient_id, CAST(ROW_NUMBER() OVER (PARTITION BY x.person_id "
            "ORDER BY x.condition_start_date, x.condition_occurrence_id) - 1 AS INTEGER) AS seq, cm.name, cm.code, "
            "cm.catalog_id AS concept_id, " + _partial("x.condition_start_date", "onset") + ", "
            + _partial("x.condition_end_date", "end") + ", CAST(NULL AS VARCHAR) AS status, "
            "'condition_occurrence' AS source_type, CAST(x.condition_occurrence_id AS VARCHAR) AS source_id "
            f"FROM {p}condition_occurrence x JOIN {cmap} "
            "WHERE x.condition_end_date IS NULL OR x.condition_start_date IS NULL "
            "OR x.condition_end_date >= x.condition_start_date"),
        "therapies": (
            f"SELECT patient_id, seq, drug, drug_id, investigational, start_earliest, start_latest, start_precision, "
            "end_earliest, end_latest, end_precision, ongoing, dose_value, dose_unit, dose_per_day, "
            "dose_since_earliest, dose_since_latest, dose_since_precision, route, indication, source_type, source_id "
            f"FROM {out}eligimatch_omop_therapy_rows"),
        "therapy_classes": (f"SELECT patient_id, seq, class_id AS class FROM {out}eligimatch_omop_therapy_rows "
                            "WHERE class_id IS NOT NULL"),
        "procedures": (
            "SELECT CAST(x.person_id AS VARCHAR) AS patient_id, CAST(ROW_NUMBER() OVER (PARTITION BY x.person_id "
            "ORDER BY x.procedure_date, x.procedure_occurrence_id) - 1 AS INTEGER) AS seq, pm.name, pm.code, "
            "pm.catalog_id AS concept_id, " + _partial("x.procedure_date", "date") + ", "
            "'procedure_occurrence' AS source_type, CAST(x.procedure_occurrence_id AS VARCHAR) AS source_id "
            f"FROM {p}procedure_occurrence x JOIN {pmap}"),
        "record_attributes": ("SELECT " + _none("patient_id:VARCHAR", "history:VARCHAR", "seq:INTEGER",
                                                "name:VARCHAR", "value_type:VARCHAR", "value_bool:BOOLEAN",
                                                "value_number:DOUBLE PRECISION", "value_text:VARCHAR",
                                                "value_yes_no:BOOLEAN", "value_as_number:DOUBLE PRECISION",
                                                "value_norm:VARCHAR", "value_coded:VARCHAR", "value_drug:VARCHAR")
                              + " WHERE 1 = 0"),
        "studies": ("SELECT " + _none("patient_id:VARCHAR", "seq:INTEGER", "study:VARCHAR", "start_earliest:DATE",
                                      "start_latest:DATE", "start_precision:VARCHAR", "end_earliest:DATE",
                                      "end_latest:DATE", "end_precision:VARCHAR", "source_type:VARCHAR",
                                      "source_id:VARCHAR") + " WHERE 1 = 0"),
        "anchors": "SELECT " + _none("patient_id:VARCHAR", "name:VARCHAR", "date:DATE") + " WHERE 1 = 0",
    }
    rows = (
        "SELECT CAST(x.person_id AS VARCHAR) AS patient_id, CAST(ROW_NUMBER() OVER (PARTITION BY x.person_id "
        "ORDER BY x.drug_exposure_start_date, x.drug_exposure_id, dm.rank) - 1 AS INTEGER) AS seq, "
        "dm.drug_id AS drug, dm.drug_id, dm.class_id, FALSE AS investigational, "
        + _partial("x.drug_exposure_start_date", "start") + ", " + _partial("x.drug_exposure_end_date", "end")
        + ", " + _none("ongoing:BOOLEAN", "dose_value:DOUBLE PRECISION", "dose_unit:VARCHAR",
                       "dose_per_day:DOUBLE PRECISION",
                       "dose_since_earliest:DATE", "dose_since_latest:DATE", "dose_since_precision:VARCHAR")
        + ", rm.route, CAST(NULL AS VARCHAR) AS indication, 'drug_exposure' AS source_type, "
        "CAST(x.drug_exposure_id AS VARCHAR) AS source_id "
        f"FROM {p}drug_exposure x JOIN {dmap.replace(' AND dm.rank = 0', '')} "
        f"LEFT JOIN {out}eligimatch_omop_route_map rm ON rm.concept_id = x.route_concept_id "
        "WHERE x.drug_exposure_end_date IS NULL OR x.drug_exposure_start_date IS NULL "
        "OR x.drug_exposure_end_date >= x.drug_exposure_start_date")
    return {"eligimatch_omop_therapy_rows": rows, **views}


def _facts_sql(p: str, out: str) -> str:
    """The latest value of each fact per person; different values on the latest date give no fact (as
    :meth:`Collector.choose_facts`)."""
    cand = []
    for tbl in ("measurement", "observation"):
        cand.append(
            f"SELECT x.person_id, fm.name, fm.value_type, fm.value_bool, fm.value_number, x.{tbl}_date AS d, "
            f"x.{tbl}_id AS rid, '{tbl}' AS source_type FROM {p}{tbl} x JOIN {out}eligimatch_omop_fact_map fm "
            f"ON fm.tbl = '{tbl}' AND fm.concept_id = COALESCE(x.{tbl}_concept_id, 0) "
            f"AND fm.source_concept_id = COALESCE(x.{tbl}_source_concept_id, 0) "
            "AND fm.value_as_concept_id = COALESCE(x.value_as_concept_id, 0) "
            "AND (fm.value_as_number = x.value_as_number OR (fm.value_as_number IS NULL AND x.value_as_number IS "
            "NULL))")
    return (
        "SELECT CAST(person_id AS VARCHAR) AS patient_id, name, MIN(value_type) AS value_type, "
        "MIN(CAST(value_bool AS INTEGER)) = 1 AS value_bool, MIN(value_number) AS value_number, "
        "CAST(NULL AS VARCHAR) AS value_text, CAST(NULL AS VARCHAR) AS unit, "
        "MAX(d) AS date_earliest, MAX(d) AS date_latest, CASE WHEN MAX(d) IS NULL THEN NULL ELSE 'day' END "
        "AS date_precision, MIN(source_type) AS source_type, CAST(MIN(rid) AS VARCHAR) AS source_id FROM ("
        "SELECT c.*, RANK() OVER (PARTITION BY person_id, name ORDER BY CASE WHEN d IS NULL THEN 1 ELSE 0 END, "
        "d DESC) AS r FROM (" + " UNION ALL ".join(cand) + ") c) latest WHERE r = 1 GROUP BY person_id, name "
        "HAVING COUNT(DISTINCT COALESCE(CAST(value_bool AS VARCHAR), CAST(value_number AS VARCHAR))) = 1")
