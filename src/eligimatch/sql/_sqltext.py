"""Small builders of SQL text, written once in DuckDB's dialect and turned into sqlglot expressions.

The compiler writes every fragment here in one neutral form (DuckDB's, which sqlglot reads fully) and
sqlglot renders the whole query in the target dialect.  What each helper writes is chosen to keep the
row engine's arithmetic exact: numbers are written as ``CAST('<repr>' AS DOUBLE)`` (never a DECIMAL
literal, which some databases would compute with in another precision), and every comparison of a
patient value with a threshold is the documented tolerant comparison
(:func:`eligimatch.knowledge._tolerance.compare`: equal within a relative 1e-9 or an absolute 1e-12).
"""

from __future__ import annotations

import datetime as _dt

from eligimatch.knowledge._tolerance import ABS_TOL, REL_TOL

__all__ = ["num", "text", "date", "isclose", "compare", "below", "kleene_same", "truth_of", "ident"]


def num(x: float | int) -> str:
    """A DOUBLE literal with exactly the value of the Python float ``x``."""
    f = float(x)
    if f.is_integer() and abs(f) < 1e15:
        return f"CAST({int(f)} AS DOUBLE)"
    return f"CAST('{f!r}' AS DOUBLE)"


def text(s: str) -> str:
    """A text literal."""
    return "'" + s.replace("'", "''") + "'"


def date(d: _dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def ident(name: str) -> str:
    """A quoted identifier (criterion ids become column names)."""
    return '"' + name.replace('"', '""') + '"'


def isclose(a: str, b: str) -> str:
    """``math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)`` for finite DOUBLEs."""
    return (f"(({a}) = ({b}) OR ABS(({a}) - ({b})) <= GREATEST({num(REL_TOL)} * GREATEST(ABS({a}), ABS({b})), "
            f"{num(ABS_TOL)}))")


def compare(a: str, op: str, b: str) -> str:
    """``a op b`` with the tolerance (TRUE/FALSE for non-NULL operands)."""
    eq = isclose(a, b)
    if op == "<=":
        return f"({eq} OR ({a}) < ({b}))"
    if op == ">=":
        return f"({eq} OR ({a}) > ({b}))"
    if op == "<":
        return f"(({a}) < ({b}) AND NOT {eq})"
    if op == ">":
        return f"(({a}) > ({b}) AND NOT {eq})"
    if op == "=":
        return eq
    if op == "!=":
        return f"(NOT {eq})"
    raise ValueError(f"unknown operator {op!r}")


def below(a: str, b: str) -> str:
    """``a < b`` and not close (the plausibility checks' ``_below``)."""
    return f"(({a}) < ({b}) AND NOT {isclose(a, b)})"


def kleene_same(answer: str) -> str:
    """The aggregate of per-row answers that may each be the one that counts (results of one date, none
    later than the others): their common value when all are known and agree, else NULL (unknown or
    conflicting) -- :func:`eligimatch.engine._evaluate.same_day`.  For a GROUP BY."""
    as_int = f"CASE WHEN ({answer}) THEN 1 WHEN NOT ({answer}) THEN 0 END"
    return (f"CASE WHEN COUNT(*) > COUNT({as_int}) THEN NULL WHEN MIN({as_int}) = 1 THEN TRUE "
            f"WHEN MAX({as_int}) = 0 THEN FALSE ELSE NULL END")


def truth_of(pred_true: str, pred_false: str) -> str:
    """TRUE when ``pred_true``, FALSE when ``pred_false``, else NULL."""
    return f"CASE WHEN {pred_true} THEN TRUE WHEN {pred_false} THEN FALSE ELSE NULL END"
