"""The SQL compiler: every plan node kind compiles or says it cannot, tolerant comparisons are exact, and
the query renders for each supported dialect."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
sqlglot = pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

import eligimatch
from eligimatch import plan as P
from eligimatch.errors import SqlNotExpressibleError
from eligimatch.knowledge import compare
from eligimatch.sql import DIALECTS, compile_sql
from eligimatch.sql._compiler import REGISTRY
from eligimatch.sql._sqltext import compare_const

HERE = Path(__file__).resolve().parent
AS_OF = dt.date(2026, 3, 1)

EXPR_TYPES = [t for t in P.NODE_TYPES.values() if t in set(P.Expr.__args__)]  # type: ignore[attr-defined]

# one criterion per kind of plan expression node
EXAMPLES = {
    "And": "ecog <= 1 and pregnant", "Or": "ecog <= 1 or pregnant", "Not": "not pregnant",
    "AtLeast": "at least 1 of (pregnant, breastfeeding)", "IfThenElse": "if pregnant then ecog <= 1 else true",
    "Const": "true", "Judgment": "judgment", "BoolFact": "pregnant", "Threshold": "anc >= 1.5 x10^9/L",
    "Between": "age between 18 and 70 years", "InSet": "sex in (female)", "RefMultiple": "alt <= 2.5 x ULN",
    "EachResult": "any creatinine result > 2.5 mg/dL within 8 weeks before screening",
    "Condition": "condition lupus_nephritis", "Procedure": "procedure major_surgery within 2 weeks before screening",
    "Therapy": "therapy rituximab within 6 months before screening",
    "Dose": "daily dose of corticosteroid as prednisone >= 70 mg/day within 7 days before screening",
    "StableDose": "stable dose of corticosteroid for 7 days before screening",
    "Participation": "participation in another study within 3 months before screening",
}


def test_every_expression_kind_is_registered_and_has_an_example():
    assert {t.__name__ for t in EXPR_TYPES} == set(EXAMPLES)
    assert set(EXPR_TYPES) <= set(REGISTRY)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_kind_compiles_or_says_it_cannot(kind):
    trial = eligimatch.compile_trial(f'trial "K"\ninclusion:\n  - I1: {EXAMPLES[kind]}\n')
    assert kind in {type(n).__name__ for n in _walk(trial.plan.criteria[0].expr)}
    try:
        st = compile_sql(trial)
    except SqlNotExpressibleError as exc:
        assert "I1" in str(exc) and "cannot be expressed in SQL" in str(exc)
        st = compile_sql(trial, strict=False)
        assert not st.complete and "I1" in st.unsupported
        assert "verdict" not in st.query(AS_OF)
        return
    assert st.complete
    for dialect in DIALECTS:
        assert compile_sql(trial, dialect).query(AS_OF)


def _walk(n):
    yield n
    for child in getattr(n, "items", ()) or ():
        yield from _walk(child)
    for name in ("item", "cond", "then", "otherwise"):
        if hasattr(n, name):
            yield from _walk(getattr(n, name))


def test_an_unregistered_kind_is_a_clear_error_not_an_answer():
    @dataclasses.dataclass(frozen=True)
    class Toy:
        pass

    trial = eligimatch.compile_trial('trial "K"\ninclusion:\n  - I1: pregnant\n  - I2: ecog <= 1\n')
    plan = dataclasses.replace(trial.plan, criteria=(dataclasses.replace(trial.plan.criteria[0], expr=Toy()),
                                                      trial.plan.criteria[1]))
    with pytest.raises(SqlNotExpressibleError, match="Toy: no SQL form"):
        compile_sql(plan)
    st = compile_sql(plan, strict=False)
    assert st.unsupported.keys() == {"I1"} and [c.id for c in st.criteria if c.expressible] == ["I2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_covering_trial_renders_in_each_dialect(dialect):
    st = compile_sql(eligimatch.load_trial(HERE / "covering.elig"), dialect)
    q = st.query(AS_OF, {"diagnosis": dt.date(2025, 12, 1)})
    assert sqlglot.parse_one(q, read=dialect) is not None
    assert set(st.sql(AS_OF)) == {c.id for c in st.criteria}


def test_constant_comparisons_are_the_tolerant_comparison_exactly():
    con = duckdb.connect()
    r = random.Random(5)
    for b in [0.0, 1.5, 70.0, -2.0, 1e-13, 1.8, 0.1 + 0.2, 123456.789]:
        xs = [b, b * (1 + 1e-9), b * (1 - 1e-9), b * (1 + 2e-9), b * (1 - 2e-9), b + 1e-12, b - 1e-12,
              b + 2e-12, b - 2e-12] + [b + r.uniform(-1, 1) * 10 ** r.randint(-14, 1) for _ in range(40)]
        for op in ("<", "<=", ">", ">=", "=", "!="):
            sql = compare_const("x", op, b)
            rows = con.execute(f"SELECT x, {sql} FROM (SELECT UNNEST(?::DOUBLE[]) AS x)", [xs]).fetchall()
            for x, got in rows:
                assert got == compare(x, op, b), (x, op, b, sql)


def test_the_query_depends_on_the_evaluation_date_and_anchors():
    trial = eligimatch.compile_trial('trial "K"\nanchors screening\ninclusion:\n'
                                     '  - I1: anc >= 1.5 x10^9/L within 14 days before screening\n')
    st = compile_sql(trial)
    a = st.query(AS_OF, {})
    b = st.query(AS_OF, {"screening": dt.date(2026, 2, 1)})
    assert "'2026-03-01'" in a and "'2026-02-01'" in b  # the rendered query writes CAST('...' AS DATE)
