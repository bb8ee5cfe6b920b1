"""Threshold: ``anc >= 1.5 x10^9/L``, ``age >= 18 years``, ``crcl by cockcroft_gault >= 60 mL/min``,
``ecog <= 1``, ``ratio(a, b) < 2``.

The comparison is made in the threshold's unit (the measure's own when the threshold has none); the
patient's value is converted with factors resolved once per recorded unit.  The binder also takes the
comparisons that are other kinds: ``sex = female`` and enum facts (:mod:`eligimatch.kinds.in_set`), and
``x ULN`` (:mod:`eligimatch.kinds.reference`).
"""

from __future__ import annotations

from typing import Any

from eligimatch.engine._readings import eval_threshold
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.kinds._measures import measure_id, measure_need, reader
from eligimatch.knowledge._ages import is_whole
from eligimatch.language import ast as A
from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import BindError, fmt_num, ranked, symbol_word, unit_text
from eligimatch.plan._serial import _measure, _num, _window


def bind(b: Any, n: A.Compare) -> P.Expr:
    info = b.info(n.measure)
    recency = b.window(n.recency)
    if info.kind == "sex" or (info.kind == "fact" and info.fact.type == "enum"):
        word = symbol_word(n.value)
        if n.op in ("=", "!="):
            return P.InSet(b.symbol_measure(info), (word,), n.op == "!=", recency)
        # an ordered enum (checked): the values on the right side of the threshold
        return P.InSet(b.symbol_measure(info), ranked(info.fact.values, word, n.op), False, recency)
    v = n.value
    if isinstance(v, A.RefMultiple):
        return P.RefMultiple(b.analyte(info.analyte), n.op, float(v.factor), v.limit,  # type: ignore[arg-type]
                             fmt_num(float(v.factor)), recency)
    if not isinstance(v, A.Quantity):
        raise BindError("a number threshold is required here (checked)")
    threshold = float(v.number)
    measure, unit = b.numeric(info, v.unit, exact=not is_whole(threshold))
    cv, cu = b.canonical(measure, threshold, unit)
    text = f"{fmt_num(threshold)} {unit_text(v.unit)}".strip()
    return P.Threshold(measure, n.op, threshold, unit, cv, cu, text, recency)  # type: ignore[arg-type]


def compile_row(c: Any, n: P.Threshold) -> Fn:
    fact_id, label = measure_id(n.measure)
    read = reader(n.measure, n.unit, n.recency)
    op, threshold, text = n.op, n.value, n.text
    return lambda ctx: eval_threshold(ctx, read, fact_id, label, op, threshold, text)


def render(n: P.Threshold) -> str:
    rec = f" ({_window(n.recency)})" if n.recency is not None else ""
    canon = (f" [= {_num(n.canonical_value)} {n.canonical_unit or ''}".rstrip() + "]"
             if n.canonical_unit != n.unit or n.canonical_value != n.value else "")
    return f"Threshold {_measure(n.measure)} {n.op} {_num(n.value)} {n.unit or ''}".rstrip() + canon + rec


def needs(n: P.Threshold) -> tuple[str, ...]:
    return measure_need(n.measure)


KIND = register(Kind("threshold", (P.Threshold,), compile_row, render, needs, (A.Compare,), bind))
