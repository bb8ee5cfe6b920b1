"""Attrition: how many patients remain as a trial's criteria are applied one after the other.

Criteria are applied in the order of the criteria file (general inclusions, general exclusions, then
the cohorts as one last step: a patient passes it by meeting every criterion of at least one cohort),
or in an order given.  After each step a patient is in exactly one of three groups, by Kleene logic
(the verdict's own rule, so the last step's groups are the counts by verdict):

* ``passing``: every criterion so far is met (a criterion left to the investigator's judgment counts
  as met, as it does for a MATCH; those patients are also counted in ``pending_review``);
* ``unknown``: none is not met, at least one is unknown;
* ``excluded``: at least one is not met.

Each step also gives the criterion on its own, over the whole population (``met``, ``not_met``,
``unknown_alone``): ATLAS's "independent" counts beside its attrition.

The database does the counting: one pass groups the patients by the first step each fails, is
unknown at and waits for review at; the cumulative numbers are summed from those groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eligimatch.errors import PopulationError

__all__ = ["Attrition", "Step", "attrition"]


@dataclass(frozen=True)
class Step:
    """One step of the attrition: ``criterion`` applied after the steps before it.

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
        >>> step = pop.attrition("DEMO").steps[1]
        >>> step.criterion, step.passing, step.unknown, step.excluded
        ('I2', 1, 1, 0)
    """

    criterion: str  # a criterion id, or "cohorts"
    kind: str  # "inclusion" | "exclusion" | "cohorts"
    text: str | None
    passing: int
    unknown: int
    excluded: int
    #: excluded at this step (not met here, and met or unknown before)
    removed: int
    pending_review: int
    #: the criterion alone, over every patient
    met: int
    not_met: int
    unknown_alone: int


@dataclass(frozen=True)
class Attrition:
    """Attrition of one trial over one population (:meth:`eligimatch.sql.Population.attrition`): the
    steps, their plain-text :meth:`table`, and a chart (:meth:`html`, :meth:`png` with matplotlib).

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
        >>> att = pop.attrition("DEMO")
        >>> att.total, [s.criterion for s in att.steps], att.counts
        (2, ['I1', 'I2'], {'match': 1, 'unknown': 1, 'no_match': 0})
        >>> print(att.table())  # doctest: +ELLIPSIS
        DEMO: 2 patients on 2026-03-01
        ...
        I2         inclusion          1          1          0         0        0  1 / 0 / 1
        >>> att.html().startswith("<!doctype html>")
        True
    """

    trial: str
    title: str | None
    as_of: str
    total: int
    steps: tuple[Step, ...]
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.trial, "title": self.title, "as_of": self.as_of, "total": self.total,
                "counts": dict(self.counts), "steps": [s.__dict__.copy() for s in self.steps]}

    def table(self) -> str:
        """Plain text: one line per step."""
        w = max([len(s.criterion) for s in self.steps] + [9])
        head = (f"{'step':<{w}}  {'kind':<9}  {'passing':>9}  {'unknown':>9}  {'excluded':>9}  {'removed':>8}"
                f"  {'review':>7}  {'alone: met / not met / unknown'}")
        lines = [f"{self.trial}: {self.total:,} patients on {self.as_of}", head, "-" * len(head)]
        lines.append(f"{'(start)':<{w}}  {'':<9}  {self.total:>9,}  {0:>9,}  {0:>9,}")
        for s in self.steps:
            lines.append(f"{s.criterion:<{w}}  {s.kind:<9}  {s.passing:>9,}  {s.unknown:>9,}  {s.excluded:>9,}  "
                         f"{s.removed:>8,}  {s.pending_review:>7,}  {s.met:,} / {s.not_met:,} / {s.unknown_alone:,}")
        return "\n".join(lines)

    def html(self) -> str:
        from eligimatch.sql._chart import attrition_html

        return attrition_html([self])

    def png(self, path: Any) -> None:
        from eligimatch.sql._chart import attrition_png

        attrition_png(self, path)


def _case_first(items: Sequence[str]) -> str:
    """SQL: the 1-based position of the first condition that holds, NULL when none does."""
    if not items:
        return "CAST(NULL AS INTEGER)"
    return "CASE " + " ".join(f"WHEN {cond} THEN {k}" for k, cond in enumerate(items, 1)) + " END"


def attrition(population: Any, run: Any, order: Sequence[str] | None = None) -> Attrition:
    """The attrition of ``run`` (a :class:`~eligimatch.sql.TrialRun` of ``population``)."""
    general = [c for c in run.criteria if c.cohort is None]
    if order is not None:
        by_id = {c.id: c for c in general}
        unknown_ids = [i for i in order if i not in by_id]
        if unknown_ids or sorted(order) != sorted(by_id):
            raise PopulationError(f"order must list each general criterion of {run.label} once"
                                  + (f"; unknown: {', '.join(unknown_ids)}" if unknown_ids else ""))
        general = [by_id[i] for i in order]
    # one "met" expression per step (review-only unknowns count as met), its "unknown only for review" test
    steps: list[tuple[str, str, str | None, str, str]] = []
    for c in general:
        review = f"({c.met} IS NULL AND COALESCE({c.review}, FALSE))" if c.review is not None else "FALSE"
        steps.append((c.id, c.kind, c.text, c.met_or_review, review))
    if run.cohorts:
        per = []
        per_review = []
        for cid, _ in run.cohorts:
            items = [c for c in run.criteria if c.cohort == cid]
            per.append("(" + " AND ".join(c.met_or_review for c in items) + ")" if items else "TRUE")
            per_review.append(" OR ".join(f"({c.met} IS NULL AND COALESCE({c.review}, FALSE))"
                                          for c in items if c.review is not None) or "FALSE")
        met = "(" + " OR ".join(per) + ")"
        # waits for review in the cohorts: the cohorts pass only with a cohort whose review is pending
        review = "(" + " OR ".join(per_review) + ")"
        steps.append(("cohorts", "cohorts", "at least one cohort's criteria met", met, review))
    if not steps:
        raise PopulationError(f"trial {run.label} has no criteria")

    fail = _case_first([f"{m} = FALSE" for _, _, _, m, _ in steps])
    unk = _case_first([f"{m} IS NULL" for _, _, _, m, _ in steps])
    rev = _case_first([r for _, _, _, _, r in steps])
    grouped = population.backend.rows(population.sql(
        f"SELECT f, u, r, COUNT(*) FROM (SELECT {fail} AS f, {unk} AS u, {rev} AS r FROM {run.table}) g "
        f"GROUP BY f, u, r"))
    alone_cols = []
    for _, _, _, m, _ in steps:
        alone_cols += [f"COUNT(CASE WHEN {m} = TRUE THEN 1 END)", f"COUNT(CASE WHEN {m} = FALSE THEN 1 END)",
                       f"COUNT(CASE WHEN {m} IS NULL THEN 1 END)"]
    alone = population.backend.rows(population.sql(f"SELECT COUNT(*), {', '.join(alone_cols)} FROM {run.table}"))[0]
    total = int(alone[0])

    groups: Counter[tuple[int | None, int | None, int | None]] = Counter()
    for f, u, r, n in grouped:
        groups[(f, u, r)] += int(n)
    out: list[Step] = []
    prev_excluded = 0
    big = len(steps) + 1
    for k, (cid, kind, text, _, _) in enumerate(steps, 1):
        excluded, unknown, pending = 0, 0, 0
        for (f, u, r), n in groups.items():
            f_ = f if f is not None else big
            u_ = u if u is not None else big
            r_ = r if r is not None else big
            if f_ <= k:
                excluded += n
            elif u_ <= k:
                unknown += n
            elif r_ <= k:
                pending += n
        passing = total - excluded - unknown
        n_met, n_not, n_unk = (int(x or 0) for x in alone[1 + 3 * (k - 1): 4 + 3 * (k - 1)])
        out.append(Step(criterion=cid, kind=kind, text=text, passing=passing, unknown=unknown, excluded=excluded,
                        removed=excluded - prev_excluded, pending_review=pending, met=n_met, not_met=n_not,
                        unknown_alone=n_unk))
        prev_excluded = excluded
    counts = population.counts()[run.label]
    last = out[-1]
    if (last.passing, last.unknown, last.excluded) != (
            counts["match"], counts["unknown"], counts["no_match"]):
        raise PopulationError(  # the verdict and its criteria disagree: never shown as if they agreed
            f"internal error: the attrition of {run.label} ends with {last.passing} passing, {last.unknown} "
            f"unknown, {last.excluded} excluded, but the verdicts are {counts}; please report it")
    return Attrition(trial=run.label, title=run.trial.title, as_of=population.as_of.isoformat(), total=total,
                     steps=tuple(out), counts=counts)
