"""In a set (coded values): ``sex = female``, ``her2_ihc in (2+, 3+)``, ``her2_ihc >= 2+`` (an ordered enum:
the values on that side), ``hbsag != positive``.  The recorded value is read through the fact's declared
values and synonyms; any other value never decides."""

from __future__ import annotations

from typing import Any

from eligimatch.engine._facts import read_enum_fact, read_sex
from eligimatch.engine._readings import eval_in_set
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.kinds._measures import measure_id, measure_need
from eligimatch.language import ast as A
from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import symbol_word
from eligimatch.plan._serial import _measure, _window


def bind(b: Any, n: A.InSet) -> P.Expr:
    info = b.info(n.measure)
    return P.InSet(b.symbol_measure(info), tuple(symbol_word(v) for v in n.values), n.negated, b.window(n.recency))


def compile_row(c: Any, n: P.InSet) -> Fn:
    fact_id, label = measure_id(n.measure)
    m = n.measure
    read = read_sex if isinstance(m, P.SexMeasure) else read_enum_fact(m.fact.id, m.fact.name, n.recency,
                                                                        m.fact.entry)
    values, negated = n.values, n.negated
    return lambda ctx: eval_in_set(ctx, read, fact_id, label, values, negated)


def render(n: P.InSet) -> str:
    rec = f" ({_window(n.recency)})" if n.recency is not None else ""
    return f"InSet {_measure(n.measure)} {'not in' if n.negated else 'in'} ({', '.join(n.values)}){rec}"


def needs(n: P.InSet) -> tuple[str, ...]:
    return measure_need(n.measure)


KIND = register(Kind("in_set", (P.InSet,), compile_row, render, needs, (A.InSet,), bind))
