"""Logic: ``and``, ``or``, ``not``, ``at least N of``, ``if ... then ... else``, ``true``/``false``, and
``judgment`` (only the investigator can decide: UNKNOWN with cause review).

Kleene's three-valued logic (:mod:`eligimatch.logic`).  A combined UNKNOWN carries the causes and missing
facts of its UNKNOWN operands; a decided outcome leaves out the evidence of operands that did not decide it.
"""

from __future__ import annotations

from typing import Any

from eligimatch.engine._evaluate import Context, ev
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.language import ast as A
from eligimatch.logic import (FLAG_VALUES, CauseFlag, Truth, t_and, t_and2, t_at_least, t_if, t_not, t_or,
                              t_or2)
from eligimatch.plan import _nodes as P

__all__ = ["combine"]

T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
_int_or = int.__or__
_FLAGS = tuple(CauseFlag(i) for i in FLAG_VALUES)  # CauseFlag by value


def combine(results: Any, truth: Truth) -> tuple:
    """Causes and missing facts of the UNKNOWN operands, evidence of all, for a combined ``truth``.

    When ``truth`` is decided, the UNKNOWN operands did not decide it: their evidence (a pending
    ``judgment``, an uncertain record) is left out, so that a met criterion does not read
    "needs the investigator's judgment".
    """
    evidence: list = []
    for r in results:
        if truth != U and r[0] == U:
            continue
        evidence.extend(r[3])
    if truth != U:
        return (truth, CauseFlag.NONE, (), tuple(evidence))
    flag = 0
    miss: list = []
    for r in results:
        if r[0] == U:
            flag = _int_or(flag, r[1])  # as CauseFlag's |, without its Python-level method
            miss.extend(r[2])
    return (truth, _FLAGS[flag], tuple(miss), tuple(evidence))


# ---- row evaluators ---------------------------------------------------------------------------------

def _junction(c: Any, n: P.And | P.Or, decisive: Truth, two: Any, many: Any) -> Fn:
    """``and`` (``decisive`` FALSE, ``two``/``many`` its Kleene functions) or ``or`` (TRUE): the operands in
    order, stopping at a ``decisive`` one when the context allows short-circuit."""
    fns = tuple(c.expr(i) for i in n.items)
    if len(fns) == 2:  # the common case, without the loops
        g1, g2 = fns

        def f2(ctx: Context) -> tuple:
            r1 = g1(ctx)
            if r1[0] == decisive and ctx.short_circuit:
                return r1
            r2 = g2(ctx)
            return combine((r1, r2), two(r1[0], r2[0]))
        return f2

    def f(ctx: Context) -> tuple:
        rs = []
        for g in fns:
            r = g(ctx)
            if r[0] == decisive and ctx.short_circuit:
                return r
            rs.append(r)
        return combine(rs, many(*[r[0] for r in rs]))
    return f


def _and(c: Any, n: P.And) -> Fn:
    return _junction(c, n, F, t_and2, t_and)  # a FALSE operand decides an `and`


def _or(c: Any, n: P.Or) -> Fn:
    return _junction(c, n, T, t_or2, t_or)  # a TRUE operand decides an `or`


def _not(c: Any, n: P.Not) -> Fn:
    g = c.expr(n.item)

    def f(ctx: Context) -> tuple:
        t, flag, miss, evidence = g(ctx)
        return (t_not(t), flag, miss, evidence)
    return f


def _at_least(c: Any, n: P.AtLeast) -> Fn:
    fns = tuple(c.expr(i) for i in n.items)
    need = n.n

    def f(ctx: Context) -> tuple:
        if not ctx.short_circuit:
            rs = [g(ctx) for g in fns]
            return combine(rs, t_at_least(need, [r[0] for r in rs]))
        # verdict only: stop once `need` are TRUE, or once too few are left to reach it
        rs, true, left = [], 0, len(fns)
        for g in fns:
            r = g(ctx)
            rs.append(r)
            left -= 1
            true += r[0] == T
            if true >= need:
                return (T, CauseFlag.NONE, (), ())
            if true + left + sum(1 for x in rs if x[0] == U) < need:
                return (F, CauseFlag.NONE, (), ())
        return combine(rs, t_at_least(need, [r[0] for r in rs]))
    return f


def _if(c: Any, n: P.IfThenElse) -> Fn:
    cond, a, b = c.expr(n.cond), c.expr(n.then), c.expr(n.otherwise)

    def f(ctx: Context) -> tuple:
        rc = cond(ctx)
        if rc[0] == T:
            r = a(ctx)
            return (r[0], r[1], r[2], rc[3] + r[3])
        if rc[0] == F:
            r = b(ctx)
            return (r[0], r[1], r[2], rc[3] + r[3])
        ra, rb = a(ctx), b(ctx)
        truth = t_if(U, ra[0], rb[0])
        if truth != U:
            return (truth, CauseFlag.NONE, (), rc[3] + ra[3] + rb[3])
        return combine([rc, ra, rb], U)
    return f


def _const(c: Any, n: P.Const) -> Fn:
    r = (T if n.value else F, CauseFlag.NONE, (), ())
    return lambda ctx: r


def _judgment(c: Any, n: P.Judgment) -> Fn:
    r = (U, CauseFlag.REVIEW, (), (ev("judgment", "review", "needs the investigator's judgment"),))
    return lambda ctx: r


# ---- binders, renderers -------------------------------------------------------------------------------

def _bind(b: Any, n: Any) -> Any:
    if isinstance(n, A.And):
        return P.And(tuple(b.expr(i) for i in n.items))
    if isinstance(n, A.Or):
        return P.Or(tuple(b.expr(i) for i in n.items))
    if isinstance(n, A.Not):
        return P.Not(b.expr(n.item))
    if isinstance(n, A.AtLeast):
        return P.AtLeast(n.n, tuple(b.expr(i) for i in n.items))
    if isinstance(n, A.IfThenElse):
        return P.IfThenElse(b.expr(n.cond), b.expr(n.then), b.expr(n.otherwise))
    if isinstance(n, A.Const):
        return P.Const(n.value)
    if isinstance(n, A.Judgment):
        return P.Judgment()
    raise TypeError(type(n).__name__)


_COMPILERS: dict[type, Any] = {P.And: _and, P.Or: _or, P.Not: _not, P.AtLeast: _at_least, P.IfThenElse: _if,
                               P.Const: _const}


def _compile_row(c: Any, n: Any) -> Fn:
    return _COMPILERS[type(n)](c, n)


def _render(n: Any) -> str:
    if isinstance(n, P.AtLeast):
        return f"at least {n.n} of"
    if isinstance(n, P.Const):
        return "true" if n.value else "false"
    return {P.And: "all of", P.Or: "any of", P.Not: "not", P.IfThenElse: "if"}[type(n)]


def _no_needs(n: Any) -> tuple[str, ...]:
    return ()


register(Kind("logic", (P.And, P.Or, P.Not, P.AtLeast, P.IfThenElse, P.Const), _compile_row, _render, _no_needs,
              (A.And, A.Or, A.Not, A.AtLeast, A.IfThenElse, A.Const), _bind))
register(Kind("judgment", (P.Judgment,), _judgment, lambda n: "Judgment (the investigator decides)", _no_needs,
              (A.Judgment,), _bind))
