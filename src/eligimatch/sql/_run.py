"""Compiled trials, and running them on a database: :func:`compile_sql`, :class:`SqlTrial`, :func:`screen`.

A :class:`SqlTrial` holds a trial's plan and the dialect it is rendered in.  Its queries depend on the
evaluation date (``query(as_of)``): windows, ages and anchors are counted with the row engine's own
calendar functions before the query is written, so each dialect receives plain date comparisons.

Running needs a connection; any database is reached through a small :class:`Adapter` (DuckDB's is
:class:`DuckDBAdapter`; the PostgreSQL and Spark runners provide theirs).  :func:`run` builds the mapping
tables the query reads (unit factors and coded values, from the data's own distinct units) and returns one
row per patient.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlglot

from eligimatch.errors import SqlNotExpressibleError
from eligimatch.plan import _nodes as P
from eligimatch.sql._compiler import build_query
from eligimatch.sql._context import Needs
from eligimatch.sql._mappings import build_rows

__all__ = ["DIALECTS", "Adapter", "DuckDBAdapter", "SqlCriterion", "SqlTrial", "compile_sql", "run", "screen"]

#: The dialects the backend is tested on (any sqlglot dialect renders; these are the supported ones).
DIALECTS = ("duckdb", "postgres", "spark")


@dataclass(frozen=True)
class SqlCriterion:
    """One criterion of a :class:`SqlTrial`: ``expressible`` False with ``reason`` when the backend cannot
    express it (the row engine still can).

        >>> import eligimatch
        >>> from eligimatch.sql import compile_sql
        >>> st = compile_sql(eligimatch.compile_trial('trial "K"\\nexclusion:\\n  - E1: ecog >= 2\\n'))
        >>> st.criteria[0]
        SqlCriterion(id='E1', kind='exclusion', cohort=None, expressible=True, reason=None)
    """

    id: str
    kind: str
    cohort: str | None
    expressible: bool
    reason: str | None = None


@dataclass(frozen=True)
class SqlTrial:
    """A trial compiled for a SQL dialect.

    ``criteria``: every criterion, expressible or not; ``complete``: all are, so the query has a verdict.
    :meth:`query` renders the query for an evaluation date; :meth:`sql` each criterion's column.

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> st = sql.compile_sql(trial, "postgres")
        >>> st.id, st.dialect, st.complete, st.unsupported
        ('DEMO', 'postgres', True, {})
        >>> q = st.query(datetime.date(2026, 3, 1))
        >>> "AS verdict" in q and "CAST('2026-03-01' AS DATE)" in q
        True
    """

    plan: P.Plan
    catalogs: Any
    dialect: str
    criteria: tuple[SqlCriterion, ...]
    assume_absent: bool = False  # the policy: a missing record is an absence where the history is not complete
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def id(self) -> str | None:
        return self.plan.trial_id

    @property
    def complete(self) -> bool:
        return all(c.expressible for c in self.criteria)

    @property
    def unsupported(self) -> dict[str, str]:
        """The criteria the backend cannot express, with why."""
        return {c.id: c.reason or "" for c in self.criteria if not c.expressible}

    def _built(self, as_of: _dt.date, anchors: Mapping[str, _dt.date] | None) -> tuple[str, Any, Any]:
        key = (as_of, tuple(sorted((anchors or {}).items())))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = build_query(self.plan, self.catalogs, as_of, anchors,
                                                assume_absent=self.assume_absent)
            if len(self._cache) > 16:
                self._cache.pop(next(iter(self._cache)))
        return hit

    def query(self, as_of: _dt.date, anchors: Mapping[str, _dt.date] | None = None, *,
              pretty: bool = False) -> str:
        """The query on ``as_of`` in this trial's dialect: one row per patient (``patient_id``, one column per
        expressible criterion with TRUE/FALSE/NULL, ``<id>:review`` for a criterion with a judgment, and,
        when :attr:`complete`, ``cohort:<id>`` per cohort and ``verdict``: match / no_match / unknown).
        ``anchors``: dates of named anchors for every patient (else each patient's own, else ``as_of``
        for a visit anchor)."""
        text, _, _ = self._built(as_of, anchors)
        return _render(text, self.dialect, pretty)

    def sql(self, as_of: _dt.date, anchors: Mapping[str, _dt.date] | None = None) -> dict[str, str]:
        """Each expressible criterion's column expression in this dialect (it reads the query's aliases:
        ``p`` the patient, ``anch`` the anchors, and the common table expressions of :meth:`query`)."""
        _, compiled, ctx = self._built(as_of, anchors)
        leaves = {name: sql for sql, name in ctx.leaves.items()}

        def expand(truth: str) -> str:  # the predicates' own SQL in place of their columns
            return re.sub(r"\bL\.(l\d+)\b", lambda m: f"({leaves[m.group(1)]})", truth)
        return {c.id: _render_expr(expand(truth), self.dialect) for c, truth, _ in compiled.columns}

    def needs(self, as_of: _dt.date, anchors: Mapping[str, _dt.date] | None = None) -> Needs:
        """What the query reads from the mapping tables (see :mod:`eligimatch.sql._mappings`)."""
        return self._built(as_of, anchors)[2].needs


def _render(text: str, dialect: str, pretty: bool = False) -> str:
    return sqlglot.transpile(text, read="duckdb", write=dialect, pretty=pretty)[0]


def _render_expr(text: str, dialect: str) -> str:
    return sqlglot.parse_one(text, read="duckdb").sql(dialect=dialect)


def compile_sql(trial: Any, dialect: str = "duckdb", *, strict: bool = True, assume_absent: bool = False) -> SqlTrial:
    """Compile a trial (a :class:`~eligimatch.CompiledTrial`, or a :class:`~eligimatch.plan.Plan`) for
    ``dialect``.

    ``strict`` (default): a criterion the backend cannot express raises
    :class:`~eligimatch.errors.SqlNotExpressibleError` naming every such criterion; ``strict=False`` keeps
    them listed in :attr:`SqlTrial.unsupported` and leaves them (and the verdict) out of the query.
    ``assume_absent``: the policy of ``match(..., assume_absent=True)`` (a history with no matching record
    counts as absent even where the profile does not mark it complete).

        >>> import datetime, eligimatch
        >>> from eligimatch.sql import compile_sql
        >>> trial = eligimatch.compile_trial('''
        ... trial "DEMO"
        ... inclusion:
        ...   - I1 "Adults": age >= 18 years
        ...   - I2 "ANC": anc >= 1.5 x10^9/L
        ... ''')
        >>> st = compile_sql(trial)
        >>> st.complete, [c.id for c in st.criteria]
        (True, ['I1', 'I2'])
        >>> print(st.sql(datetime.date(2026, 3, 1))["I1"][:60])
        (CASE WHEN p.birth_earliest IS NULL OR p.birth_earliest > CA
    """
    plan = trial if isinstance(trial, P.Plan) else trial.plan
    catalogs = getattr(trial, "catalogs", None)
    if catalogs is None:
        from eligimatch.knowledge._catalogs import Catalogs

        catalogs = Catalogs.default()
    # compile once on a reference date to learn which criteria are expressible (what is expressible does
    # not depend on the date)
    text, compiled, _ = build_query(plan, catalogs, _dt.date(2000, 1, 1), {})
    reasons = {c.id: why for c, why in compiled.unsupported}
    criteria = tuple(SqlCriterion(c.id, c.kind, c.cohort, c.id not in reasons, reasons.get(c.id))
                     for c in plan.all_criteria())
    if strict and reasons:
        lines = "\n".join(f"  {cid}: {why}" for cid, why in reasons.items())
        raise SqlNotExpressibleError(f"trial {plan.trial_id or '(no id)'}: {len(reasons)} criteria cannot be "
                                     f"expressed in SQL ({dialect}):\n{lines}")
    _render(text, dialect)  # a dialect sqlglot cannot write fails here, at compile time
    return SqlTrial(plan, catalogs, dialect, criteria, assume_absent)


# ---- running ---------------------------------------------------------------------------------------------

class Adapter(Protocol):
    """How the runner reaches a database: what the PostgreSQL and Spark runners implement.  Any object
    with these three methods and a ``dialect`` runs compiled trials (:func:`run`, :func:`prepare`);
    :class:`DuckDBAdapter` is DuckDB's, and the population backends (:class:`Backend`) are adapters too.

        >>> import duckdb
        >>> from eligimatch.sql import DuckDBAdapter, connect_backend
        >>> for adapter in (DuckDBAdapter(duckdb.connect()), connect_backend(duckdb.connect())):
        ...     print(adapter.dialect, adapter.columns("SELECT 42 AS answer"))
        duckdb (['answer'], [(42,)])
        duckdb (['answer'], [(42,)])
    """

    dialect: str

    def fetch(self, sql: str) -> list[tuple]:
        """Run a query; its rows as tuples."""

    def columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run a query; its column names and rows."""

    def replace_table(self, name: str, columns: Sequence[tuple[str, str]], rows: list[tuple]) -> None:
        """(Re)create a table ``name`` (temporary where the database has them) holding ``rows``."""


class DuckDBAdapter:
    """A DuckDB connection (``duckdb.connect(...)``) as an :class:`Adapter`.

        >>> import duckdb
        >>> from eligimatch.sql import DuckDBAdapter
        >>> a = DuckDBAdapter(duckdb.connect())
        >>> a.replace_table("t", [("x", "INTEGER")], [(1,), (2,)])
        >>> a.fetch("SELECT sum(x) FROM t")
        [(3,)]
    """

    dialect = "duckdb"

    def __init__(self, con: Any):
        self.con = con

    def fetch(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()

    def replace_table(self, name: str, columns: Sequence[tuple[str, str]], rows: list[tuple]) -> None:
        cols = ", ".join(f"{c} {t}" for c, t in columns)
        self.con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} ({cols})")
        if rows:
            marks = ", ".join("?" for _ in columns)
            self.con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)


def _adapter(connection: Any) -> Any:
    if hasattr(connection, "replace_table") and hasattr(connection, "fetch"):
        return connection
    mod = type(connection).__module__
    if mod.startswith("duckdb") or mod.startswith("_duckdb"):
        return DuckDBAdapter(connection)
    raise TypeError(f"no SQL adapter for {type(connection).__name__}: pass a duckdb connection or an object "
                    f"with fetch/columns/replace_table (eligimatch.sql.Adapter)")


def prepare(connection: Any, trial: SqlTrial, as_of: _dt.date,
            anchors: Mapping[str, _dt.date] | None = None) -> None:
    """Build the mapping tables ``trial``'s query on ``as_of`` reads, from the data's own units and values
    (:func:`run` does it before each run; a caller running the query text itself calls it first).

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> st = sql.compile_sql(trial)
        >>> sql.prepare(con, st, datetime.date(2026, 3, 1))
        >>> con.execute("SELECT subject, unit, target, factor FROM eligimatch_units ORDER BY 2").fetchall()
        [('analyte:anc', '/uL', 'x10^9/L', 0.001), ('analyte:anc', None, 'x10^9/L', None)]
        >>> con.execute(st.query(datetime.date(2026, 3, 1)) + " ORDER BY 1").fetchall()
        [('p1', True, True, 'match'), ('p2', True, None, 'unknown')]
    """
    adapter = _adapter(connection)
    for name, (columns, rows) in build_rows(trial.needs(as_of, anchors), adapter.fetch,
                                               adapter.dialect).items():
        adapter.replace_table(name, columns, rows)


def run(connection: Any, trial: SqlTrial, as_of: _dt.date, anchors: Mapping[str, _dt.date] | None = None
        ) -> list[dict[str, Any]]:
    """Run ``trial`` on ``as_of``: one dict per patient (``patient_id``, each criterion's TRUE/FALSE/None,
    ``verdict`` when the trial is complete), ordered by ``patient_id``.  ``connection``: a DuckDB
    connection or an :class:`Adapter` (PostgreSQL, Spark).

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> sql.run(con, sql.compile_sql(trial), datetime.date(2026, 3, 1))
        [{'patient_id': 'p1', 'I1': True, 'I2': True, 'verdict': 'match'}, \
{'patient_id': 'p2', 'I1': True, 'I2': None, 'verdict': 'unknown'}]
    """
    adapter = _adapter(connection)
    prepare(adapter, trial, as_of, anchors)
    sql = trial.query(as_of, anchors) if adapter.dialect == trial.dialect else _render(
        trial._built(as_of, anchors)[0], adapter.dialect)
    names, rows = adapter.columns(sql + " ORDER BY patient_id")
    return [dict(zip(names, r)) for r in rows]


def screen(connection: Any, trials: Iterable[Any], as_of: _dt.date,
           anchors: Mapping[str, _dt.date] | None = None) -> list[dict[str, Any]]:
    """Every patient against every trial: one dict per (patient, trial) with ``trial``, ``patient_id``,
    ``verdict`` and ``criteria`` (criterion id -> True/False/None).  ``trials``: compiled trials or
    :class:`SqlTrial`; each must be expressible in SQL whole (see :func:`compile_sql`).

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> for row in sql.screen(con, [trial], datetime.date(2026, 3, 1)):
        ...     print(row)
        {'trial': 'DEMO', 'patient_id': 'p1', 'verdict': 'match', 'criteria': {'I1': True, 'I2': True}}
        {'trial': 'DEMO', 'patient_id': 'p2', 'verdict': 'unknown', 'criteria': {'I1': True, 'I2': None}}
    """
    out = []
    for t in trials:
        st = t if isinstance(t, SqlTrial) else compile_sql(t, _adapter(connection).dialect)
        if not st.complete:
            raise SqlNotExpressibleError(f"trial {st.id}: criteria {', '.join(st.unsupported)} cannot be "
                                         f"expressed in SQL; screen() needs whole trials")
        ids = [c.id for c in st.criteria]
        for row in run(connection, st, as_of, anchors):
            out.append({"trial": st.id, "patient_id": row["patient_id"], "verdict": row["verdict"],
                        "criteria": {i: row[i] for i in ids}})
    return out
