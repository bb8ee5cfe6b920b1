"""The canonical patient tables: what the SQL backend reads, one table per kind of record.

A patient profile (:class:`eligimatch.Patient`, and so patient JSON and FHIR through the sources) is
written into these tables by :mod:`eligimatch.sql._writer`; an OMOP CDM database is presented as
the same tables by views (``eligimatch.sources.omop``).  The compiled SQL reads nothing else.

Each table is described once here, as data (:data:`TABLES`): the column names, their portable
types, whether NULL is allowed and what NULL means.  ``docs/sql.md`` is checked against this
description (tests/sql/test_schema.py), and :func:`ddl` renders ``CREATE TABLE`` statements for
any dialect sqlglot knows (DuckDB, PostgreSQL, Spark, ...).

Conventions
===========
* ``patient_id`` (text) identifies the patient in every table; ``seq`` is the position of a
  record in its list in the profile (0-based), so a record and its attributes join on
  ``(patient_id, seq)``.
* A date that may be partial (``"2025"``, ``"2025-03"``) is three columns: ``X_earliest`` and
  ``X_latest`` (the first and last day it can be: equal for a full date) and ``X_precision``
  (``day``, ``month`` or ``year``).  All three are NULL when the date is not recorded.
* ``*_id`` columns hold catalog ids resolved by the writer with its catalogs (an analyte
  written ``"ANC"`` or ``"LOINC:751-8"`` is ``anc``); NULL when the catalog does not know the
  name: such a record is never used, as the row engine ignores it (with a warning).
* Names and codes as recorded are kept beside the ids, for people and for re-resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TABLES", "TABLE_NAMES", "Column", "Table", "ddl", "schema_markdown", "table"]


@dataclass(frozen=True)
class Column:
    """One column: its name, portable type (``TEXT``, ``DATE``, ``TIME``, ``DOUBLE``, ``BIGINT``,
    ``INTEGER``, ``BOOLEAN``), whether it may be NULL, and what a value (and NULL) means.

        >>> from eligimatch.sql import TABLES
        >>> col = TABLES[0].columns[0]
        >>> col.name, col.type, col.nullable
        ('patient_id', 'TEXT', False)
    """

    name: str
    type: str
    nullable: bool
    doc: str


@dataclass(frozen=True)
class Table:
    """One canonical table (:data:`TABLES`): its name, what a row is, and its columns.

        >>> from eligimatch.sql import TABLES
        >>> obs = next(t for t in TABLES if t.name == "observations")
        >>> obs.column_names[:6]
        ('patient_id', 'seq', 'analyte', 'analyte_id', 'value', 'unit')
    """

    name: str
    doc: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, type_: str, doc: str, nullable: bool = True) -> Column:
    return Column(name, type_, nullable, doc)


_PID = _c("patient_id", "TEXT", "The patient (`patients.patient_id`).", nullable=False)
_SEQ = _c("seq", "INTEGER", "Position of the record in its list in the profile (0-based).", nullable=False)
_SOURCE = (
    _c("source_type", "TEXT", "Kind of the record it came from (e.g. `Observation`); NULL: not given."),
    _c("source_id", "TEXT", "Identifier of that record in its system; NULL: not given."),
)


def _partial(prefix: str, what: str) -> tuple[Column, ...]:
    return (
        _c(f"{prefix}_earliest", "DATE", f"First day {what} can be (the day itself for a full date); "
                                         f"NULL: not recorded."),
        _c(f"{prefix}_latest", "DATE", f"Last day {what} can be; NULL: not recorded."),
        _c(f"{prefix}_precision", "TEXT", f"`day`, `month` or `year`: how much of {what} is known; "
                                          f"NULL: not recorded."),
    )


TABLES: tuple[Table, ...] = (
    Table("patients", "One row per patient.", (
        _c("patient_id", "TEXT", "The profile's `id`; the writer gives `#<n>` (n: position in the input) to a "
                                 "profile without one.", nullable=False),
        *_partial("birth", "the birth date"),
        _c("sex", "TEXT", "`male` or `female`; NULL: not recorded (a criterion on sex is then UNKNOWN)."),
        _c("complete_conditions", "BOOLEAN", "The condition history lists everything: a missing record is an "
                                             "absence (`complete.conditions`).", nullable=False),
        _c("complete_therapies", "BOOLEAN", "The same for therapies.", nullable=False),
        _c("complete_procedures", "BOOLEAN", "The same for procedures.", nullable=False),
        _c("complete_studies", "BOOLEAN", "The same for study participation.", nullable=False),
    )),
    Table("observations", "Laboratory results, vital signs, measurements and scores (one row per result).", (
        _PID, _SEQ,
        _c("analyte", "TEXT", "The analyte as recorded (id, name, synonym or LOINC code).", nullable=False),
        _c("analyte_id", "TEXT", "The analyte's catalog id; NULL: not in the analyte catalog (never used)."),
        _c("value", "DOUBLE", "The value as recorded, in `unit`.", nullable=False),
        _c("unit", "TEXT", "The unit as recorded (UCUM or a common spelling); NULL: recorded without a unit "
                           "(never given one: only a unit-free analyte such as INR is then read)."),
        _c("date", "DATE", "Date the specimen was taken or the measure made; NULL: undated (never used: it "
                           "cannot be shown to be current)."),
        _c("time", "TIME", "Time of day as the clock read where it was taken; NULL: not recorded."),
        _c("utc_offset_s", "INTEGER", "UTC offset of `time` in seconds; NULL: a local time without an offset "
                                      "(or no time)."),
        _c("time_key_us", "BIGINT", "Orders results of one date: microseconds since midnight, in UTC when "
                                    "`utc_offset_s` is given, else local; NULL when `time` is NULL."),
        _c("ref_low", "DOUBLE", "Lower limit of the laboratory's reference range; NULL: not given."),
        _c("ref_high", "DOUBLE", "Upper limit of the reference range; NULL: not given."),
        _c("ref_unit", "TEXT", "Unit of the range; NULL: the result's own `unit`."),
        _c("method", "TEXT", "How a derived value was obtained (e.g. `cockcroft_gault`); NULL: measured."),
        *_SOURCE,
    )),
    Table("facts", "Free facts: yes/no, numbers and coded values (ECOG, pregnant, HER2 IHC...).", (
        _PID,
        _c("name", "TEXT", "The fact's name as the profile keys it (a fact catalog id).", nullable=False),
        _c("value_type", "TEXT", "`bool`, `number` or `text`: which value column holds the value.", nullable=False),
        _c("value_bool", "BOOLEAN", "The value when `value_type` is `bool`, else NULL."),
        _c("value_number", "DOUBLE", "The value when `value_type` is `number`, else NULL."),
        _c("value_text", "TEXT", "The value when `value_type` is `text` (as recorded), else NULL."),
        _c("unit", "TEXT", "Unit of a number; NULL: recorded without one (never given the catalog's unit)."),
        *_partial("date", "the date the fact was recorded"),
        *_SOURCE,
    )),
    Table("conditions", "Diagnoses and problems, current or past.", (
        _PID, _SEQ,
        _c("name", "TEXT", "The condition as named in the record; NULL: coded only."),
        _c("code", "TEXT", "Its code (`ICD10CM:M32.14`, `SNOMED:55464009`); NULL: named only."),
        _c("concept_id", "TEXT", "The condition catalog concept the record is (from its code, or its name when "
                                 "that is narrower); NULL: not in the catalog."),
        *_partial("onset", "the onset"),
        *_partial("end", "the abatement (end)"),
        _c("status", "TEXT", "`active`, `resolved`, `inactive` or `remission`; NULL: not recorded (whether it "
                             "is current is then unknown unless `end` says so)."),
        *_SOURCE,
    )),
    Table("therapies", "Drugs and treatments received or being received.", (
        _PID, _SEQ,
        _c("drug", "TEXT", "The drug as recorded (id, name, brand or RxNorm code); NULL: only classes given."),
        _c("drug_id", "TEXT", "The drug catalog id; NULL: no drug named, or not in the catalog."),
        _c("investigational", "BOOLEAN", "An investigational agent.", nullable=False),
        *_partial("start", "the start"),
        *_partial("end", "the last dose or stop date"),
        _c("ongoing", "BOOLEAN", "TRUE: still given; FALSE: stopped; NULL: not recorded."),
        _c("dose_value", "DOUBLE", "Amount per administration (or per day, by its unit); NULL: no dose recorded."),
        _c("dose_unit", "TEXT", "Unit of the dose (`mg`, `mg/day`); NULL with `dose_value`."),
        _c("dose_per_day", "DOUBLE", "Administrations per day when the dose is per administration; NULL: not "
                                     "given."),
        *_partial("dose_since", "the date the current dose began"),
        _c("route", "TEXT", "oral, intravenous, inhaled, topical, ...; NULL: not recorded."),
        _c("indication", "TEXT", "The condition it is given for, as recorded; NULL: not recorded."),
        *_SOURCE,
    )),
    Table("therapy_classes", "Drug classes a therapy record names (when it does not name the drug, or besides).", (
        _PID, _SEQ,
        _c("class", "TEXT", "The class as recorded (a drug catalog class id or name).", nullable=False),
        _c("class_order", "INTEGER", "Position of the class in the record's list (0-based): a record without a "
                                     "drug is named by its classes in this order.", nullable=False),
    )),
    Table("procedures", "Procedures: surgery, radiotherapy, apheresis, transplant...", (
        _PID, _SEQ,
        _c("name", "TEXT", "The procedure as named; NULL: coded only."),
        _c("code", "TEXT", "Its code; NULL: named only."),
        _c("concept_id", "TEXT", "The procedure catalog concept; NULL: not in the catalog."),
        *_partial("date", "the procedure's date"),
        *_SOURCE,
    )),
    Table("record_attributes", "Attributes of condition and procedure records (grade, symptomatic, stage...).", (
        _PID,
        _c("history", "TEXT", "`conditions` or `procedures`: the table of the record.", nullable=False),
        _SEQ,
        _c("name", "TEXT", "The attribute's name.", nullable=False),
        _c("value_type", "TEXT", "`bool`, `number` or `text`.", nullable=False),
        _c("value_bool", "BOOLEAN", "The value when `value_type` is `bool`, else NULL."),
        _c("value_number", "DOUBLE", "The value when `value_type` is `number`, else NULL."),
        _c("value_text", "TEXT", "The value when `value_type` is `text`, else NULL."),
        # the value as `where` tests read it, computed by the writer with the row engine's own rules (so
        # that the SQL compares what the row engine compares: no re-implementation of Python's string rules)
        _c("value_yes_no", "BOOLEAN", "The value read as a yes/no (a boolean, or `yes`/`true`/`no`/`false` "
                                      "ignoring case and surrounding spaces); NULL: not a recognised yes/no "
                                      "(a `where` test on it is then UNKNOWN)."),
        _c("value_as_number", "DOUBLE", "The value read as a number (`2`, `\"2\"`, `\"II\"`); NULL: not a "
                                        "(finite) number; a boolean never is one."),
        _c("value_norm", "TEXT", "The value as a word, as `where` tests compare words: lower case, surrounding "
                                 "spaces dropped, inner spaces and hyphens as `_`."),
        _c("value_coded", "TEXT", "The declared value of the attribute's vocabulary (the writer's catalogs: "
                                  "catalog/attributes.toml and site catalogs) the value is (`Stage IIB`, `2B` and `IIB` are `IIB`); NULL: the attribute has "
                                  "no vocabulary, or the vocabulary cannot place the value."),
        _c("value_drug", "TEXT", "The drug catalog entry the value names, as `allergy to (…)` reads an `allergen` "
                                 "(`drug:<id>` for a drug, name, brand or RxNorm code; `class:<id>` for a class); "
                                 "NULL: the catalog does not know it."),
    )),
    Table("studies", "Participation in clinical studies (FHIR ResearchSubject).", (
        _PID, _SEQ,
        _c("study", "TEXT", "The study's identifier (e.g. `NCT01234567`); NULL: not given."),
        *_partial("start", "the start"),
        *_partial("end", "the last day in the study (NULL: ongoing, or not recorded)"),
        *_SOURCE,
    )),
    Table("anchors", "Patient-specific dates criteria are counted from (screening, apheresis...).", (
        _PID,
        _c("name", "TEXT", "The anchor's name.", nullable=False),
        _c("date", "DATE", "Its date.", nullable=False),
    )),
)

TABLE_NAMES = tuple(t.name for t in TABLES)
_BY_NAME = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The description of the canonical table ``name``."""
    return _BY_NAME[name]


_TYPES = {"TEXT": "VARCHAR", "DATE": "DATE", "TIME": "TIME", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT",
          "INTEGER": "INT", "BOOLEAN": "BOOLEAN"}


def ddl(dialect: str = "duckdb", *, prefix: str = "", if_not_exists: bool = True) -> list[str]:
    """``CREATE TABLE`` statements of the canonical tables in ``dialect`` (any sqlglot dialect:
    ``duckdb``, ``postgres``, ``spark``...); ``prefix`` is put before each table name (a schema
    such as ``"eligimatch."``, or a name prefix).

        >>> print(ddl("postgres")[0])   # doctest: +ELLIPSIS
        CREATE TABLE IF NOT EXISTS patients (patient_id VARCHAR NOT NULL, birth_earliest DATE, ...)
    """
    from sqlglot import exp

    out = []
    for t in TABLES:
        cols = []
        for c in t.columns:
            constraints = [] if c.nullable else [exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())]
            cols.append(exp.ColumnDef(this=exp.to_identifier(c.name), kind=exp.DataType.build(_TYPES[c.type]),
                                      constraints=constraints))
        name = exp.to_table(prefix + t.name) if "." in prefix else exp.to_table(f"{prefix}{t.name}")
        create = exp.Create(this=exp.Schema(this=name, expressions=cols), kind="TABLE", exists=if_not_exists)
        out.append(create.sql(dialect=dialect))
    return out


def schema_markdown() -> str:
    """The tables as docs/sql.md shows them (one Markdown table per canonical table); the test of the
    documentation checks that docs/sql.md contains exactly this text."""
    parts = []
    for t in TABLES:
        parts.append(f"### `{t.name}`\n\n{t.doc}\n\n| column | type | NULL | meaning |\n|---|---|---|---|")
        for c in t.columns:
            parts.append(f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {c.doc} |")
        parts.append("")
    return "\n".join(parts)
