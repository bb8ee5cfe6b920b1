"""A trial's query run in steps on PostgreSQL: each common table expression a temporary table, analysed.

Why: PostgreSQL plans a whole query from estimates, and the estimates of a trial's query are wrong where it
matters.  The latest result of an analyte joins a patient's results to their latest date on two columns
(patient and date); the planner multiplies the two selectivities and expects about 20 rows where there is one
per patient, then joins that onto ``patients`` with a nested loop -- for every patient a pass over every
patient's results: cost quadratic in the patients (docs/performance.md, "PostgreSQL").  Settings do not fix it
(``enable_nestloop = off`` gives merge joins with sorts, worse).  Giving the planner the true sizes does: each
common table expression of the query (the per-patient results of a criterion, the latest results of an analyte,
the anchors...) is created as a ``TEMP`` table and ``ANALYZE``\\ d, in order, and the query is then run without its
``WITH``, reading those tables under the same names.  The answers are the same query's (the same SQL, cut at
its CTEs); only the plans change.  Two more things PostgreSQL does badly on these queries are turned off
while a staged query runs: its JIT compiler (seconds of LLVM per step for long expressions that then run on a
few thousand rows), and the pull-up of a derived table into the aggregation over it (:func:`_fence`).

:func:`split` does the cutting (with sqlglot, in the ``postgres`` dialect); :class:`Staged` runs it on a
psycopg connection and drops the tables after.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sqlglot
from sqlglot import exp

__all__ = ["split", "staged"]

_WITH = re.compile(r"\bWITH\b", re.IGNORECASE)
_INERROR = 3  # psycopg.pq.TransactionStatus.INERROR (not imported: psycopg is an optional extra)


def split(sql: str, dialect: str = "postgres") -> tuple[list[tuple[str, str]], str]:
    """``(steps, rest)``: the common table expressions of the outermost ``WITH`` in ``sql`` (wherever it is
    nested: the compiled trials put theirs in a subquery) as ``(name, SELECT)`` in order, and ``sql`` without
    that ``WITH``.  A query without one gives ``([], sql)``.

        >>> steps, rest = split("SELECT q.x FROM (WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) "
        ...                     "SELECT x FROM b) AS q")
        >>> steps
        [('a', 'SELECT 1 AS x'), ('b', 'SELECT x FROM a')]
        >>> rest
        'SELECT q.x FROM (SELECT x FROM b OFFSET 0) AS q'

    A select over one derived table keeps it as written (:func:`_fence`):

        >>> split("WITH a AS (SELECT k.p, MAX(k.v) AS v FROM (SELECT p, v * 2 AS v FROM t) AS k GROUP BY k.p) "
        ...       "SELECT v FROM a")[0]
        [('a', 'SELECT k.p, MAX(k.v) AS v FROM (SELECT p, v * 2 AS v FROM t OFFSET 0) AS k GROUP BY k.p')]
    """
    if not _WITH.search(sql):
        return [], sql
    tree = sqlglot.parse_one(sql, read=dialect)
    with_ = next(iter(tree.find_all(exp.With)), None)
    if with_ is None or with_.args.get("recursive"):
        return [], sql
    for select in tree.find_all(exp.Select):
        _fence(select)
    steps = [(cte.args["alias"].this.sql(dialect=dialect), cte.this.sql(dialect=dialect)) for cte in with_.expressions]
    with_.pop()
    return steps, tree.sql(dialect=dialect)


def _fence(select: exp.Select) -> None:
    """``SELECT ... FROM (SELECT <expressions> ...) k [GROUP BY ...]``, with no WHERE and no join: the derived
    table gets ``OFFSET 0``, which keeps PostgreSQL from pulling it up into the select over it -- pulled up,
    each of its computed columns (a CKD-EPI formula, a converted value, a criterion's truth) is computed again
    at every use above (a criterion's Kleene aggregation uses each several times, the verdict every
    criterion's): the same rows, many times the work.  Nothing is filtered above it, so nothing is lost."""
    source = select.args.get("from_") or select.args.get("from")  # "from_" since sqlglot 28
    if source is None or select.args.get("where") is not None or select.args.get("joins"):
        return
    inner = source.this
    if isinstance(inner, exp.Subquery) and isinstance(inner.this, exp.Select) and \
            inner.this.args.get("offset") is None and inner.this.args.get("limit") is None:
        inner.this.set("offset", exp.Offset(expression=exp.Literal.number(0)))


@contextlib.contextmanager
def staged(conn: Any, sql: str) -> Iterator[str]:
    """Create the common table expressions of ``sql`` as analysed ``TEMP`` tables on the psycopg connection
    ``conn``; yields the rest of the query (which reads them), and drops them at the end."""
    steps, rest = split(sql)
    if not steps:
        yield sql
        return
    made: list[str] = []
    jit = None
    try:
        with conn.cursor() as cur:
            # a trial's expressions are long; compiling them with LLVM (PostgreSQL's JIT) costs seconds per step
            # and saves nothing on queries this short -- off while they run, the session's setting restored after
            cur.execute("SELECT current_setting('jit', true)")
            row = cur.fetchone()
            jit = row[0] if row else None
            if jit is not None:
                cur.execute("SET jit = off")
            for name, select in steps:
                # pg_temp: a table of the database that happens to bear a step's name is never touched
                cur.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
                cur.execute(f"CREATE TEMP TABLE {name} AS {select}")
                made.append(name)
                cur.execute(f"ANALYZE {name}")
        yield rest
    finally:
        # after an error the transaction is aborted: its rollback removes the tables (PostgreSQL's DDL is
        # transactional), and a DROP now would only hide the error
        if conn.info.transaction_status != _INERROR:
            with conn.cursor() as cur:
                for name in reversed(made):
                    cur.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
                if jit is not None:
                    cur.execute("SELECT set_config('jit', %s, false)", (jit,))
