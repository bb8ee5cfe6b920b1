"""Open a patient database for population queries, and tell what it holds.

:func:`open_database` takes a DuckDB file or a PostgreSQL URL (``postgresql://...``) and returns a
:class:`Database`: its backend (:mod:`eligimatch.sql._backends`) and what it found --

* ``canonical``: the canonical patient tables (:mod:`eligimatch.sql._schema`), as written by
  :func:`~eligimatch.sql.write_duckdb` / :func:`~eligimatch.sql.write_postgres`;
* ``omop``: an OMOP CDM database (PERSON, OBSERVATION_PERIOD, CONCEPT ...): the canonical tables are
  then temporary views over it (:mod:`eligimatch.sources.omop`), made in this connection only --
  the database itself is opened read-only and never written.

Anything else is a :class:`~eligimatch.errors.PopulationError` naming what is missing.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eligimatch.errors import PopulationError
from eligimatch.sql._backends import Backend, connect_backend
from eligimatch.sql._schema import TABLES

__all__ = ["Database", "database_kind", "detect", "open_database"]


@dataclass
class Database:
    """An open patient database: ``backend`` to run on, ``kind`` (``canonical`` or ``omop``),
    ``name`` (the file or URL, without a password).  Made by :func:`open_database`; closes its
    connection on :meth:`close` (or at the end of a ``with`` block).

        >>> import duckdb, eligimatch, os, tempfile
        >>> from eligimatch import sql
        >>> path = os.path.join(tempfile.mkdtemp(), "patients.duckdb")
        >>> with duckdb.connect(path) as con:
        ...     _ = sql.write_duckdb(con, [eligimatch.load_patient('{"id": "p1"}')])
        >>> with sql.open_database(path) as db:
        ...     print(db.kind, db.backend.dialect, db.backend.rows("SELECT count(*) FROM patients"))
        canonical duckdb [(1,)]
    """

    backend: Backend
    kind: str
    name: str
    schema: str | None = None

    def close(self) -> None:
        close = getattr(self.backend.handle, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Database:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tables_present(backend: Backend, schema: str | None) -> set[str]:
    where = f" AND lower(table_schema) = '{schema.lower()}'" if schema else ""
    if backend.dialect == "duckdb" and not schema:
        where = " AND table_catalog = current_database() AND table_schema IN ('main', 'temp')"
    elif backend.dialect == "postgres" and not schema:
        where = " AND table_schema = ANY (current_schemas(false))"
    rows = backend.rows(f"SELECT lower(table_name) FROM information_schema.tables WHERE 1 = 1{where}")
    return {str(r[0]) for r in rows}


def database_kind(target: Any, schema: str | None = None) -> str:
    """What the database of ``target`` (a connection, a Spark session or a :class:`Backend`) holds, in
    ``schema`` (default: the connection's own): ``canonical`` (the canonical patient tables) or
    ``omop`` (an OMOP CDM database; the canonical tables win when both are there); anything else is a
    :class:`~eligimatch.errors.PopulationError` naming what is missing.  Nothing is created.

        >>> import duckdb
        >>> from eligimatch.sql import database_kind, ddl
        >>> con = duckdb.connect()
        >>> database_kind(con)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        eligimatch.errors.PopulationError: neither the canonical patient tables nor an OMOP CDM database: ...
        >>> for statement in ddl("duckdb"):
        ...     _ = con.execute(statement)
        >>> database_kind(con)
        'canonical'
    """
    return detect(connect_backend(target), schema)


def detect(backend: Backend, schema: str | None = None) -> str:
    """``canonical`` or ``omop`` (canonical tables win when both are there), else a PopulationError."""
    present = _tables_present(backend, schema)
    wanted = {t.name for t in TABLES}
    if wanted <= present:
        return "canonical"
    omop = {"person", "observation_period", "concept"}
    if omop <= present:
        return "omop"
    missing = sorted(wanted - present)
    raise PopulationError(
        "neither the canonical patient tables nor an OMOP CDM database"
        + (f" in schema {schema!r}" if schema else "")
        + f": missing canonical table{'s' if len(missing) != 1 else ''} {', '.join(missing)}"
        + (f"; OMOP needs {', '.join(sorted(omop - present))}" if omop - present else "")
        + " (write patients with eligimatch.sql.write_duckdb, or give an OMOP CDM database)")


def _omop_views(backend: Backend, schema: str | None, as_of: _dt.date | None, complete: Any = None) -> None:
    """TEMP views presenting the OMOP tables as the canonical ones (:func:`eligimatch.omop.create_views`:
    the same mapping as ``eligimatch.omop.patient``, completeness ``complete`` as of ``as_of``)."""
    if backend.dialect == "spark":
        raise PopulationError("OMOP views are made for DuckDB and PostgreSQL; on Spark, register the canonical "
                              "tables (eligimatch.spark.tables)")
    from eligimatch.sources.omop import create_views

    create_views(backend.handle, as_of=as_of, schema=schema, complete=complete)


def open_database(target: Any, *, schema: str | None = None, read_only: bool = True,
                  as_of: _dt.date | None = None, complete: Any = None) -> Database:
    """Open ``target`` -- a DuckDB file path, a ``postgresql://`` (or ``postgres://``) URL, or an open
    connection / Spark session -- and make its patients readable as the canonical tables.  For an OMOP
    database, ``complete`` is the completeness claim of :func:`eligimatch.omop.create_views` (None, the
    default: no history is complete, an absent record proves nothing; ``"observation_period"``: complete for
    a person whose observation period covers their life up to ``as_of``; a Completeness) and ``as_of``
    (default today) the date the observation periods are read at; both are ignored for canonical tables,
    whose ``patients`` rows carry their own completeness flags.

        >>> from eligimatch.sql import open_database
        >>> open_database("no/such/file.duckdb")
        Traceback (most recent call last):
        ...
        eligimatch.errors.PopulationError: no/such/file.duckdb: no such file

    An open database screens like a connection (see :class:`Database` for one made from a file):
    ``sql.screen_population(db.backend, trials, as_of=...)``.
    """
    name = ""
    if isinstance(target, (str, os.PathLike)):
        text = os.fspath(target)
        if text.startswith(("postgresql://", "postgres://")):
            from eligimatch.sql._postgres import require_psycopg

            psycopg = require_psycopg()
            try:
                handle = psycopg.connect(text)
            except psycopg.Error as exc:
                raise PopulationError(f"{_redact(text)}: cannot connect: {str(exc).strip()}") from None
            name = _redact(text)
        else:
            path = Path(text)
            if not path.is_file():
                raise PopulationError(f"{text}: no such file" if not path.exists() else f"{text}: not a file")
            import duckdb

            try:
                handle = duckdb.connect(str(path), read_only=read_only)
            except duckdb.Error as exc:
                raise PopulationError(f"{text}: not a DuckDB database ({str(exc).splitlines()[0]})") from None
            name = text
    else:
        handle = target
        name = type(target).__name__
    backend = connect_backend(handle)
    try:
        if schema and backend.dialect == "postgres":
            backend.execute(f'SET search_path TO "{schema}", public')
        kind = detect(backend, schema)
        if kind == "omop":
            _omop_views(backend, schema, as_of, complete)
    except BaseException:
        if handle is not target:
            handle.close()
        raise
    return Database(backend=backend, kind=kind, name=name, schema=schema)


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
