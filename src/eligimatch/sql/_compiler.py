"""The SQL compiler: a resolved plan (:mod:`eligimatch.plan`) to one query, one column per criterion.

Each criterion becomes a column of TRUE / FALSE / NULL per patient (NULL: unknown), and the verdict a
combination of them: SQL's three-valued logic *is* Kleene's (``AND``, ``OR``, ``NOT`` on NULL), so
``and``, ``or`` and ``not`` are written as they are; ``at least N of`` counts TRUE and NULL operands;
``if c then a else b`` with ``c`` unknown is the branches' common value.  A criterion that is unknown
only because it needs the investigator's judgment does not block a match (the row engine's rule), so the
query also carries, for criteria with a ``judgment``, whether their unknown is a review only.

Compilation is dispatched on the plan node's type through :data:`REGISTRY`.  A node kind with no SQL
form raises :class:`~eligimatch.errors.SqlNotExpressibleError` naming it: ``compile_sql`` reports the
criterion as not expressible on the backend instead of answering differently from the row engine.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eligimatch.errors import SqlNotExpressibleError
from eligimatch.plan import _nodes as P
from eligimatch.sql import _conditions as C
from eligimatch.sql import _doses as D
from eligimatch.sql import _history as H
from eligimatch.sql import _labs as L
from eligimatch.sql import _therapies as T
from eligimatch.sql import _values as V
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._sqltext import ident

__all__ = ["REGISTRY", "CompiledColumns", "build_query", "compile_expr"]

#: (truth, review_only) of a node: review_only is the SQL test that its NULL comes from a judgment alone
Pair = tuple[str, str]
Handler = Callable[[Ctx, Any], Pair]


def _leaf(fn: Callable[[Ctx, Any], str]) -> Handler:
    """A predicate: its SQL becomes one column of the innermost query (computed once, however often the
    logic above it reads it); the node reads that column."""
    def handler(ctx: Ctx, n: Any) -> Pair:
        return ctx.leaf(fn(ctx, n)), "FALSE"
    return handler


def _has_judgment(n: Any) -> bool:
    if isinstance(n, P.Judgment):
        return True
    for child in _children(n):
        if _has_judgment(child):
            return True
    return False


def _children(n: Any) -> tuple[Any, ...]:
    if isinstance(n, (P.And, P.Or, P.AtLeast)):
        return n.items
    if isinstance(n, P.Not):
        return (n.item,)
    if isinstance(n, P.IfThenElse):
        return (n.cond, n.then, n.otherwise)
    return ()


def _unknown_only_review(parts: list[Pair]) -> str:
    return "(" + " AND ".join(f"(({t}) IS NOT NULL OR {r})" for t, r in parts) + ")"


# ---- logic -------------------------------------------------------------------------------------------

def c_and(ctx: Ctx, n: P.And) -> Pair:
    parts = [compile_expr(ctx, i) for i in n.items]
    return "(" + " AND ".join(f"({t})" for t, _ in parts) + ")", _unknown_only_review(parts)


def c_or(ctx: Ctx, n: P.Or) -> Pair:
    parts = [compile_expr(ctx, i) for i in n.items]
    return "(" + " OR ".join(f"({t})" for t, _ in parts) + ")", _unknown_only_review(parts)


def c_not(ctx: Ctx, n: P.Not) -> Pair:
    t, r = compile_expr(ctx, n.item)
    return f"(NOT ({t}))", r


def c_at_least(ctx: Ctx, n: P.AtLeast) -> Pair:
    parts = [compile_expr(ctx, i) for i in n.items]
    true = " + ".join(f"(CASE WHEN ({t}) THEN 1 ELSE 0 END)" for t, _ in parts)
    unknown = " + ".join(f"(CASE WHEN ({t}) IS NULL THEN 1 ELSE 0 END)" for t, _ in parts)
    truth = f"(CASE WHEN {true} >= {n.n} THEN TRUE WHEN {true} + {unknown} < {n.n} THEN FALSE ELSE NULL END)"
    return truth, _unknown_only_review(parts)


def c_if(ctx: Ctx, n: P.IfThenElse) -> Pair:
    (c, rc), (a, ra), (b, rb) = (compile_expr(ctx, x) for x in (n.cond, n.then, n.otherwise))
    truth = f"(CASE WHEN ({c}) THEN ({a}) WHEN NOT ({c}) THEN ({b}) WHEN ({a}) = ({b}) THEN ({a}) ELSE NULL END)"
    review = (f"(CASE WHEN ({c}) THEN {ra} WHEN NOT ({c}) THEN {rb} "
              f"ELSE {_unknown_only_review([(c, rc), (a, ra), (b, rb)])} END)")
    return truth, review


def c_const(ctx: Ctx, n: P.Const) -> Pair:
    return ("TRUE" if n.value else "FALSE"), "FALSE"


def c_judgment(ctx: Ctx, n: P.Judgment) -> Pair:
    return "CAST(NULL AS BOOLEAN)", "TRUE"


# ---- comparisons ------------------------------------------------------------------------------------------

def c_bool_fact(ctx: Ctx, n: P.BoolFact) -> str:
    return V.fact_bool(ctx, n)


def _numeric(ctx: Ctx, m: Any, unit: str | None, recency: P.Window | None,
             test: Callable[[str], str], interval: Callable[[str, str], str]) -> str:
    if isinstance(m, P.FactMeasure):
        return V.fact_number(ctx, m.fact, unit, test, recency)
    if isinstance(m, P.AnalyteMeasure):
        return L.lab_value(ctx, m.analyte, unit or m.analyte.unit, test, recency)
    if isinstance(m, P.RatioMeasure):
        return L.ratio(ctx, m, interval, recency)
    if isinstance(m, P.FormulaMeasure):
        return L.formula(ctx, m, unit or m.analyte.unit, interval, recency)
    raise not_expressible(m, "a measure the SQL backend does not read")


def c_threshold(ctx: Ctx, n: P.Threshold) -> str:
    if isinstance(n.measure, P.AgeMeasure):
        return V.age_truth(ctx, n.measure, n.op, n.value)
    return _numeric(ctx, n.measure, n.unit, n.recency, V.number_test(n.op, n.value),
                    lambda lo, hi: L.interval_truth(lo, hi, n.op, n.value))


def c_between(ctx: Ctx, n: P.Between) -> str:
    lo_op, hi_op = (">=", "<=") if n.inclusive else (">", "<")
    if isinstance(n.measure, P.AgeMeasure):
        return f"(({V.age_truth(ctx, n.measure, lo_op, n.low)}) AND ({V.age_truth(ctx, n.measure, hi_op, n.high)}))"

    def interval(lo: str, hi: str) -> str:
        return (f"(({L.interval_truth(lo, hi, lo_op, n.low)}) AND "
                f"({L.interval_truth(lo, hi, hi_op, n.high)}))")
    return _numeric(ctx, n.measure, n.unit, n.recency, V.between_test(n.low, n.high, n.inclusive), interval)


def c_in_set(ctx: Ctx, n: P.InSet) -> str:
    if isinstance(n.measure, P.SexMeasure):
        return V.sex_in(n.values, n.negated)
    return V.fact_in(ctx, n.measure.fact, n.values, n.negated, n.recency)


def c_ref_multiple(ctx: Ctx, n: P.RefMultiple) -> str:
    return L.ref_multiple(ctx, n)


def c_each_result(ctx: Ctx, n: P.EachResult) -> str:
    return L.each_result(ctx, n)


#: The SQL form of every kind of plan expression node: node type -> handler.
REGISTRY: dict[type, Handler] = {
    P.And: c_and, P.Or: c_or, P.Not: c_not, P.AtLeast: c_at_least, P.IfThenElse: c_if,
    P.Const: c_const, P.Judgment: c_judgment,
    P.BoolFact: _leaf(c_bool_fact), P.Threshold: _leaf(c_threshold), P.Between: _leaf(c_between),
    P.InSet: _leaf(c_in_set), P.RefMultiple: _leaf(c_ref_multiple), P.EachResult: _leaf(c_each_result),
    P.Condition: _leaf(C.condition), P.Procedure: _leaf(H.procedure), P.Therapy: _leaf(T.therapy),
    P.Dose: _leaf(D.dose), P.StableDose: _leaf(D.stable_dose), P.Participation: _leaf(H.participation),
}


def compile_expr(ctx: Ctx, n: Any) -> Pair:
    handler = REGISTRY.get(type(n))
    if handler is None:
        raise not_expressible(n, "no SQL form is registered for this kind of node")
    truth, review = handler(ctx, n)
    if not _has_judgment(n):
        review = "FALSE"
    return truth, review


# ---- the query ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompiledColumns:
    """The criteria of one query: per criterion its column's SQL (over the query's aliases), and whether
    its unknown may be a review only; the criteria that could not be compiled, with why."""

    columns: tuple[tuple[P.Criterion, str, str], ...]  # (criterion, truth, review_only)
    unsupported: tuple[tuple[P.Criterion, str], ...]


def _verdict_rank(crits: list[tuple[P.Criterion, str, str]]) -> str:
    """0 no match, 1 unknown, 2 match, over the criterion columns of the inner query."""
    if not crits:
        return "2"
    met = {c.id: (f"{ident(c.id)}" if c.kind == "inclusion" else f"(NOT {ident(c.id)})") for c, _, _ in crits}
    failed = " OR ".join(f"{met[c.id]} = FALSE" for c, _, _ in crits)
    blocking = " OR ".join(
        f"({met[c.id]} IS NULL" + (f" AND NOT {ident(c.id + ':review')})" if r != "FALSE" else ")")
        for c, _, r in crits)
    return f"(CASE WHEN {failed} THEN 0 WHEN {blocking} THEN 1 ELSE 2 END)"


_VERDICT_TEXT = "CASE {r} WHEN 0 THEN 'no_match' WHEN 1 THEN 'unknown' ELSE 'match' END"


def build_query(plan: P.Plan, catalogs: Any, as_of: _dt.date, anchors: Mapping[str, _dt.date] | None = None,
                *, only: tuple[str, ...] | None = None, assume_absent: bool = False
                ) -> tuple[str, CompiledColumns, Ctx]:
    """The query (DuckDB SQL text) of ``plan`` on ``as_of``: one row per patient with ``patient_id``, one
    column per criterion and, when every criterion compiled, ``verdict`` (and ``cohort:<id>`` per cohort).
    ``only``: compile just these criteria (no verdict).  ``assume_absent``: the policy of
    :class:`eligimatch.Policy` (a missing record counts as absent where the history is not complete)."""
    ctx = Ctx(plan, catalogs, as_of, anchors or {}, assume_absent)
    columns: list[tuple[P.Criterion, str, str]] = []
    unsupported: list[tuple[P.Criterion, str]] = []
    for c in plan.all_criteria():
        if only is not None and c.id not in only:
            continue
        saved = (dict(ctx.ctes), list(ctx.joined), dict(ctx.anchors_used), dict(ctx.leaves))
        try:
            truth, review = compile_expr(ctx, c.expr)
        except SqlNotExpressibleError as exc:
            ctx.ctes, ctx.joined, ctx.anchors_used, ctx.leaves = saved
            unsupported.append((c, str(exc)))
            continue
        columns.append((c, truth, review))
    compiled = CompiledColumns(tuple(columns), tuple(unsupported))
    ctes = []
    anch = ctx.anchor_cte()
    if anch is not None:
        ctes.append(f"anch AS ({anch})")
    ctes += [f"{name} AS ({sql})" for name, sql in ctx.ctes.items()]
    joins = (" LEFT JOIN anch ON anch.patient_id = p.patient_id" if anch is not None else "") + "".join(
        f" LEFT JOIN {name} ON {name}.patient_id = p.patient_id" for name in ctx.joined)
    leaf_cols = ["p.patient_id AS patient_id"] + [f"{sql} AS {name}" for sql, name in ctx.leaves.items()]
    leaves = (("WITH " + ", ".join(ctes) + " " if ctes else "")
              + f"SELECT {', '.join(leaf_cols)} FROM patients p{joins}")
    cols = ["L.patient_id AS patient_id"]
    for c, truth, review in columns:
        cols.append(f"{truth} AS {ident(c.id)}")
        if review != "FALSE":
            cols.append(f"(({truth}) IS NULL AND {review}) AS {ident(c.id + ':review')}")
    inner = f"SELECT {', '.join(cols)} FROM ({leaves}) L"
    outer_cols = ["q.*"]
    if only is None and not unsupported:
        general = _verdict_rank([x for x in columns if x[0].cohort is None])
        rank = general
        if plan.cohorts:
            cohort_ranks = []
            for co in plan.cohorts:
                r = _verdict_rank([x for x in columns if x[0].cohort == co.id])
                cohort_ranks.append(r)
                outer_cols.append(f"{_VERDICT_TEXT.format(r=r)} AS {ident('cohort:' + co.id)}")
            best = cohort_ranks[0] if len(cohort_ranks) == 1 else f"GREATEST({', '.join(cohort_ranks)})"
            rank = f"LEAST({general}, {best})"
        outer_cols.append(f"{_VERDICT_TEXT.format(r=rank)} AS verdict")
    return f"SELECT {', '.join(outer_cols)} FROM ({inner}) q", compiled, ctx
