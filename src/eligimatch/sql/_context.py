"""What one compilation of a plan to SQL shares: the evaluation date, the anchors, the common table
expressions built so far, and the mapping tables the query will read.

A *leaf* (one predicate: a lab threshold, a fact, an age) compiles to a SQL expression over the aliases
of the main query: ``p`` (the ``patients`` row), ``anch`` (the patient's anchor dates) and the aliases
of the common table expressions it registered (:meth:`Ctx.cte`), each joined to ``p`` on
``patient_id``.  A patient with no row in a CTE reads NULL there: unknown, as the row engine reads a
missing record.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eligimatch.errors import SqlNotExpressibleError
from eligimatch.plan import _nodes as P
from eligimatch.sql._sqltext import date, ident, text

__all__ = ["FACT_VALUES_TABLE", "UNITS_TABLE", "Ctx", "Needs", "not_expressible"]

#: The mapping tables the compiled SQL reads besides the canonical tables (built by ``prepare``).
UNITS_TABLE = "eligimatch_units"
FACT_VALUES_TABLE = "eligimatch_fact_values"

#: Anchors that are visit dates: without a date of their own they fall back to the evaluation date.
from eligimatch.plan._check import STANDARD_ANCHORS

DEFAULTED = frozenset(STANDARD_ANCHORS)


def not_expressible(node: Any, why: str) -> SqlNotExpressibleError:
    return SqlNotExpressibleError(f"{type(node).__name__}: {why}")


@dataclass
class Needs:
    """What the query reads from the mapping tables: the (subject, target unit) pairs it converts to
    (``analyte:anc`` / ``fact:weight_loss``), the analytes whose every unit pair may be needed (reference
    ranges), and the enum facts whose recorded spellings are read."""

    targets: set[tuple[str, str | None]] = field(default_factory=set)
    pairs: set[str] = field(default_factory=set)
    enums: set[str] = field(default_factory=set)
    entries: dict[str, Any] = field(default_factory=dict)  # subject -> catalog entry (Analyte / FactDef)
    #: therapy predicates whose record kinds the query reads (node key -> plan node), and their catalogs
    #: (:mod:`eligimatch.sql._therapies`)
    therapies: dict[str, Any] = field(default_factory=dict)
    catalogs: Any = None

    def merge(self, other: Needs) -> None:
        self.targets |= other.targets
        self.pairs |= other.pairs
        self.enums |= other.enums
        self.entries.update(other.entries)
        self.therapies.update(other.therapies)
        self.catalogs = self.catalogs if self.catalogs is not None else other.catalogs


class Ctx:
    def __init__(self, plan: P.Plan, catalogs: Any, as_of: _dt.date, anchors: Mapping[str, _dt.date],
                 assume_absent: bool = False):
        self.plan = plan
        self.assume_absent = assume_absent  # the policy: a missing record is an absence even in an incomplete history
        self.catalogs = catalogs
        self.as_of = as_of
        self.given = dict(anchors)
        self.declared = tuple(plan.anchors) or tuple(STANDARD_ANCHORS)
        self.ctes: dict[str, str] = {}  # name -> SELECT (ordered: a CTE may read an earlier one)
        self.joined: list[str] = []  # CTE names joined to the main query
        self.anchors_used: dict[str, None] = {}
        self.needs = Needs()
        self.leaves: dict[str, str] = {}  # a predicate's SQL -> its column in the innermost query
        self._n = 0

    def leaf(self, sql: str) -> str:
        """The column (``L.<name>``) that holds the predicate ``sql``, computed once per patient."""
        name = self.leaves.get(sql)
        if name is None:
            name = self.leaves[sql] = f"l{len(self.leaves) + 1}"
        return f"L.{name}"

    # ---- names -----------------------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def cte(self, prefix: str, select: str, *, join: bool = True) -> str:
        """Register a CTE (reused when the same SELECT was registered before); its alias."""
        for name, sql in self.ctes.items():
            if sql == select and name.startswith(prefix):
                if join and name not in self.joined:
                    self.joined.append(name)
                return name
        name = self.fresh(prefix)
        self.ctes[name] = select
        if join:
            self.joined.append(name)
        return name

    # ---- catalog entries ---------------------------------------------------------------------------
    def analyte(self, ref: P.AnalyteRef) -> Any:
        entry = ref.entry if ref.entry is not None else self.catalogs.analytes.resolve(ref.id)
        self.needs.entries[f"analyte:{ref.id}"] = entry
        return entry

    def fact(self, ref: P.FactRef) -> Any:
        entry = ref.entry if ref.entry is not None else self.catalogs.facts.resolve(ref.id)
        self.needs.entries[f"fact:{ref.id}"] = entry
        return entry

    # ---- anchors and windows -----------------------------------------------------------------------
    def anchor(self, name: str) -> str:
        """The anchor's date for the patient (``anch.<name>``): the caller's, else the patient's own, else
        the evaluation date for a visit anchor; NULL otherwise (what is counted from it is then unknown)."""
        self.anchors_used[name] = None
        return f"anch.{ident(name)}"

    def anchor_column(self, name: str) -> str:
        """The expression of the anchor's column in the ``anch`` CTE (over ``p`` and ``a_<name>``)."""
        if name in self.given:
            return date(self.given[name])
        fallback = date(self.as_of) if name in DEFAULTED and name in self.declared else "CAST(NULL AS DATE)"
        return f"COALESCE({self._anchor_alias(name)}.date, {fallback})"

    def _anchor_alias(self, name: str) -> str:
        return "a_" + "".join(ch if ch.isalnum() else "_" for ch in name)

    def anchor_cte(self) -> str | None:
        if not self.anchors_used:
            return None
        cols = ", ".join(f"{self.anchor_column(n)} AS {ident(n)}" for n in self.anchors_used)
        joins = " ".join(
            f"LEFT JOIN anchors {self._anchor_alias(n)} ON {self._anchor_alias(n)}.patient_id = p.patient_id "
            f"AND {self._anchor_alias(n)}.name = {text(n)}"
            for n in self.anchors_used if n not in self.given)
        return f"SELECT p.patient_id, {cols} FROM patients p {joins}"

    def window_start(self, window: P.Window, anchor_sql: str | None = None) -> str:
        """First day of "within N units before the anchor" (both ends inclusive), as
        :func:`eligimatch.knowledge._dates.window_start` counts it: calendar months and years from the
        anchor, the day clamped to the month's end.  Only the first duration (results and facts)."""
        d = window.durations[0]
        a = anchor_sql or self.anchor(window.anchor)
        if d.unit == "half-life":
            raise not_expressible(window, "a window in half-lives is a history window")
        n = int(d.amount)
        if d.unit in ("day", "week"):
            days = n * (7 if d.unit == "week" else 1)
            return f"CAST({a} - INTERVAL '{days}' DAY AS DATE)"
        months = n * (12 if d.unit == "year" else 1)
        return f"CAST({a} - INTERVAL '{months}' MONTH AS DATE)"

    def recent(self, value: str, last_date: str, window: P.Window | None) -> str:
        """``value`` when the record dated ``last_date`` lies in ``window`` (on or after its start), else
        NULL; an anchor with no date makes it NULL too."""
        if window is None:
            return value
        start = self.window_start(window)
        return (f"CASE WHEN {last_date} IS NULL OR {start} IS NULL OR {last_date} < {start} THEN NULL "
                f"ELSE {value} END")
