"""Screen a whole population where it is stored: counts by trial and verdict, one row per patient and
trial, and the questions a feasibility analyst asks next (:mod:`._attrition`, :mod:`._whatif`).

    import duckdb, eligimatch
    from eligimatch.sql import screen_population
    con = duckdb.connect("patients.duckdb")                 # canonical tables, or OMOP CDM: open_database()
    pop = screen_population(con, [eligimatch.load_trial("examples/trials/NCT05621486.elig")],
                            as_of=datetime.date(2026, 3, 1))
    pop.counts()                     # {'NCT05621486': {'match': 120, 'unknown': 3400, 'no_match': 6480}}
    pop.attrition("NCT05621486")     # criterion by criterion: passing, unknown, excluded
    pop.what_if("NCT05621486", drop=["I8"])      # how many more, and who
    pop.write("rows.parquet")        # one row per patient and trial

Each trial is compiled to the backend's SQL (:mod:`eligimatch.sql`'s compiler: one TRUE/FALSE/NULL
column per criterion, the verdict as their Kleene combination), run once, and its rows kept in the
database as a temporary table (a view of a local checkpoint on Spark).  Counts, attrition and what-if comparisons
are aggregate queries over those tables: a million patients never pass through Python.  Explanations
for a patient come from the row engine on demand (:func:`eligimatch.match`); this answers "who, and
which criteria".
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eligimatch.engine._trial import CompiledTrial
from eligimatch.errors import PopulationError
from eligimatch.sql._backends import Backend, connect_backend

__all__ = ["ROW_COLUMNS", "TIERS", "VERDICTS", "CriterionColumn", "Population", "TrialRun", "screen_population"]

#: the verdicts as the result tables spell them, best first
VERDICTS = ("match", "unknown", "no_match")
#: the tiers of :meth:`Population.tiers`, best first
TIERS = ("eligible", "eligible_pending_review", "possible", "unlikely", "not_eligible")
#: the columns of :meth:`Population.write` and :meth:`Population.rows`
ROW_COLUMNS = ("patient", "trial", "verdict", "not_met", "unknown", "review", "met", "matched_cohorts")

_counter = itertools.count()


@dataclass(frozen=True)
class CriterionColumn:
    """One criterion of a trial run: where its outcome is in the run's table.

    ``outcome``: a SQL expression over the run's table, TRUE / FALSE / NULL (unknown) -- the truth of
    the criterion's expression (for an exclusion, TRUE means the patient is excluded).
    ``review``: a SQL expression TRUE when the outcome is unknown *only* because the investigator must
    judge (such a criterion does not block a match; it is listed for review), else FALSE/NULL;
    ``None`` when the criterion can never be that.

    The columns of a run made elsewhere (another engine's results in a table) make a :class:`TrialRun`
    the population answers read like a compiled one's:

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> pop = sql.screen_population(con, [trial], as_of=datetime.date(2026, 3, 1))
        >>> c = pop.run("DEMO").criteria[1]
        >>> c.id, c.kind, c.met
        ('I2', 'inclusion', '("I2")')
    """

    id: str
    kind: str  # "inclusion" | "exclusion"
    cohort: str | None
    text: str | None
    outcome: str
    review: str | None = None
    #: an exclusion written ``<data> and judgment``: met data part = excluded unless the investigator
    #: judges the exception applies (the ``unlikely`` tier)
    exception: bool = False

    @property
    def met(self) -> str:
        """SQL: the criterion is met (TRUE), not met (FALSE) or unknown (NULL)."""
        return f"({self.outcome})" if self.kind == "inclusion" else f"(NOT ({self.outcome}))"

    @property
    def met_or_review(self) -> str:
        """SQL: met, with a review-only unknown counted as met (as the verdict counts it)."""
        if self.review is None:
            return self.met
        return f"(CASE WHEN {self.met} IS NULL AND COALESCE({self.review}, FALSE) THEN TRUE ELSE {self.met} END)"


@dataclass
class TrialRun:
    """One trial's results, kept in the database as table ``table`` (one row per patient).

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> pop = sql.screen_population(con, [trial], as_of=datetime.date(2026, 3, 1))
        >>> run = pop.run("DEMO")
        >>> run.label, [c.id for c in run.criteria]
        ('DEMO', ['I1', 'I2'])
        >>> con.execute(f"SELECT patient_id, {run.verdict} FROM {run.table} ORDER BY 1").fetchall()
        [('p1', 'match'), ('p2', 'unknown')]
    """

    trial: CompiledTrial
    label: str
    table: str
    criteria: tuple[CriterionColumn, ...]
    #: the column of ``table`` holding the verdict: 'match' / 'unknown' / 'no_match'
    verdict: str = "verdict"
    patient: str = "patient_id"
    cohorts: tuple[tuple[str, str | None], ...] = ()

    def criterion(self, cid: str) -> CriterionColumn:
        for c in self.criteria:
            if c.id == cid:
                return c
        import difflib

        close = difflib.get_close_matches(cid, [c.id for c in self.criteria], n=1, cutoff=0.5)
        raise PopulationError(f"trial {self.label}: no criterion {cid!r}"
                              + (f" (did you mean {close[0]!r}?)" if close else ""))


def _label(trial: CompiledTrial) -> str:
    from eligimatch.screening._screen import trial_label

    return trial_label(trial)


def _str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _list_sql(items: Sequence[tuple[str, str]]) -> str:
    """SQL: the ids whose condition holds, joined by ';' ('' when none)."""
    if not items:
        return "''"
    parts = ", ".join(f"CASE WHEN {cond} THEN {_str(cid)} END" for cid, cond in items)
    return f"CONCAT_WS(';', {parts})"


class Population:
    """The results of screening a population on one backend.  Made by :func:`screen_population`; the
    per-patient results stay in the database until :meth:`close` (or the end of a ``with`` block).

        >>> import datetime, duckdb, eligimatch
        >>> from eligimatch import sql
        >>> con = duckdb.connect()
        >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
        ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
        ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
        ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
        >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
        ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
        >>> pop = sql.screen_population(con, [trial], as_of=datetime.date(2026, 3, 1))
        >>> pop.counts(), pop.tiers()["DEMO"]["possible"]
        ({'DEMO': {'match': 1, 'unknown': 1, 'no_match': 0}}, 1)
        >>> [(r["patient"], r["verdict"], r["unknown"]) for r in pop.rows()]
        [('p1', 'match', ''), ('p2', 'unknown', 'I2')]
        >>> pop.what_if("DEMO", drop=["I2"]).newly_eligible
        1
        >>> pop.close()
    """

    def __init__(self, backend: Backend, as_of: _dt.date, runs: list[TrialRun],
                 anchors: Mapping[str, _dt.date] | None = None, source: str = ""):
        self.backend = backend
        self.as_of = as_of
        self.runs = runs
        self.anchors = dict(anchors or {})
        self.source = source

    # ---- access ----------------------------------------------------------------------------------

    def run(self, trial: str | CompiledTrial | None = None) -> TrialRun:
        """The run of ``trial`` (its label or id, or the trial; the only one when there is one)."""
        if trial is None:
            if len(self.runs) != 1:
                raise PopulationError(f"name a trial: {', '.join(r.label for r in self.runs)}")
            return self.runs[0]
        for r in self.runs:
            if r.trial is trial or r.label == trial or r.trial.id == trial:
                return r
        raise PopulationError(f"no trial {trial!r} in this population; trials: "
                              f"{', '.join(r.label for r in self.runs)}")

    def sql(self, text: str) -> str:
        """``text`` (written in DuckDB's SQL) in this backend's dialect."""
        if self.backend.dialect == "duckdb":
            return text
        import sqlglot

        return sqlglot.transpile(text, read="duckdb", write=self.backend.dialect)[0]

    # ---- answers ---------------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """Patients by trial and verdict: ``{label: {'match': n, 'unknown': n, 'no_match': n}}``."""
        out: dict[str, dict[str, int]] = {}
        for r in self.runs:
            got = dict.fromkeys(VERDICTS, 0)
            for verdict, n in self.backend.rows(self.sql(
                    f"SELECT {r.verdict} AS v, COUNT(*) AS n FROM {r.table} GROUP BY 1")):
                got[str(verdict)] = int(n)
            out[r.label] = got
        return out

    def tiers(self) -> dict[str, dict[str, int]]:
        """Patients by trial and screening tier (docs/screening.md), as far as the SQL results tell:
        ``eligible`` (MATCH, nothing to review), ``eligible_pending_review`` (MATCH once the investigator
        decides the criteria only they can), ``possible`` (UNKNOWN), ``unlikely`` (an exclusion whose data
        part is met, excluded unless the investigator judges the exception applies), ``not_eligible``
        (NO_MATCH).  The row engine also puts in ``unlikely`` a patient whose trial disease is not
        recorded while a competing primary diagnosis is: that needs the screening's disease probes, so
        such patients count here as ``possible`` (or ``eligible_pending_review``)."""
        out: dict[str, dict[str, int]] = {}
        for r in self.runs:
            review = " OR ".join(f"COALESCE({c.review}, FALSE)" for c in r.criteria if c.review) or "FALSE"
            excepted = " OR ".join(f"COALESCE({c.review}, FALSE)" for c in r.criteria
                                   if c.review and c.exception) or "FALSE"
            q = (f"SELECT CASE WHEN {r.verdict} = 'no_match' THEN 'not_eligible' "
                 f"WHEN {excepted} THEN 'unlikely' "
                 f"WHEN {r.verdict} = 'match' AND NOT ({review}) THEN 'eligible' "
                 f"WHEN {r.verdict} = 'match' THEN 'eligible_pending_review' "
                 f"ELSE 'possible' END AS t, COUNT(*) FROM {r.table} GROUP BY 1")
            got = dict.fromkeys(TIERS, 0)
            for tier, n in self.backend.rows(self.sql(q)):
                got[str(tier)] = int(n)
            out[r.label] = got
        return out

    def rows_sql(self, trials: Iterable[str] | None = None) -> str:
        """SQL of :data:`ROW_COLUMNS`: one row per patient and trial."""
        runs = self.runs if trials is None else [self.run(t) for t in trials]
        selects = []
        for r in runs:
            not_met = _list_sql([(c.id, f"{c.met_or_review} = FALSE") for c in r.criteria])
            unknown = _list_sql([(c.id, f"{c.met_or_review} IS NULL") for c in r.criteria])
            review = _list_sql([(c.id, f"{c.met} IS NULL AND COALESCE({c.review}, FALSE)")
                                for c in r.criteria if c.review is not None])
            met = _list_sql([(c.id, f"{c.met} = TRUE") for c in r.criteria])
            cohorts = _list_sql([(cid, _cohort_met(r, cid)) for cid, _ in r.cohorts])
            selects.append(
                f"SELECT {r.patient} AS patient, {_str(r.label)} AS trial, {r.verdict} AS verdict, "
                f"{not_met} AS not_met, {unknown} AS unknown, {review} AS review, {met} AS met, "
                f"{cohorts} AS matched_cohorts FROM {r.table}")
        return " UNION ALL ".join(selects) + " ORDER BY patient, trial"

    def rows(self, trials: Iterable[str] | None = None) -> Iterator[dict[str, str]]:
        """The rows of :meth:`write`, as dicts (streamed)."""
        for row in self.backend.iter_rows(self.sql(self.rows_sql(trials))):
            yield dict(zip(ROW_COLUMNS, (v if v is not None else "" for v in row)))

    def write(self, path: str | Path, fmt: str | None = None) -> int:
        """Write one row per patient and trial to ``path`` (``.parquet`` or ``.csv``, or ``fmt``); the
        number of rows.  Lists of criterion ids are joined by ``;``, as ``eligimatch screen`` writes them."""
        p = Path(path)
        fmt = fmt or ("parquet" if p.suffix.lower() == ".parquet" else "csv" if p.suffix.lower() == ".csv" else "")
        if fmt not in ("csv", "parquet"):
            raise PopulationError(f"{p}: write .parquet or .csv (or give fmt='csv' / 'parquet')")
        # written beside the target and renamed over it once complete: a failed run leaves no half file
        tmp = p.with_name(f".{p.name}.{os.getpid()}.partial")
        try:
            n = self.backend.export(self.sql(self.rows_sql()), ROW_COLUMNS, tmp, fmt)
            os.replace(tmp, p)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return n

    def rows_frame(self, trials: Iterable[str] | None = None) -> Any:
        """Spark only: the rows of :meth:`write` as a DataFrame, for Spark's own writers on a cluster
        (``pop.rows_frame().write.parquet("s3://.../rows")``)."""
        if self.backend.dialect != "spark":
            raise PopulationError("rows_frame() is for a Spark population; use rows() or write()")
        return self.backend.handle.sql(self.sql(self.rows_sql(trials)))

    def attrition(self, trial: str | CompiledTrial | None = None, *, order: Sequence[str] | None = None) -> Any:
        """Criterion-by-criterion attrition of ``trial`` (in file order, or ``order``: every general
        criterion's id once): see :class:`eligimatch.sql.Attrition`."""
        from eligimatch.sql._attrition import attrition

        return attrition(self, self.run(trial), order=order)

    def what_if(self, trial: str | CompiledTrial | None = None, *, drop: Iterable[str] = (),
                thresholds: Iterable[str] = (), replace: Iterable[str] = (), examples: int = 20) -> Any:
        """The same trial changed (criteria dropped, thresholds moved, expressions replaced): who
        moves between verdicts.  See :class:`eligimatch.sql.WhatIfResult`."""
        from eligimatch.sql._whatif import WhatIf
        from eligimatch.sql._whatif_run import what_if

        return what_if(self, self.run(trial), WhatIf.parse(drop, thresholds, replace), examples=examples)

    def close(self) -> None:
        """Drop the result tables."""
        for r in self.runs:
            self.backend.drop(r.table)
        self.runs = []

    def __enter__(self) -> Population:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cohort_met(run: TrialRun, cohort: str) -> str:
    items = [c.met_or_review for c in run.criteria if c.cohort == cohort]
    return "(" + " AND ".join(items) + ") = TRUE" if items else "TRUE"


def add_run(population: Population, trial: CompiledTrial, label: str | None = None) -> TrialRun:
    """Compile ``trial`` for the population's backend, run it, keep its rows; the run."""
    from eligimatch.sql._adapter import compile_run

    name = f"em_run_{next(_counter)}_{re.sub(r'[^a-z0-9]', '_', (label or _label(trial)).lower())[:40]}"
    run = compile_run(population.backend, trial, as_of=population.as_of, anchors=population.anchors,
                      table=name, label=label or _label(trial))
    return run


def screen_population(target: Any, trials: Sequence[CompiledTrial], *, as_of: _dt.date | None = None,
                      anchors: Mapping[str, _dt.date] | None = None, source: str = "") -> Population:
    """Run ``trials`` on the canonical tables of ``target`` (a DuckDB connection, a psycopg 3
    connection, a Spark session, or a :class:`~eligimatch.sql.Backend`) on ``as_of`` (default today).

    ``anchors``: dates of named anchors for every patient (a patient's own ``anchors`` rows come
    first, as in :func:`eligimatch.match`).

    >>> import datetime, duckdb, eligimatch
    >>> from eligimatch import sql
    >>> con = duckdb.connect()
    >>> _ = sql.write_duckdb(con, [eligimatch.load_patient(p) for p in (
    ...     '{"id": "p1", "birth_date": "1970-05-02", "observations": '
    ...     '[{"analyte": "anc", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}',
    ...     '{"id": "p2", "birth_date": "1990-01-01"}')])
    >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
    ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
    >>> with sql.screen_population(con, [trial], as_of=datetime.date(2026, 3, 1)) as pop:
    ...     print(pop.counts())
    {'DEMO': {'match': 1, 'unknown': 1, 'no_match': 0}}
    """
    backend = connect_backend(target)
    trials = list(trials)
    if not trials:
        raise PopulationError("no trials to screen")
    labels = [_label(t) for t in trials]
    dup = [lab for lab in set(labels) if labels.count(lab) > 1]
    if dup:
        raise PopulationError(f"trial id {dup[0]!r} is used by two trials; give each trial its own id")
    pop = Population(backend, as_of or _dt.date.today(), [], anchors, source)
    try:
        for t, lab in zip(trials, labels):
            pop.runs.append(add_run(pop, t, lab))
    except BaseException:
        pop.close()
        raise
    return pop
