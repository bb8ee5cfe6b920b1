"""Age, sex and recorded facts (yes/no, numbers, coded values) in SQL.

Ages: the evaluation date is known when the query is built, so an age comparison becomes a comparison
of the birth date with a cut-off day, found by bisection with the row engine's own age function
(:func:`eligimatch.knowledge._ages.age_value`): whatever calendar rule it follows (birthdays on
29 February, month anniversaries, exact ages for fractional thresholds), the SQL follows it too, in
every dialect.  A partial birth date gives the interval of possible ages: decided only when both ends
agree (:func:`eligimatch.knowledge._ages.interval_truth`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from eligimatch.knowledge._ages import age_value
from eligimatch.knowledge._plausibility import age_problem
from eligimatch.knowledge._tolerance import compare as py_compare
from eligimatch.plan import _nodes as P
from eligimatch.sql._context import FACT_VALUES_TABLE, UNITS_TABLE, Ctx, not_expressible
from eligimatch.sql._sqltext import above_const, below_const, compare_const, date, num, text

__all__ = ["age_truth", "between_test", "fact_bool", "fact_in", "fact_number", "number_test", "sex_in", "units_join"]


# ---- age -------------------------------------------------------------------------------------------

def _first_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int | None:
    """The smallest ordinal in [lo, hi] where the monotone (False..True) ``pred`` holds, or None."""
    if not pred(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


class _Births:
    """Sets of birth dates, as SQL predicates on a birth-date expression, for one evaluation date."""

    def __init__(self, as_of: _dt.date):
        self.as_of = as_of
        self.lo = max(1, as_of.toordinal() - 366 * 140)  # past every valid age (age_problem: > 125 years)
        self.hi = as_of.toordinal()

    def later_than(self, pred: Callable[[_dt.date], bool]) -> Callable[[str], str]:
        """For ``pred`` that holds exactly on the birth dates from some day on (ages at most x): the SQL
        test ``b >= that day``."""
        first = _first_true(self.lo, self.hi, lambda o: pred(_dt.date.fromordinal(o)))
        if first is None:
            return lambda b: "FALSE"
        if first == self.lo:
            return lambda b: "TRUE"
        day = _dt.date.fromordinal(first)
        return lambda b: f"({b} >= {date(day)})"

    def earlier_than(self, pred: Callable[[_dt.date], bool]) -> Callable[[str], str]:
        """For ``pred`` that holds exactly on the birth dates up to some day (ages at least x)."""
        first_not = _first_true(self.lo, self.hi, lambda o: not pred(_dt.date.fromordinal(o)))
        if first_not is None:
            return lambda b: "TRUE"
        if first_not == self.lo:
            return lambda b: "FALSE"
        day = _dt.date.fromordinal(first_not)
        return lambda b: f"({b} < {date(day)})"


def age_truth(ctx: Ctx, measure: P.AgeMeasure, op: str, threshold: float) -> str:
    """``age op threshold`` for the patient ``p`` (TRUE/FALSE/NULL), as :func:`eligimatch.engine._evaluate.read_age`
    and ``_threshold_answer`` decide it."""
    as_of, unit, exact = ctx.as_of, measure.unit, measure.exact
    births = _Births(as_of)

    def age(b: _dt.date) -> float:
        return age_value(b, as_of, unit, exact)

    # ages fall as the birth date moves later: "age >= x" holds up to a day, "age <= x" from a day on
    if op in (">=", ">"):
        holds = births.earlier_than(lambda b: py_compare(age(b), op, threshold))
    elif op in ("<=", "<"):
        holds = births.later_than(lambda b: py_compare(age(b), op, threshold))
    elif op not in ("=", "!="):
        raise not_expressible(measure, f"operator {op!r}")
    old = births.earlier_than(lambda b: py_compare(age(b), ">", threshold))  # age above the threshold
    young = births.later_than(lambda b: py_compare(age(b), "<", threshold))
    too_old = births.earlier_than(lambda b: age_problem(b, as_of) is not None)
    e, lt = "p.birth_earliest", f"LEAST(p.birth_latest, {date(as_of)})"
    if op in ("=", "!="):
        equal = f"(NOT {old(e)} AND NOT {young(e)} AND NOT {old(lt)} AND NOT {young(lt)})"
        apart = f"(({old(e)} AND {old(lt)}) OR ({young(e)} AND {young(lt)}))"
        t, f = (equal, apart) if op == "=" else (apart, equal)
    else:
        t, f = f"({holds(e)} AND {holds(lt)})", f"(NOT {holds(e)} AND NOT {holds(lt)})"
    return (f"CASE WHEN p.birth_earliest IS NULL OR p.birth_earliest > {date(as_of)} OR {too_old(e)} THEN NULL "
            f"WHEN {t} THEN TRUE WHEN {f} THEN FALSE ELSE NULL END")


# ---- sex -----------------------------------------------------------------------------------------------

def sex_in(values: tuple[str, ...], negated: bool) -> str:
    inside = f"p.sex IN ({', '.join(text(v) for v in values)})"
    return f"CASE WHEN p.sex IS NULL THEN NULL ELSE {'NOT ' if negated else ''}({inside}) END"


# ---- facts ----------------------------------------------------------------------------------------------

def units_join(alias: str, subject: str, target: str | None, unit_col: str) -> str:
    """LEFT JOIN of the unit-factor row of (``subject``, recorded unit, ``target``)."""
    tgt = f"{alias}.target = {text(target)}" if target is not None else f"{alias}.target IS NULL"
    return (f"LEFT JOIN {UNITS_TABLE} {alias} ON {alias}.subject = {text(subject)} AND {tgt} AND "
            f"({alias}.unit = {unit_col} OR ({alias}.unit IS NULL AND {unit_col} IS NULL))")


def _fact_cte(ctx: Ctx, fact: P.FactRef, answer: str, extra_join: str = "") -> str:
    """A CTE with the patient's fact ``fact`` read by ``answer``: (patient_id, d, v); ``d`` the first day its
    date can be (NULL: undated).  A fact dated after the evaluation date is not known then: NULL."""
    valid = f"CASE WHEN f.date_earliest IS NOT NULL AND f.date_earliest > {date(ctx.as_of)} THEN NULL ELSE {answer} END"
    select = (f"SELECT f.patient_id, f.date_earliest AS d, {valid} AS v FROM facts f {extra_join} "
              f"WHERE f.name = {text(fact.id)}")
    return ctx.cte("f", select)


def _fact_window(ctx: Ctx, recency: P.Window | None) -> P.Window | None:
    return recency if recency is not None else ctx.plan.fact_recency


def fact_bool(ctx: Ctx, node: P.BoolFact) -> str:
    ctx.fact(node.fact)
    answer = ("CASE WHEN f.value_type = 'bool' THEN f.value_bool "
              "WHEN f.value_type = 'text' AND LOWER(f.value_text) IN ('yes', 'true') THEN TRUE "
              "WHEN f.value_type = 'text' AND LOWER(f.value_text) IN ('no', 'false') THEN FALSE ELSE NULL END")
    q = _fact_cte(ctx, node.fact, answer)
    return ctx.recent(f"{q}.v", f"{q}.d", _fact_window(ctx, node.recency))


def fact_number(ctx: Ctx, fact: P.FactRef, target: str | None, test: Callable[[str], str],
                recency: P.Window | None) -> str:
    """A numeric fact converted to ``target`` and tested by ``test(value_sql)``, after the checks of
    :func:`eligimatch.engine._evaluate.read_number_fact` (a number, a unit where one is needed and none where
    none is, the catalog's bounds)."""
    fdef = ctx.fact(fact)
    subject = f"fact:{fact.id}"
    ctx.needs.targets.add((subject, target))
    own = "(f.value_number * u.own_factor)"
    problems = [f"{own} < {num(0)}" if getattr(fdef, "min", None) is None else below_const(own, fdef.min)]
    if getattr(fdef, "max", None) is not None:
        problems.append(above_const(own, fdef.max))
    if getattr(fdef, "integer", False):
        problems.append(f"{own} <> FLOOR({own})")
    answer = (f"CASE WHEN f.value_type <> 'number' OR u.factor IS NULL OR u.own_factor IS NULL THEN NULL "
              f"WHEN {' OR '.join(problems)} THEN NULL ELSE {test('(f.value_number * u.factor)')} END")
    q = _fact_cte(ctx, fact, answer, units_join("u", subject, target, "f.unit"))
    return ctx.recent(f"{q}.v", f"{q}.d", _fact_window(ctx, recency))


def fact_in(ctx: Ctx, fact: P.FactRef, values: tuple[str, ...], negated: bool, recency: P.Window | None) -> str:
    """An enum fact's recorded value, read as one of its declared values (the mapping table of recorded
    spellings, built with :meth:`FactDef.canonical_value`), is (not) one of ``values``."""
    ctx.fact(fact)
    ctx.needs.enums.add(fact.id)
    inside = f"fv.canonical IN ({', '.join(text(v) for v in values)})"
    answer = (f"CASE WHEN f.value_type <> 'text' OR fv.canonical IS NULL THEN NULL "
              f"ELSE {'NOT ' if negated else ''}({inside}) END")
    join = f"LEFT JOIN {FACT_VALUES_TABLE} fv ON fv.name = {text(fact.id)} AND fv.value_text = f.value_text"
    q = _fact_cte(ctx, fact, answer, join)
    return ctx.recent(f"{q}.v", f"{q}.d", _fact_window(ctx, recency))


def number_test(op: str, threshold: float) -> Callable[[str], str]:
    return lambda v: compare_const(v, op, threshold)


def between_test(low: float, high: float, inclusive: bool) -> Callable[[str], str]:
    lo_op, hi_op = (">=", "<=") if inclusive else (">", "<")
    return lambda v: f"({compare_const(v, lo_op, low)} AND {compare_const(v, hi_op, high)})"

