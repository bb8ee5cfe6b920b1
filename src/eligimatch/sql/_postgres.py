"""PostgreSQL: the canonical patient tables in a PostgreSQL database, through psycopg 3.

:func:`write_postgres` creates the canonical tables (:mod:`eligimatch.sql._schema`, rendered for
PostgreSQL) and loads ``Patient`` objects into them; :func:`copy_to_postgres` copies canonical
tables that are already in DuckDB (a DuckDB file written by :func:`~eligimatch.sql.write_duckdb`,
or OMOP views presented as the canonical tables) into PostgreSQL.  Both stream through
``COPY ... FROM STDIN`` in CSV: DuckDB writes each table as CSV (text columns always quoted, NULL
as ``\\N``, so an empty text and a NULL stay apart; doubles printed in their shortest exact form,
so a value read back is the same binary number), PostgreSQL reads it.  No per-row round trip.

The compiled trials then run on the connection like on any other (the ``postgres`` dialect of the
SQL compiler); :mod:`eligimatch.sql._population` does that.

    conn = psycopg.connect("postgresql://localhost/cdm")
    write_postgres(conn, patients)                      # or: copy_to_postgres(duckdb_con, conn)

Needs the ``postgres`` extra (``pip install 'eligimatch[postgres]'``: psycopg 3 with its libpq).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eligimatch.errors import EligimatchError
from eligimatch.sql._schema import TABLES, ddl

__all__ = ["copy_to_postgres", "require_psycopg", "write_postgres"]

_CHUNK = 1 << 20


def require_psycopg() -> Any:
    """The psycopg module, or a clear error naming the extra to install."""
    try:
        import psycopg
    except ImportError:
        raise EligimatchError("PostgreSQL needs psycopg 3: pip install 'eligimatch[postgres]'") from None
    return psycopg


def _qualified(schema: str | None, name: str) -> str:
    from psycopg import sql

    ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    return ident.as_string(None)


def _create(conn: Any, schema: str | None, replace: bool) -> None:
    with conn.cursor() as cur:
        if schema:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_qualified(None, schema)}")
        for t, stmt in zip(TABLES, ddl("postgres", prefix=f"{schema}." if schema else "")):
            if replace:
                cur.execute(f"DROP TABLE IF EXISTS {_qualified(schema, t.name)}")
            cur.execute(stmt)


def copy_to_postgres(duck: Any, conn: Any, *, schema: str | None = None, replace: bool = False,
                     tables: Iterable[str] | None = None) -> dict[str, int]:
    """Copy the canonical tables readable in the DuckDB connection ``duck`` into the PostgreSQL
    connection ``conn`` (in ``schema`` when given, created if absent; the tables are created if absent,
    dropped first with ``replace``), and analyses them (the planner's statistics).  Commits.  Returns the
    number of rows copied per table.

    Needs a PostgreSQL server (tests/population starts one), so the example is not run here:

        >>> import duckdb, psycopg                                         # doctest: +SKIP
        >>> from eligimatch.sql import copy_to_postgres
        >>> duck = duckdb.connect("patients.duckdb", read_only=True)       # doctest: +SKIP
        >>> with psycopg.connect("postgresql://localhost/cdm") as conn:    # doctest: +SKIP
        ...     copy_to_postgres(duck, conn, schema="screening", replace=True)["patients"]
        1000000
    """
    require_psycopg()
    wanted = set(tables) if tables is not None else None
    _create(conn, schema, replace)
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="eligimatch-pg-copy-") as tmp:
        for t in TABLES:
            if wanted is not None and t.name not in wanted:
                continue
            path = Path(tmp) / f"{t.name}.csv"
            cols = ", ".join(f'"{c.name}"' for c in t.columns)
            text_cols = [f'"{c.name}"' for c in t.columns if c.type == "TEXT"]
            quote = f", FORCE_QUOTE ({', '.join(text_cols)})" if text_cols else ""
            quoted_path = str(path).replace("'", "''")
            duck.execute(f"COPY (SELECT {cols} FROM {t.name}) TO '{quoted_path}' "
                         f"(FORMAT csv, HEADER false, NULL '\\N'{quote})")
            with conn.cursor() as cur:
                with cur.copy(f"COPY {_qualified(schema, t.name)} ({cols}) FROM STDIN "
                              f"(FORMAT csv, NULL '\\N')") as cp, open(path, "rb") as fh:
                    while block := fh.read(_CHUNK):
                        cp.write(block)
                counts[t.name] = cur.rowcount
                # the planner's statistics now, not when autovacuum gets to it: a trial's plan depends on them
                cur.execute(f"ANALYZE {_qualified(schema, t.name)}")
            path.unlink()
    conn.commit()
    return counts


def write_postgres(conn: Any, patients: Iterable[Any], catalogs: Any = None, *, schema: str | None = None,
                   replace: bool = False) -> dict[str, int]:
    """Write ``patients`` (:class:`~eligimatch.Patient` objects) into the canonical tables of the
    PostgreSQL connection ``conn``, resolving names and codes exactly as
    :func:`~eligimatch.sql.write_duckdb` does (it stages them in an in-memory DuckDB).  Commits.
    Returns the number of rows written per table.

    Needs a PostgreSQL server (tests/population starts one), so the example is not run here:

        >>> import eligimatch, psycopg                                      # doctest: +SKIP
        >>> from eligimatch.sql import write_postgres
        >>> with psycopg.connect("postgresql://localhost/cdm") as conn:    # doctest: +SKIP
        ...     write_postgres(conn, [eligimatch.load_patient('{"id": "p1"}')])["patients"]
        1
    """
    import duckdb

    from eligimatch.sql._writer import write_duckdb

    require_psycopg()
    duck = duckdb.connect()
    try:
        write_duckdb(duck, patients, catalogs)
        return copy_to_postgres(duck, conn, schema=schema, replace=replace)
    finally:
        duck.close()
