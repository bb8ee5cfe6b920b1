"""The record scan shared by conditions and procedures: one common table expression per criterion that
reads the records of the concept, gives each its Kleene value, and counts them per patient
(:func:`eligimatch.engine._history._exists` in the row engine).

Each record's value is written as a small integer (0 FALSE, 1 UNKNOWN, 2 TRUE) by explicit comparisons, and
the records are counted with ``COUNT(CASE WHEN … THEN 1 END)``: DuckDB 2.0.1 was seen to fold
``SUM(CASE WHEN … THEN 1 ELSE 0 END) > 0`` to FALSE when the condition reads a LEFT JOINed attribute and
the query also joins a windowed lab CTE (statistics propagation; the sum itself was right).
"""

from __future__ import annotations

from collections.abc import Callable

from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx
from eligimatch.sql._sqltext import text
from eligimatch.sql._where import attribute_joins, where_sql

__all__ = ["absent", "closed", "kind", "scan"]


def _in(col: str, ids: set[str]) -> str:
    return f"{col} IN ({', '.join(text(i) for i in sorted(ids))})" if ids else "FALSE"


def kind(col: str, selectors: tuple[P.ConceptRef, ...], excepted: tuple[P.ConceptRef, ...]) -> tuple[str, str]:
    """(relevant, kind) of a record of concept ``col`` (:func:`eligimatch.engine._history._kind`): relevant when
    it is (or may be) one of ``selectors``; kind 'T' (it is), 'U' (it may be, or may be excepted), 'F'
    (excepted).  The hierarchies are the plan's closures: ``covers`` (the concept and all below it) and
    ``may_be`` (concepts that overlap it)."""
    sel_is = set().union(*(c.covers for c in selectors))
    sel_may = set().union(*(c.may_be for c in selectors)) - sel_is
    exc_is = set().union(*(c.covers for c in excepted)) if excepted else set()
    exc_may = (set().union(*(c.may_be for c in excepted)) - exc_is) if excepted else set()
    relevant = f"({_in(col, sel_is)} OR {_in(col, sel_may)})"
    k = (f"CASE WHEN {_in(col, exc_is)} THEN 'F' WHEN {_in(col, sel_is)} AND NOT {_in(col, exc_may)} "
         f"THEN 'T' ELSE 'U' END")
    return relevant, k


def closed(ctx: Ctx, history: str) -> str:
    """TRUE where the patient's ``history`` (``therapies``, ``conditions`` …) holds every record: marked
    complete, or the policy assumes absence (the row engine's closed history)."""
    return "TRUE" if ctx.assume_absent else f"p.complete_{history}"


def absent(ctx: Ctx, history: str) -> str:
    """No record that counts: FALSE when the history is complete (or the policy assumes absence), else NULL
    (:func:`eligimatch.engine._evaluate._absence`)."""
    if ctx.assume_absent:
        return "FALSE"
    return f"CASE WHEN p.complete_{history} THEN FALSE ELSE NULL END"


def _code(kind_col: str, parts: tuple[str, ...]) -> str:
    """0 / 1 / 2 for t_and(kind, *parts): FALSE if a part is FALSE, TRUE if the kind is 'T' and every part
    TRUE, else UNKNOWN."""
    false = " OR ".join(f"({p}) = FALSE" for p in parts)
    true = " AND ".join([f"{kind_col} = 'T'"] + [f"({p}) = TRUE" for p in parts])
    return f"CASE WHEN {false} THEN 0 WHEN {true} THEN 2 ELSE 1 END"


def scan(ctx: Ctx, *, history: str, concepts: tuple[P.ConceptRef, ...], excepted: tuple[P.ConceptRef, ...],
         where: tuple[P.WhereTest, ...], when: str, later: str, needs_anchor: str, anchor: str | None,
         prefix: str, also: tuple[str, ...] = (), extra: Callable[[dict[str, str]], str] | None = None) -> str:
    """The Kleene value, for the patient ``p``, of "some record of ``concepts`` (not ``excepted``) counts".

    ``history`` the table (``conditions``/``procedures``, alias ``r``); ``when`` the record's timing
    (TRUE/FALSE/NULL over ``r`` and, with an ``anchor``, ``anch``); ``later`` TRUE for a record dated after the
    evaluation date (not used; it leaves an absence UNKNOWN); ``needs_anchor`` TRUE for the records for which
    the row engine reads the ``anchor``'s date (with none: UNKNOWN, the row engine's ``MissingAnchor``);
    ``extra``: one more part of the record's value (TRUE/FALSE/NULL), written over the aliases of the
    attributes ``also`` names (an allergen)."""
    relevant, k = kind("r.concept_id", concepts, excepted)
    attr_joins, aliases = attribute_joins(where, history, also=also)
    more = extra(aliases) if extra is not None else "TRUE"
    code = _code("k.kind", ("k.w", "k.wh", "k.x"))
    join = "JOIN anch ON anch.patient_id = r.patient_id" if anchor is not None else ""
    rows = (f"SELECT r.patient_id, r.concept_id, {k} AS kind, {later} AS later, {needs_anchor} AS needs_anchor, "
            f"{when} AS w, {where_sql(where, aliases, ctx.catalogs.attributes)} AS wh, {more} AS x "
            f"FROM {history} r {join} {attr_joins} WHERE r.concept_id IS NULL OR {relevant}")
    counted = "k.concept_id IS NOT NULL AND k.kind <> 'F' AND NOT k.later"  # the records the row engine evaluates
    select = (f"SELECT k.patient_id, "
              f"COUNT(CASE WHEN k.concept_id IS NULL THEN 1 END) AS n_unmapped, "
              f"COUNT(CASE WHEN k.concept_id IS NOT NULL AND k.kind <> 'F' AND k.later THEN 1 END) AS n_later, "
              f"COUNT(CASE WHEN {counted} AND k.needs_anchor THEN 1 END) AS n_anchored, "
              f"COUNT(CASE WHEN {counted} AND {code} = 2 THEN 1 END) AS n_true, "
              f"COUNT(CASE WHEN {counted} AND {code} = 1 THEN 1 END) AS n_unknown "
              f"FROM ({rows}) k GROUP BY k.patient_id")
    q = ctx.cte(prefix, select)
    value = (f"CASE WHEN COALESCE({q}.n_true, 0) > 0 THEN TRUE WHEN COALESCE({q}.n_unknown, 0) > 0 THEN NULL "
             f"WHEN COALESCE({q}.n_later, 0) > 0 OR COALESCE({q}.n_unmapped, 0) > 0 THEN NULL "
             f"ELSE {absent(ctx, history)} END")
    if anchor is not None:
        value = f"CASE WHEN {anchor} IS NULL AND COALESCE({q}.n_anchored, 0) > 0 THEN NULL ELSE {value} END"
    return value
