"""A trial run computed by the row engine (``eligimatch.match``), kept in DuckDB like a SQL run.

The population answers (counts, tiers, attrition, rows) read a run's table only through its columns:
this builds such a table from the row engine's results, so those answers can be checked against the
row engine's own verdicts and criterion outcomes, independently of the SQL compiler.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import eligimatch
from eligimatch.logic import Cause
from eligimatch.sql import CriterionColumn, TrialRun

_n = itertools.count()
_TRUTH = {"true": True, "false": False, "unknown": None}


def review_only(r: Any) -> bool:
    """The row engine's rule (engine._matching._blocking): unknown, and no cause but review."""
    return r.met is None and not any(c != Cause.REVIEW for c in r.causes)


def row_engine_run(con: Any, trial: Any, patients: Sequence[Any], as_of: dt.date) -> tuple[TrialRun, list[Any]]:
    """Match every patient with the row engine, keep the results in a DuckDB temp table; the run and
    the results."""
    results = [eligimatch.match(p, trial, as_of=as_of) for p in patients]
    crits = trial.all_criteria()
    table = f"rowrun_{next(_n)}"
    cols = ", ".join(f"o{k} BOOLEAN, r{k} BOOLEAN" for k in range(len(crits)))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (patient_id VARCHAR, verdict VARCHAR, {cols})")
    rows = []
    for p, res in zip(patients, results):
        by_id = {c.id: c for c in res.criteria}
        vals: list[Any] = [p.id, res.verdict.value]
        for c in crits:
            r = by_id[c.id]
            vals += [_TRUTH[r.outcome.value], review_only(r)]
        rows.append(vals)
    marks = ", ".join("?" * (2 + 2 * len(crits)))
    con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    columns = tuple(CriterionColumn(id=c.id, kind=c.kind, cohort=c.cohort, text=c.text, outcome=f"o{k}",
                                    review=f"r{k}", exception=c.judgment_exception) for k, c in enumerate(crits))
    from eligimatch.screening import trial_label

    run = TrialRun(trial=trial, label=trial_label(trial), table=table, criteria=columns,
                   cohorts=tuple((cid, title) for cid, title, _ in trial.cohorts))
    return run, results
