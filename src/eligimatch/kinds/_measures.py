"""What a comparison reads (age, sex, a fact, the latest result, a formula, a ratio): the row engine's readers
of each measure, its name in evidence, and its data need.  Shared by threshold, between and in-set."""

from __future__ import annotations

from typing import Any

from eligimatch.engine import _facts as FA
from eligimatch.engine import _readings as RD
from eligimatch.errors import PlanError
from eligimatch.knowledge import _formulas as formulas
from eligimatch.knowledge._units import conversion_factor
from eligimatch.plan import _nodes as P

__all__ = ["reader", "measure_id", "measure_need"]


def reader(m: Any, unit: str | None, recency: P.Window | None) -> RD.ReadFn:
    """The reader of a numeric measure, in ``unit`` (the comparison's)."""
    if isinstance(m, P.AgeMeasure):
        # a whole threshold counts completed units; a fractional one (17.5 years) the exact age
        return RD.read_age(m.unit, m.exact)
    if isinstance(m, P.FactMeasure):
        return FA.read_number_fact(m.fact.id, m.fact.name, m.fact.unit, unit, conversion_factor, recency)
    if isinstance(m, P.RatioMeasure):
        return RD.read_ratio(m.numerator.entry, m.denominator.entry, recency)
    if isinstance(m, P.FormulaMeasure):
        inputs = {a.id: a.entry for a in m.inputs}
        return RD.read_computed(m.method, m.analyte.entry, unit or m.analyte.unit, recency, formulas, inputs)
    if isinstance(m, P.AnalyteMeasure):
        return RD.read_observation(m.analyte.entry, m.analyte.name, unit or m.analyte.unit, recency)
    raise PlanError(f"the row engine cannot read measure {type(m).__name__}")


def measure_id(m: Any) -> tuple[str, str]:
    """The fact name and label of a measure, for evidence and missing facts."""
    if isinstance(m, P.AgeMeasure):
        return "age", "age"
    if isinstance(m, P.SexMeasure):
        return "sex", "sex"
    if isinstance(m, P.FactMeasure):
        return m.fact.id, m.fact.name
    if isinstance(m, P.RatioMeasure):
        return f"{m.numerator.id}/{m.denominator.id}", f"{m.numerator.name} / {m.denominator.name}"
    if isinstance(m, (P.AnalyteMeasure, P.FormulaMeasure)):
        return m.analyte.id, m.analyte.name
    raise PlanError(f"unknown measure {type(m).__name__}")


def measure_need(m: Any) -> tuple[str, ...]:
    """The data a measure reads, for coverage reports."""
    if isinstance(m, P.AgeMeasure):
        return ("age",)
    if isinstance(m, P.SexMeasure):
        return ("sex",)
    if isinstance(m, P.FactMeasure):
        return (m.fact.id,)
    if isinstance(m, P.RatioMeasure):
        return (f"{m.numerator.id} / {m.denominator.id}",)
    if isinstance(m, P.FormulaMeasure):
        return (f"{m.analyte.id} by {m.method}",)
    if isinstance(m, P.AnalyteMeasure):
        return (m.analyte.id,)
    raise PlanError(f"unknown measure {type(m).__name__}")
