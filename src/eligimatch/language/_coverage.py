"""How much of a trial eligimatch can decide from data, and which data each criterion reads.

:func:`coverage` counts, per trial, the criteria that are *computable* (their
expression reads patient data) and those that are *judgment only* (only the
investigator can decide them); a computable criterion that also contains a
``judgment`` part is flagged, since it can at best be UNKNOWN-for-review when its
data do not decide it alone.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from eligimatch.language import ast as A
from eligimatch.engine._trial import CompiledTrial

__all__ = ["coverage", "TrialCoverage", "CriterionCoverage"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CriterionCoverage(_Out):
    """One criterion of a trial's plan summary."""

    id: str
    kind: str
    cohort: str | None = None
    text: str | None = None
    line: int = 0
    judgment: bool = Field(description="Only the investigator can decide it.")
    partly_judgment: bool = Field(default=False, description="Computable, but with a `judgment` part.")
    needs: tuple[str, ...] = Field(default=(), description="The data it reads.")
    drafted: bool = Field(default=False, description="Marked `draft`: machine-written, to be reviewed.")

    @property
    def computable(self) -> bool:
        return not self.judgment


class TrialCoverage(_Out):
    """A trial's plan summary: its criteria, which are computable from data, and the data they read."""

    schema_version: str = Field(default="1", description="The version of this JSON format.")
    trial_id: str | None
    title: str | None = None
    filename: str | None = None
    criteria: tuple[CriterionCoverage, ...]
    total: int
    computable: int
    judgment: int
    partly_judgment: int = 0
    drafted: int = Field(default=0, description="Criteria marked `draft` (machine-written, to be reviewed).")
    needs: dict[str, int] = Field(default_factory=dict,
                                  description="Each datum, with the number of criteria that read it; most read first.")

    @property
    def fraction(self) -> float:
        """The share of criteria that are computable (1.0 for a trial without criteria)."""
        return self.computable / self.total if self.total else 1.0


def _has_judgment(expr: Any) -> bool:
    stack = [expr]
    while stack:
        n = stack.pop()
        if isinstance(n, A.Judgment):
            return True
        if isinstance(n, (A.And, A.Or, A.AtLeast)):
            stack.extend(n.items)
        elif isinstance(n, A.Not):
            stack.append(n.item)
        elif isinstance(n, A.IfThenElse):
            stack.extend((n.cond, n.then, n.otherwise))
    return False


def coverage(trial: CompiledTrial) -> TrialCoverage:
    """Computable versus judgment-only criteria of ``trial``, and the data each computable one needs."""
    if not isinstance(trial, CompiledTrial):
        raise TypeError(f"coverage() takes a CompiledTrial, not {type(trial).__name__}")
    exprs: dict[tuple[str | None, str], Any] = {(None, c.id): c.expr for c in trial.ast.criteria}
    exprs.update({(co.id, c.id): c.expr for co in trial.ast.cohorts for c in co.criteria})
    rows = []
    counts: Counter[str] = Counter()
    for c in trial.all_criteria():
        expr = exprs.get((c.cohort, c.id))
        partly = (not c.judgment) and expr is not None and _has_judgment(expr)
        rows.append(CriterionCoverage(id=c.id, kind=c.kind, cohort=c.cohort, text=c.text, line=c.line,
                                      judgment=c.judgment, partly_judgment=partly,
                                      needs=() if c.judgment else tuple(c.needs), drafted=c.drafted))
        if not c.judgment:
            counts.update(dict.fromkeys(c.needs, 1))
    judgment = sum(1 for r in rows if r.judgment)
    needs = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return TrialCoverage(trial_id=trial.id, title=trial.title, filename=trial.filename, criteria=tuple(rows),
                         total=len(rows), computable=len(rows) - judgment, judgment=judgment,
                         partly_judgment=sum(1 for r in rows if r.partly_judgment),
                         drafted=sum(1 for r in rows if r.drafted), needs=needs)
