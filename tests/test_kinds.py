"""The registry of the kinds of criterion (issue 12): every kind implements every phase, every dispatch
raises for an unknown type, and a new kind is one module (here: this test's toy kind)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing

import pytest

import eligimatch
from eligimatch import kinds
from eligimatch import plan as P
from eligimatch.errors import PlanError
from eligimatch.kinds._base import syntax_types
from eligimatch.language import ast as A

# the kinds of expression (logic and criteria) a plan can hold, and those the criteria language can write
PLAN_EXPRS = typing.get_args(P.Expr)
AST_EXPRS = typing.get_args(A.Expr)


def test_every_plan_expression_has_a_kind_with_every_phase():
    for t in PLAN_EXPRS:
        kind = kinds.for_node(_instance(t))
        for phase in ("compile_row", "render", "needs"):
            assert callable(getattr(kind, phase)), (t.__name__, phase)
    names = [k.name for k in kinds.kinds()]
    assert len(names) == len(set(names))
    for k in kinds.kinds():
        assert k.nodes, k.name
        assert callable(k.compile_row) and callable(k.render) and callable(k.needs), k.name
        assert (k.bind is not None) == bool(k.syntax), k.name


def test_every_ast_expression_is_bound_by_one_kind():
    assert set(AST_EXPRS) == set(syntax_types())
    for t in AST_EXPRS:
        assert kinds.for_syntax(_blank(t)).bind is not None


def test_every_kind_is_exercised_by_the_shipped_trials():
    """Each kind's phases run on real plans: compile, render, needs, serialise."""
    from tests.test_plan import PLANS, _walk

    seen = set()
    for plan in PLANS:
        text = P.format_plan(plan)
        assert text
        for n in _walk(plan):
            if isinstance(n, PLAN_EXPRS):
                seen.add(kinds.for_node(n).name)
    assert seen == {k.name for k in kinds.kinds()}


def test_dispatch_raises_for_unknown_types():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Stray:
        pass

    with pytest.raises(PlanError, match="Stray"):
        kinds.for_node(Stray())
    with pytest.raises(PlanError, match="Stray"):
        kinds.for_syntax(Stray())
    plan = eligimatch.compile_trial('trial "X"\ninclusion:\n  - I1: pregnant\n').plan
    bad = dataclasses.replace(plan, criteria=(dataclasses.replace(plan.criteria[0], expr=Stray()),))
    with pytest.raises(PlanError):
        P.format_plan(bad)
    from eligimatch.engine._compile import _Compiler, _needs

    with pytest.raises(PlanError):
        _Compiler(bad).expr(Stray())
    with pytest.raises(PlanError):
        _needs(Stray())


# ---- a toy kind, defined entirely here: its node, evaluator, renderer and needs -------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Weekday:
    """TRUE when the evaluation date falls on one of ``days`` (0 = Monday)."""

    days: tuple[int, ...]


def _compile_weekday(compiler, n: Weekday):
    from eligimatch.engine._evaluate import ev
    from eligimatch.logic import CauseFlag, Truth

    def f(ctx):
        ok = ctx.as_of.weekday() in n.days
        return (Truth.TRUE if ok else Truth.FALSE, CauseFlag.NONE, (),
                (ev("weekday", "fact_recorded", f"evaluated on weekday {ctx.as_of.weekday()}"),))
    return f


TOY = kinds.Kind("weekday", (Weekday,), _compile_weekday, lambda n: f"Weekday in {n.days}", lambda n: ("as_of",))


@pytest.fixture
def toy_kind():
    kinds.register(TOY)
    yield TOY
    kinds.unregister("weekday")


def test_a_toy_kind_is_one_module(toy_kind):
    base = eligimatch.compile_trial('trial "TOY"\ninclusion:\n  - I1: pregnant\n')
    plan = dataclasses.replace(base.plan, criteria=(dataclasses.replace(
        base.plan.criteria[0], expr=P.And((Weekday((0, 1)), P.Not(P.Const(False))))),))
    # printable and serialisable
    assert "Weekday in (0, 1)" in P.format_plan(plan)
    assert P.from_dict(json.loads(json.dumps(P.to_dict(plan)))) == plan
    # compiled by the row engine through the registry, and evaluated
    from eligimatch.engine._compile import _Compiler, _needs

    fn = _Compiler(plan).expr(plan.criteria[0].expr)
    from eligimatch.engine._evaluate import Context, PatientIndex, Policy
    from eligimatch.logic import Truth

    index = PatientIndex(eligimatch.load_patient("{}"), base.catalogs)
    monday, friday = dt.date(2026, 3, 2), dt.date(2026, 3, 6)
    assert fn(Context(index, monday, {}, Policy()))[0] == Truth.TRUE
    assert fn(Context(index, friday, {}, Policy()))[0] == Truth.FALSE
    assert _needs(plan.criteria[0].expr) == ("as_of",)


def test_the_toy_kind_is_gone_after_unregister():
    with pytest.raises(PlanError):
        kinds.for_node(Weekday((0,)))
    with pytest.raises(PlanError):
        P.from_dict({"node": "Weekday", "days": [0]})


# ---- helpers -----------------------------------------------------------------------------------------------

def _instance(t: type):
    """Some instance of plan node type ``t`` (fields filled with placeholders: dispatch reads only the type)."""
    return _blank(t)


def _blank(t: type):
    obj = object.__new__(t)
    return obj
