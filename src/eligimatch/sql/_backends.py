"""Where a population query runs: a DuckDB connection, a PostgreSQL connection (psycopg 3) or a Spark
session, behind one small interface (:class:`Backend`).

The population answers (:mod:`eligimatch.sql._population`) keep each trial's per-patient results in
the database itself (a temporary table, or a view of a local checkpoint in Spark) and ask it for counts, attrition
and what-if comparisons: only aggregates and the rows asked for come back to Python.

    backend = connect_backend(duckdb.connect("cdm.duckdb"))   # or a psycopg connection, or a SparkSession
    backend.dialect      # "duckdb" | "postgres" | "spark": the SQL compiler's target
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from eligimatch.errors import PopulationError

__all__ = ["Backend", "DuckDBBackend", "PostgresBackend", "SparkBackend", "connect_backend"]


class Backend(Protocol):
    """What the population answers need from a database: :func:`connect_backend` gives the one of a
    DuckDB connection, a psycopg 3 connection or a Spark session.

        >>> import duckdb
        >>> from eligimatch.sql import connect_backend
        >>> backend = connect_backend(duckdb.connect())
        >>> backend.dialect
        'duckdb'
        >>> backend.materialize("t", "SELECT 1 AS x UNION ALL SELECT 2")
        >>> backend.rows("SELECT sum(x) FROM t")
        [(3,)]
    """

    dialect: str
    #: the object given (connection or session), for the SQL compiler's runner
    handle: Any

    def execute(self, sql: str) -> None: ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def iter_rows(self, sql: str, batch: int = 10_000) -> Iterator[tuple[Any, ...]]: ...

    def materialize(self, name: str, sql: str) -> None:
        """Keep the rows of ``sql`` as the temporary table (or view of a local checkpoint) ``name``."""

    def drop(self, name: str) -> None: ...

    def export(self, sql: str, columns: Sequence[str], path: Path, fmt: str) -> int:
        """Write the rows of ``sql`` (text and number columns only) to ``path`` as ``csv`` or
        ``parquet``; the number of rows."""

    # the SQL compiler's runner interface (eligimatch.sql.Adapter): its mapping tables are made through these

    def fetch(self, sql: str) -> list[tuple[Any, ...]]: ...

    def columns(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def replace_table(self, name: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None: ...


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DuckDBBackend:
    """A DuckDB connection as a :class:`Backend` (results kept as TEMP tables of the connection).

        >>> import duckdb
        >>> from eligimatch.sql import DuckDBBackend
        >>> backend = DuckDBBackend(duckdb.connect())
        >>> backend.replace_table("t", [("x", "INTEGER")], [(1,), (2,)])
        >>> list(backend.iter_rows("SELECT x * 10 FROM t ORDER BY x"))
        [(10,), (20,)]
    """

    dialect = "duckdb"

    def __init__(self, con: Any):
        self.handle = self.con = con
        # no progress bar on the terminal of a library call (DuckDB draws one for long queries); an old
        # DuckDB without the setting keeps its default, harmlessly
        with contextlib.suppress(Exception):
            con.execute("SET enable_progress_bar = false")

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def iter_rows(self, sql: str, batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
        # on the connection itself: a cursor() is another connection, which does not see TEMP tables;
        # so no other query on this connection until the rows are read
        result = self.con.execute(sql)
        while chunk := result.fetchmany(batch):
            yield from chunk

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self.rows(sql)

    def columns(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()

    def replace_table(self, name: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(f"{c} {t}" for c, t in columns)
        self.con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} ({cols})")
        if rows:
            self.con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in columns)})", rows)

    def export(self, sql: str, columns: Sequence[str], path: Path, fmt: str) -> int:
        opts = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
        row = self.con.execute(f"COPY ({sql}) TO {_q(path)} ({opts})").fetchone()  # COPY answers its row count
        return int(row[0]) if row else 0


_PG_TYPES = {"DOUBLE": "DOUBLE PRECISION", "VARCHAR": "TEXT", "STRING": "TEXT"}
_SPARK_TYPES = {"VARCHAR": "STRING", "TEXT": "STRING", "INTEGER": "INT"}


class PostgresBackend:
    """A psycopg 3 connection as a :class:`Backend` (results kept as TEMP tables, analysed; rows
    streamed through a server-side cursor).  The caller owns the connection and its transaction.

        >>> import psycopg                                       # doctest: +SKIP
        >>> from eligimatch.sql import PostgresBackend
        >>> backend = PostgresBackend(psycopg.connect("postgresql://localhost/cdm"))  # doctest: +SKIP
        >>> backend.rows("SELECT 1 + 1")                        # doctest: +SKIP
        [(2,)]

    The :attr:`dialect` is what the SQL compiler writes for it:

        >>> PostgresBackend.dialect
        'postgres'
    """

    dialect = "postgres"

    def __init__(self, conn: Any):
        self.handle = self.conn = conn

    def execute(self, sql: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def iter_rows(self, sql: str, batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
        import uuid

        # a named (server-side) cursor: the rows stream instead of arriving all at once
        with self.conn.cursor(name=f"em_{uuid.uuid4().hex[:10]}") as cur:
            cur.itersize = batch
            cur.execute(sql)
            yield from cur

    def materialize(self, name: str, sql: str) -> None:
        # a query with common table expressions runs in steps, each analysed (eligimatch.sql._staged: the
        # planner's estimates of a trial's query in one piece make its cost quadratic in the patients)
        from eligimatch.sql._staged import staged

        with staged(self.conn, sql) as rest, self.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE TEMP TABLE {name} AS {rest}")
            cur.execute(f"ANALYZE {name}")

    def drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {name}")

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self.rows(sql)

    def columns(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        from eligimatch.sql._staged import staged

        with staged(self.conn, sql) as rest, self.conn.cursor() as cur:
            cur.execute(rest)
            return [d.name for d in cur.description or ()], list(cur.fetchall())

    def replace_table(self, name: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(f"{c} {_PG_TYPES.get(t.upper(), t)}" for c, t in columns)
        with self.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE TEMP TABLE {name} ({cols})")
            if rows:
                with cur.copy(f"COPY {name} ({', '.join(c for c, _ in columns)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            cur.execute(f"ANALYZE {name}")  # autovacuum never analyses a TEMP table: the planner would guess

    def export(self, sql: str, columns: Sequence[str], path: Path, fmt: str) -> int:
        if fmt == "csv":
            return self._copy_csv(sql, path)
        import duckdb

        with tempfile.TemporaryDirectory(prefix="eligimatch-export-") as tmp:
            staged = Path(tmp) / "rows.csv"
            n = self._copy_csv(sql, staged)
            con = duckdb.connect()
            try:
                cols = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)
                con.execute(f"COPY (SELECT * FROM read_csv({_q(staged)}, header = true, columns = {{{cols}}})) "
                            f"TO {_q(path)} (FORMAT parquet)")
            finally:
                con.close()
        return n

    def _copy_csv(self, sql: str, path: Path) -> int:
        n = 0
        with self.conn.cursor() as cur, open(path, "wb") as fh:
            with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)") as cp:
                fh.writelines(cp)
            n = cur.rowcount
        return max(n, 0)


class SparkBackend:
    """A Spark session as a :class:`Backend` (results kept as temporary views of local checkpoints).

        >>> import eligimatch.spark                               # doctest: +SKIP
        >>> from eligimatch.sql import SparkBackend
        >>> backend = SparkBackend(eligimatch.spark.local_session())  # doctest: +SKIP
        >>> backend.rows("SELECT 1 + 1")                           # doctest: +SKIP
        [(2,)]
        >>> SparkBackend.dialect
        'spark'
    """

    dialect = "spark"

    def __init__(self, spark: Any):
        self.handle = self.spark = spark
        self._kept: dict[str, Any] = {}  # the materialized results, by view name

    def execute(self, sql: str) -> None:
        self.spark.sql(sql).collect()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def iter_rows(self, sql: str, batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
        for r in self.spark.sql(sql).toLocalIterator():
            yield tuple(r)

    def materialize(self, name: str, sql: str) -> None:
        # computed once, here, and cut from the query that made it: a local checkpoint keeps the rows and
        # forgets the plan.  A persisted DataFrame keeps its plan, and every later question (counts, rows,
        # attrition, what-if) planned the whole trial again to find the cached rows in it: with the five
        # seed trials expressed whole (up to 126 common table expressions a trial) that took minutes a
        # question and filled a 3 GB driver heap.
        df = self.spark.sql(sql).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        self._kept[name] = df

    def drop(self, name: str) -> None:
        if self.spark.catalog.tableExists(name):
            self.spark.catalog.dropTempView(name)
        # the checkpoint's blocks go when Spark's context cleaner finds the DataFrame unreferenced
        self._kept.pop(name, None)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self.rows(sql)

    def columns(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        df = self.spark.sql(sql)
        return list(df.columns), [tuple(r) for r in df.collect()]

    def replace_table(self, name: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        schema = ", ".join(f"`{c}` {_SPARK_TYPES.get(t.upper(), t)}" for c, t in columns)
        df = self.spark.createDataFrame(rows, schema)
        df.createOrReplaceTempView(name)

    def export(self, sql: str, columns: Sequence[str], path: Path, fmt: str) -> int:
        """One local file (the rows pass through the driver); on a cluster write the DataFrame of
        :meth:`~eligimatch.sql.Population.rows_frame` with Spark's own writer instead."""
        n = 0
        if fmt == "csv":
            with open(path, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(columns)
                for row in self.iter_rows(sql):
                    w.writerow(row)
                    n += 1
            return n
        import duckdb

        with tempfile.TemporaryDirectory(prefix="eligimatch-export-") as tmp:
            staged = Path(tmp) / "rows.csv"
            n = self.export(sql, columns, staged, "csv")
            con = duckdb.connect()
            try:
                cols = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)
                con.execute(f"COPY (SELECT * FROM read_csv({_q(staged)}, header = true, columns = {{{cols}}})) "
                            f"TO {_q(path)} (FORMAT parquet)")
            finally:
                con.close()
        return n


def connect_backend(target: Any) -> Backend:
    """The :class:`Backend` of a DuckDB connection, a psycopg connection or a Spark session (a backend
    is returned as it is).

        >>> import duckdb
        >>> from eligimatch.sql import connect_backend
        >>> type(connect_backend(duckdb.connect())).__name__
        'DuckDBBackend'
        >>> connect_backend("cdm.duckdb")
        Traceback (most recent call last):
        ...
        eligimatch.errors.PopulationError: cdm.duckdb: give a connection; open a DuckDB file with eligimatch.sql.open_database()
    """
    if isinstance(target, (DuckDBBackend, PostgresBackend, SparkBackend)):
        return target
    module = type(target).__module__.split(".")[0].lstrip("_")  # duckdb's connection class lives in _duckdb
    if module == "duckdb":
        return DuckDBBackend(target)
    if module == "psycopg":
        return PostgresBackend(target)
    if module == "pyspark":
        return SparkBackend(target)
    if isinstance(target, (str, os.PathLike)):
        raise PopulationError(f"{os.fspath(target)}: give a connection; open a DuckDB file with "
                              f"eligimatch.sql.open_database()")
    raise PopulationError(f"cannot run population queries on a {type(target).__module__}.{type(target).__name__}: "
                          f"give a DuckDB connection, a psycopg 3 connection or a Spark session")
