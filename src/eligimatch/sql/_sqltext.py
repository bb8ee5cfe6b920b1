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
from typing import Any

from eligimatch.knowledge._tolerance import ABS_TOL, REL_TOL

__all__ = ["below", "compare", "date", "ident", "isclose", "kleene_same", "num", "text", "truth_of"]


def num(x: float) -> str:
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


# ---- comparisons with a constant: the tolerance resolved before the query runs ----------------------

def _key(x: float) -> int:
    """Doubles in order as integers (the IEEE bit pattern, negatives mirrored)."""
    import struct

    i = struct.unpack("<q", struct.pack("<d", x))[0]
    return i if i >= 0 else -(i & 0x7FFFFFFFFFFFFFFF)


def _float(k: int) -> float:
    import struct

    i = k if k >= 0 else (-k) | -0x8000000000000000
    return struct.unpack("<d", struct.pack("<q", i))[0]


_LO, _HI = _key(-1.7976931348623157e308), _key(1.7976931348623157e308)


def _first(pred: Any) -> float | None:
    """The least finite double where the monotone (False..True) ``pred`` holds, or None."""
    lo, hi = _LO, _HI
    if not pred(_float(hi)):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(_float(mid)):
            hi = mid
        else:
            lo = mid + 1
    return _float(lo)


def _last(pred: Any) -> float | None:
    """The greatest finite double where the monotone (True..False) ``pred`` holds, or None."""
    lo, hi = _LO, _HI
    if not pred(_float(lo)):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pred(_float(mid)):
            lo = mid
        else:
            hi = mid - 1
    return _float(lo)


def compare_const(a: str, op: str, b: float) -> str:
    """``a op b`` for a constant ``b``, exactly as :func:`compare` (tolerance included), written as a plain
    comparison with the cut-off double found by bisection: ``a >= 1.4999999985`` instead of the tolerance
    arithmetic, so that every dialect compares the same IEEE doubles the row engine does."""
    from eligimatch.knowledge._tolerance import compare as py

    b = float(b)
    if op in (">=", ">"):
        c = _first(lambda x: py(x, op, b))
        return "FALSE" if c is None else f"(({a}) >= {num(c)})"
    if op in ("<=", "<"):
        c = _last(lambda x: py(x, op, b))
        return "FALSE" if c is None else f"(({a}) <= {num(c)})"
    lo = _first(lambda x: py(x, ">=", b))
    hi = _last(lambda x: py(x, "<=", b))
    if lo is None or hi is None:  # no finite double equals b (not reached for a finite b)
        return "FALSE" if op == "=" else "TRUE"
    if op == "=":
        return f"(({a}) >= {num(lo)} AND ({a}) <= {num(hi)})"
    if op == "!=":
        return f"(({a}) < {num(lo)} OR ({a}) > {num(hi)})"
    raise ValueError(f"unknown operator {op!r}")


def below_const(a: str, b: float) -> str:
    """``a < b and not close`` for a constant ``b`` (:func:`below`)."""
    return compare_const(a, "<", b)


def above_const(a: str, b: float) -> str:
    """``b < a and not close`` (``below(b, a)``) for a constant ``b``."""
    return compare_const(a, ">", b)
