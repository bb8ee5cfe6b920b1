"""A trial run on a population's backend: the SQL compiler's query, its rows kept in the database.

:func:`compile_run` compiles the trial for the backend's dialect (:func:`eligimatch.sql.compile_sql`,
strict: a criterion the backend cannot express is an error naming it -- never a run that answers
differently from the row engine), builds the mapping tables the query reads (units and coded values,
from the data's own spellings: :func:`eligimatch.sql.prepare`) and keeps the query's rows as a
temporary table (a view of a local checkpoint on Spark).  The run's columns are the compiler's: ``patient_id``, one
TRUE/FALSE/NULL column per criterion (named by its id), ``<id>:review`` for a criterion with a
judgment, ``verdict``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from eligimatch.engine._trial import CompiledTrial
from eligimatch.errors import PopulationError, SqlNotExpressibleError
from eligimatch.sql._population import CriterionColumn, TrialRun

__all__ = ["compile_run", "quote"]


def quote(name: str) -> str:
    """A column name as a DuckDB identifier (the population queries are written in DuckDB's SQL and
    rendered for the backend by sqlglot, which quotes it the backend's way)."""
    return '"' + name.replace('"', '""') + '"'


def compile_run(backend: Any, trial: CompiledTrial, *, as_of: _dt.date, anchors: Mapping[str, _dt.date],
                table: str, label: str) -> TrialRun:
    from eligimatch.sql import compile_sql, prepare

    try:
        st = compile_sql(trial, backend.dialect)
    except SqlNotExpressibleError as exc:
        raise PopulationError(f"{exc}\nThe row engine (eligimatch screen) answers for these criteria; the "
                              f"database run does not, rather than answer differently.") from None
    prepare(backend, st, as_of, anchors or None)
    backend.materialize(table, st.query(as_of, anchors or None))
    names, _ = backend.columns(f"SELECT * FROM {table} LIMIT 0")
    present = set(names)
    texts = {c.id: c.text for c in trial.all_criteria()}
    exceptions = {c.id for c in trial.all_criteria() if c.judgment_exception}
    criteria = []
    for c in st.criteria:
        if c.id not in present:  # pragma: no cover - a complete SqlTrial has every column
            raise PopulationError(f"internal error: the query of {label} has no column for {c.id}")
        review = quote(f"{c.id}:review") if f"{c.id}:review" in present else None
        criteria.append(CriterionColumn(id=c.id, kind=c.kind, cohort=c.cohort, text=texts.get(c.id),
                                        outcome=quote(c.id), review=review, exception=c.id in exceptions))
    return TrialRun(trial=trial, label=label, table=table, criteria=tuple(criteria),
                    cohorts=tuple((cid, title) for cid, title, _ in trial.cohorts))
