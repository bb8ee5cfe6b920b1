"""Reading an OMOP CDM database through any DB-API connection (DuckDB, PostgreSQL through psycopg, SQLite).

:class:`Database` wraps the connection with the schema holding the CDM tables and the driver's parameter style;
rows come back as dicts keyed by lower-case column names (Eunomia writes its columns in upper case).
:func:`is_omop` tells whether a connection holds an OMOP CDM database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["REQUIRED", "Database", "is_omop"]

#: The tables (and columns) that make a database an OMOP CDM one for eligimatch.
REQUIRED = {
    "person": ("person_id", "gender_concept_id", "year_of_birth"),
    "observation_period": ("person_id", "observation_period_start_date", "observation_period_end_date"),
    "concept": ("concept_id", "vocabulary_id", "concept_code"),
}


def _name(value: str | None, what: str) -> str:
    if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{what} must be a plain SQL name, got {value!r}")
    return value or ""


class Database:
    """An OMOP CDM database: ``connection`` (DB-API), ``schema`` holding the CDM tables (None: the default
    search path), ``paramstyle`` of the driver (``qmark`` for DuckDB and SQLite, ``format`` for psycopg)."""

    def __init__(self, connection: Any, *, schema: str | None = None, paramstyle: str | None = None):
        self.con = connection
        self.schema = _name(schema, "schema")
        self.prefix = f"{self.schema}." if self.schema else ""
        style = paramstyle or _guess_paramstyle(connection)
        if style not in ("qmark", "format", "pyformat"):
            raise ValueError(f"paramstyle must be qmark, format or pyformat, got {style!r}")
        self.paramstyle = style
        self.mark = "?" if style == "qmark" else "%s"
        self._columns: dict[str, frozenset[str] | None] = {}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts; ``{p}`` in ``sql`` is the schema prefix and ``?`` a parameter."""
        cur = self.execute(sql.replace("?", self.mark).replace("{p}", self.prefix), params)
        try:
            names = [d[0].lower() for d in cur.description or ()]
            return [dict(zip(names, row)) for row in cur.fetchall()] if names else []
        finally:
            if cur is not self.con:
                getattr(cur, "close", lambda: None)()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement on the connection itself when it can (a DuckDB cursor is another connection, which
        would not see this one's TEMP tables), else on a cursor; returns what holds the result."""
        if hasattr(self.con, "execute"):
            return self.con.execute(sql, list(params)) if params else self.con.execute(sql)
        cur = self.con.cursor()
        cur.execute(sql, list(params)) if params else cur.execute(sql)
        return cur

    def insert(self, table: str, rows: list[tuple]) -> None:
        """Insert ``rows`` into ``table`` (a table name with its schema, if any)."""
        if not rows:
            return
        sql = f"INSERT INTO {table} VALUES ({', '.join([self.mark] * len(rows[0]))})"
        if hasattr(self.con, "executemany"):
            self.con.executemany(sql, rows)
            return
        cur = self.con.cursor()
        try:
            cur.executemany(sql, rows)
        finally:
            getattr(cur, "close", lambda: None)()

    def columns(self, table: str) -> frozenset[str] | None:
        """The lower-case column names of a CDM table, or None when there is no such table."""
        if table not in self._columns:
            self._columns[table] = self._read_columns(table)
        return self._columns[table]

    def _read_columns(self, table: str) -> frozenset[str] | None:
        if self.schema:
            where, params = " AND lower(table_schema) = ?", (table.lower(), self.schema.lower())
        elif self.paramstyle == "qmark":  # DuckDB: the current schema of the current database
            where, params = " AND table_schema = current_schema() AND table_catalog = current_database()", \
                (table.lower(),)
        else:  # PostgreSQL: the schemas of the search path
            where, params = " AND table_schema = ANY (current_schemas(false))", (table.lower(),)
        try:
            rows = self.query("SELECT column_name FROM information_schema.columns WHERE lower(table_name) = ?"
                              + where, params)
        except Exception:  # noqa: BLE001 -- no information_schema (SQLite): ask the table itself
            self._rollback()
            try:
                cur = self.execute(f"SELECT * FROM {self.prefix}{table} WHERE 1 = 0")
                return frozenset(d[0].lower() for d in cur.description or ())
            except Exception:  # noqa: BLE001 -- the table does not exist
                self._rollback()
                return None
        return frozenset(str(r["column_name"]).lower() for r in rows) or None

    def _rollback(self) -> None:
        rollback = getattr(self.con, "rollback", None)
        if rollback is not None:
            try:
                rollback()
            except Exception:  # noqa: BLE001, S110 -- nothing to roll back (DuckDB outside a transaction)
                pass

    def has(self, table: str, columns: Iterable[str] = ()) -> bool:
        """Whether ``table`` exists with every one of ``columns``."""
        cols = self.columns(table)
        return cols is not None and all(c in cols for c in columns)

    def concepts(self, ids: Iterable[Any]) -> dict[int, dict[str, Any]]:
        """The CONCEPT rows of ``ids`` (0 and None left out), by id."""
        wanted = sorted({int(i) for i in ids if i})
        out: dict[int, dict[str, Any]] = {}
        for k in range(0, len(wanted), 500):
            chunk = wanted[k:k + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.query("SELECT concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, "
                                  f"standard_concept, concept_code FROM {{p}}concept WHERE concept_id IN ({marks})",
                                  chunk):
                out[int(row["concept_id"])] = row
        return out


def _guess_paramstyle(connection: Any) -> str:
    module = type(connection).__module__.split(".")[0]
    return "format" if module in ("psycopg", "psycopg2", "pg8000", "pymysql", "MySQLdb") else "qmark"


def is_omop(connection: Any, *, schema: str | None = None) -> bool:
    """Whether the connection holds an OMOP CDM database (in ``schema``): the tables PERSON, OBSERVATION_PERIOD and
    CONCEPT with their key columns.  Reads only the catalog of tables; never raises for a database that is not OMOP.
    """
    db = Database(connection, schema=schema)
    return all(db.has(table, cols) for table, cols in REQUIRED.items())
