"""Between: ``age between 18 and 70 years``, ``hemoglobin between 9 and 16 g/dL exclusive``.

Both bounds in one unit (the high bound's; a low bound in another unit is converted at bind time).  An age
between bounds of different exactness (``17.5 and 70 years``) binds to two :class:`Threshold` nodes, each
read as it would be alone.
"""

from __future__ import annotations

from typing import Any

from eligimatch.engine._readings import eval_between
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.kinds._measures import measure_id, measure_need, reader
from eligimatch.knowledge._ages import is_whole
from eligimatch.knowledge._units import conversion_factor
from eligimatch.language import ast as A
from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import BindError, fmt_num, unit_text
from eligimatch.plan._serial import _measure, _num, _window


def bind(b: Any, n: A.Between) -> P.Expr:
    info = b.info(n.measure)
    low, high = n.low, n.high
    if not isinstance(low, A.Quantity) or not isinstance(high, A.Quantity):
        raise BindError("between takes numbers (checked)")
    unit = high.unit or low.unit
    lo, hi = float(low.number), float(high.number)
    if info.kind == "age" and is_whole(lo) != is_whole(hi):
        # each bound read as it would be alone (the exact age against 17.5, completed years against 70)
        ops = (">=", "<=") if n.inclusive else (">", "<")
        parts = []
        for op, bound in zip(ops, (lo, hi)):
            measure, u = b.numeric(info, unit, exact=not is_whole(bound))
            parts.append(P.Threshold(measure, op, bound, u, bound, u,  # type: ignore[arg-type]
                                     f"{fmt_num(bound)} {unit_text(unit)}".strip(), None))
        return P.And(tuple(parts))
    measure, cmp_unit = b.numeric(info, unit, exact=not (is_whole(lo) and is_whole(hi)))
    if info.kind != "age" and low.unit and high.unit and low.unit != high.unit:
        lo = lo * conversion_factor(low.unit, high.unit, molar_mass=getattr(info.analyte, "molar_mass", None))
    low_text = fmt_num(float(low.number)) + ("" if low.unit == unit else f" {unit_text(low.unit)}")
    text = (f"{low_text.strip()} and {fmt_num(hi)} {unit_text(unit)}".strip()
            + (" inclusive" if n.inclusive else " exclusive"))
    clo, cu = b.canonical(measure, lo, cmp_unit)
    chi, _ = b.canonical(measure, hi, cmp_unit)
    return P.Between(measure, lo, hi, cmp_unit, n.inclusive, clo, chi, cu, text, b.window(n.recency))


def compile_row(c: Any, n: P.Between) -> Fn:
    fact_id, label = measure_id(n.measure)
    read = reader(n.measure, n.unit, n.recency)
    lo, hi, inclusive, text = n.low, n.high, n.inclusive, n.text
    return lambda ctx: eval_between(ctx, read, fact_id, label, lo, hi, inclusive, text)


def render(n: P.Between) -> str:
    rec = f" ({_window(n.recency)})" if n.recency is not None else ""
    return (f"Between {_measure(n.measure)} {_num(n.low)}..{_num(n.high)} {n.unit or ''}".rstrip()
            + f" {'inclusive' if n.inclusive else 'exclusive'}{rec}")


def needs(n: P.Between) -> tuple[str, ...]:
    return measure_need(n.measure)


KIND = register(Kind("between", (P.Between,), compile_row, render, needs, (A.Between,), bind))
