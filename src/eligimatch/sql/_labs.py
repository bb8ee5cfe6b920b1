"""Laboratory results, vitals and scores in SQL: the latest result, every result in a window, multiples of
the reference limits, ratios and formulas.

The rules are the row engine's (:func:`eligimatch.engine._evaluate.select_observations` and its readers):

* the latest result on or before the evaluation date (an undated or later one is never used); when
  several share that date and their times of day cannot order them (no time, or times with and without
  a UTC offset), each may be the latest: the criterion is decided only when they all give the same answer
  (a window function over the patient's results of that date);
* the latest result must lie in the recency window (the criterion's, else the trial's ``labs within``);
* a result is converted to the threshold's unit by the factor of its recorded unit (the mapping table
  ``eligimatch_units``, filled with the catalog's own factors: units are data, factors resolved before the
  query runs); a unit that cannot apply, a negative value of an analyte that cannot be negative, a value
  outside the analyte's plausible range, or a percentage outside 0..100 is UNKNOWN, never compared;
* ``x ULN`` / ``x LLN`` reads each result's own reference range (converted to the result's unit), else the
  trial's default range.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._sqltext import above_const, below_const, compare, compare_const, date, kleene_same, num, text
from eligimatch.sql._values import units_join

__all__ = ["each_result", "formula", "interval_truth", "lab_value", "latest", "ratio", "ref_multiple"]

_MAX_COMBINATIONS = 256  # as eligimatch.engine._evaluate._combined


def latest(ctx: Ctx, analyte: P.AnalyteRef) -> str:
    """The CTE of the results that may each be the patient's latest of ``analyte`` (not joined)."""
    aid = text(analyte.id)
    select = (
        "SELECT DISTINCT o.patient_id, o.value, o.unit, o.date, o.ref_low, o.ref_high, o.ref_unit FROM ("
        "SELECT o.*, COUNT(o.time_key_us) OVER (PARTITION BY o.patient_id) AS n_timed, "
        "COUNT(CASE WHEN o.time_key_us IS NOT NULL AND o.utc_offset_s IS NOT NULL THEN 1 END) "
        "OVER (PARTITION BY o.patient_id) AS n_aware, "
        "MAX(o.time_key_us) OVER (PARTITION BY o.patient_id) AS max_key "
        "FROM observations o JOIN (SELECT patient_id, MAX(date) AS d FROM observations "
        f"WHERE analyte_id = {aid} AND date <= {date(ctx.as_of)} GROUP BY patient_id) m "
        f"ON m.patient_id = o.patient_id AND m.d = o.date WHERE o.analyte_id = {aid}) o "
        "WHERE o.time_key_us IS NULL OR (o.n_aware > 0 AND o.n_aware < o.n_timed) OR o.time_key_us = o.max_key")
    return ctx.cte("lat", select, join=False)


def problem(entry: Any, v: str, u: str) -> str:
    """The SQL test that a result ``v`` (with the unit-factor row ``u`` of its recorded unit) cannot be
    compared (:func:`eligimatch.knowledge._plausibility.observation_problem`)."""
    parts = []
    if not getattr(entry, "signed", False):
        parts.append(f"{v} < {num(0)}")
    if getattr(entry, "plausible", None) is not None:
        low, high = entry.plausible
        own = f"({v} * {u}.own_factor)"
        parts.append(f"({u}.own_factor IS NOT NULL AND ({below_const(own, low)} OR {above_const(own, high)}))")
    if entry.unit.strip() == "%":
        pct = f"({v} * {u}.pct_factor)"
        lowp = -100.0 if getattr(entry, "signed", False) else 0.0
        parts.append(f"({u}.pct_factor IS NOT NULL AND ({above_const(pct, 100.0)} OR {below_const(pct, lowp)}))")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def _converted(ctx: Ctx, analyte: P.AnalyteRef, target: str, row: str, alias: str) -> tuple[str, str, str]:
    """(join, validity test, converted value) of result ``row`` in ``target``."""
    entry = ctx.analyte(analyte)
    subject = f"analyte:{analyte.id}"
    ctx.needs.targets.add((subject, target))
    join = units_join(alias, subject, target, f"{row}.unit")
    invalid = f"({alias}.factor IS NULL OR {problem(entry, f'{row}.value', alias)})"
    return join, invalid, f"({row}.value * {alias}.factor)"


def _per_patient(rows: str) -> str:
    """(patient_id, d, v) from ``rows`` (patient_id, date, ans): the results that may each be the latest,
    decided when they agree."""
    return (f"SELECT a.patient_id, MAX(a.date) AS d, {kleene_same('a.ans')} AS v FROM ({rows}) a "
            f"GROUP BY a.patient_id")


def _lab_window(ctx: Ctx, recency: P.Window | None) -> P.Window | None:
    return recency if recency is not None else ctx.plan.lab_recency


def lab_value(ctx: Ctx, analyte: P.AnalyteRef, target: str, test: Callable[[str], str],
              recency: P.Window | None) -> str:
    """``test`` on the latest result of ``analyte`` in ``target`` (TRUE/FALSE/NULL)."""
    lat = latest(ctx, analyte)
    join, invalid, value = _converted(ctx, analyte, target, "l", "u")
    answer = f"CASE WHEN {invalid} THEN NULL ELSE {test(value)} END"
    q = ctx.cte("q", _per_patient(f"SELECT l.patient_id, l.date, {answer} AS ans FROM {lat} l {join}"))
    return ctx.recent(f"{q}.v", f"{q}.d", _lab_window(ctx, recency))


def _reference_answer(ctx: Ctx, analyte: P.AnalyteRef, op: str, factor: float, limit: str, row: str
                      ) -> tuple[str, str, str]:
    """(columns, joins, answer) of ``row op factor x limit`` (:func:`eligimatch.engine._evaluate._reference_answer`):
    ``columns`` (over the alias ``x`` of the result rows) add the limit used (``rb``: the result's own, else
    the trial's default) and its unit (``ru``); ``joins`` and ``answer`` read them from ``row``."""
    entry = ctx.analyte(analyte)
    subject = f"analyte:{analyte.id}"
    own_unit = analyte.unit
    ctx.needs.targets.add((subject, own_unit))
    ctx.needs.pairs.add(subject)
    default = ctx.plan.reference_range(analyte.id)
    col = "ref_high" if limit == "ULN" else "ref_low"
    d_bound = None if default is None else (default[1] if limit == "ULN" else default[0])
    d_unit = None if default is None else default[2]
    if d_unit is not None:
        ctx.needs.targets.add((subject, d_unit))  # the default range's unit converts to the results' units
    columns = (f"CASE WHEN x.{col} IS NOT NULL THEN x.{col} "
               f"ELSE {num(d_bound) if d_bound is not None else 'CAST(NULL AS DOUBLE)'} END AS rb, "
               f"CASE WHEN x.{col} IS NOT NULL THEN COALESCE(x.ref_unit, x.unit) "
               f"ELSE {text(d_unit) if d_unit is not None else 'CAST(NULL AS VARCHAR)'} END AS ru")
    u1, u2 = f"{row}u1", f"{row}u2"
    joins = (units_join(u1, subject, own_unit, f"{row}.unit") + " "
             f"LEFT JOIN eligimatch_units {u2} ON {u2}.subject = {text(subject)} "
             f"AND {u2}.unit = COALESCE({row}.ru, {text(own_unit)}) "
             f"AND {u2}.target = COALESCE({row}.unit, {text(own_unit)})")
    same_unit = f"({row}.ru = {row}.unit OR ({row}.ru IS NULL AND {row}.unit IS NULL))"
    f2 = f"CASE WHEN {same_unit} THEN {num(1)} ELSE {u2}.factor END"
    limit_value = f"({row}.rb * ({f2}))"
    unit_ok = f"({row}.unit IS NULL OR {row}.unit = {text(own_unit)} OR {u1}.factor IS NOT NULL)"
    checks = [f"NOT {unit_ok}", problem(entry, f"{row}.value", u1)]
    if not analyte.unit_free:
        checks.append(f"{row}.unit IS NULL")
    checks.append(f"{row}.rb IS NULL")
    checks.append(f"({f2}) IS NULL")
    if not getattr(entry, "signed", False):
        checks.append(f"{limit_value} < {num(0)}")
    answer = (f"CASE WHEN {' OR '.join(checks)} THEN NULL "
              f"ELSE {compare(f'{row}.value', op, f'({num(factor)} * {limit_value})')} END")
    return columns, joins, answer


def ref_multiple(ctx: Ctx, node: P.RefMultiple) -> str:
    lat = latest(ctx, node.analyte)
    columns, joins, answer = _reference_answer(ctx, node.analyte, node.op, node.factor, node.limit, "l")
    q = ctx.cte("q", _per_patient(f"SELECT l.patient_id, l.date, {answer} AS ans "
                                  f"FROM (SELECT x.*, {columns} FROM {lat} x) l {joins}"))
    return ctx.recent(f"{q}.v", f"{q}.d", _lab_window(ctx, node.recency))


def each_result(ctx: Ctx, node: P.EachResult) -> str:
    """``any/every X result op value within W`` (:func:`eligimatch.engine._results.eval_each_result`)."""
    src = f"(SELECT x.* FROM observations x WHERE x.analyte_id = {text(node.analyte.id)})"
    if isinstance(node.bound, P.ResultMultiple):
        columns, joins, answer = _reference_answer(ctx, node.analyte, node.op, node.bound.factor,
                                                   node.bound.limit, "o")
        src = f"(SELECT x.*, {columns} FROM observations x WHERE x.analyte_id = {text(node.analyte.id)})"
    else:
        bound = node.bound
        joins, invalid, value = _converted(ctx, node.analyte, bound.unit, "o", "u")
        answer = f"CASE WHEN {invalid} THEN NULL ELSE {compare_const(value, node.op, bound.value)} END"
    anchor = ctx.anchor(node.window.anchor)
    start = ctx.window_start(node.window, anchor)
    inside = f"(o.date IS NOT NULL AND o.date >= {start} AND o.date <= LEAST({anchor}, {date(ctx.as_of)}))"
    rows = (f"SELECT o.patient_id, o.date, {inside} AS ins, CASE WHEN {inside} THEN {answer} END AS ans "
            f"FROM {src} o JOIN anch ON anch.patient_id = o.patient_id {joins}")
    select = ("SELECT r.patient_id, COUNT(CASE WHEN r.date IS NULL THEN 1 END) AS undated, "
              "COUNT(CASE WHEN r.ins AND r.ans THEN 1 END) AS n_true, "
              "COUNT(CASE WHEN r.ins AND NOT r.ans THEN 1 END) AS n_false, "
              "COUNT(CASE WHEN r.ins AND r.ans IS NULL THEN 1 END) AS n_unknown "
              f"FROM ({rows}) r GROUP BY r.patient_id")
    q = ctx.cte("e", select)
    every = node.quantifier == "every"
    decisive, other = ("n_false", "TRUE") if every else ("n_true", "FALSE")
    return (f"CASE WHEN {anchor} IS NULL OR {q}.patient_id IS NULL THEN NULL "
            f"WHEN {q}.{decisive} > 0 THEN {'FALSE' if every else 'TRUE'} "
            f"WHEN {q}.n_unknown > 0 OR {q}.undated > 0 OR {q}.n_true + {q}.n_false = 0 THEN NULL "
            f"ELSE {other} END")


def interval_truth(lo: str, hi: str, op: str, threshold: float) -> str:
    """``v op threshold`` for ``v`` known to lie in [lo, hi] (:func:`eligimatch.knowledge._ages.interval_truth`);
    lo <= hi."""
    if op in ("=", "!="):
        # threshold < lo  <=>  lo > threshold;  threshold > hi  <=>  hi < threshold (the tolerance is symmetric)
        outside = f"({compare_const(lo, '>', threshold)} OR {compare_const(hi, '<', threshold)})"
        return (f"CASE WHEN {compare(lo, '=', hi)} THEN {compare_const(lo, op, threshold)} "
                f"WHEN {outside} THEN {'TRUE' if op == '!=' else 'FALSE'} ELSE NULL END")
    a, b = compare_const(lo, op, threshold), compare_const(hi, op, threshold)
    return f"CASE WHEN {a} AND {b} THEN TRUE WHEN NOT {a} AND NOT {b} THEN FALSE ELSE NULL END"


def ratio(ctx: Ctx, m: P.RatioMeasure, test: Callable[[str, str], str], recency: P.Window | None) -> str:
    """``ratio(a, b)``: each latest result in its analyte's own unit; every combination of results that may
    be the latest; a zero denominator is UNKNOWN."""
    parts = []
    for i, a in enumerate((m.numerator, m.denominator)):
        lat = latest(ctx, a)
        join, invalid, value = _converted(ctx, a, a.unit, f"r{i}", f"ru{i}")
        parts.append((lat, join, invalid, value))
    (l0, j0, i0, v0), (l1, j1, i1, v1) = parts
    value = f"CASE WHEN {i0} OR {i1} OR {v1} = {num(0)} THEN NULL ELSE {v0} / {v1} END"
    combos = (f"SELECT r0.patient_id, r0.date AS d0, r1.date AS d1, {value} AS x FROM {l0} r0 "
              f"JOIN {l1} r1 ON r1.patient_id = r0.patient_id {j0} {j1}")
    answer = f"CASE WHEN k.x IS NULL THEN NULL ELSE {test('k.x', 'k.x')} END"
    q = ctx.cte("q", f"SELECT k.patient_id, MAX(k.d0) AS d0, MAX(k.d1) AS d1, COUNT(*) AS n, "
                     f"{kleene_same(answer)} AS v FROM ({combos}) k GROUP BY k.patient_id")
    w = _lab_window(ctx, recency)
    value = f"CASE WHEN {q}.n > {_MAX_COMBINATIONS} THEN NULL ELSE {q}.v END"
    return ctx.recent(ctx.recent(value, f"{q}.d0", w), f"{q}.d1", w)


def _completed_years(ctx: Ctx, b: str) -> str:
    y, m, d = ctx.as_of.year, ctx.as_of.month, ctx.as_of.day
    return (f"CAST({y} - EXTRACT(YEAR FROM {b}) - CASE WHEN EXTRACT(MONTH FROM {b}) > {m} OR "
            f"(EXTRACT(MONTH FROM {b}) = {m} AND EXTRACT(DAY FROM {b}) > {d}) THEN 1 ELSE 0 END AS DOUBLE)")


def formula(ctx: Ctx, m: P.FormulaMeasure, target: str, test: Callable[[str, str], str],
            recency: P.Window | None) -> str:
    """Creatinine clearance (Cockcroft-Gault) or eGFR (CKD-EPI 2021) from the patient's own latest creatinine
    (and weight), age and sex (:func:`eligimatch.engine._evaluate.read_computed`): computed for every
    combination of results that may be the latest and, for a partial birth date, at both ends of the age
    interval; ``test(low, high)`` decides on the interval of values."""
    from eligimatch.sql._values import age_truth

    cats = ctx.catalogs
    creat = next((a for a in m.inputs if a.id == "creatinine"), None)
    weight = next((a for a in m.inputs if a.id == "weight"), None)
    if creat is None:
        raise not_expressible(m, "a formula without its creatinine input")
    entry = ctx.analyte(m.analyte)
    out_factor = entry.factor_from(entry.unit, target)
    lc = latest(ctx, creat)
    jc, ic, vc = _converted(ctx, creat, "mg/dL", "c", "cu")
    joins = f"FROM patients p JOIN {lc} c ON c.patient_id = p.patient_id {jc}"
    invalid = [ic]
    if m.method == "cockcroft_gault":
        if weight is None:
            weight = ctx_weight(cats)
        lw = latest(ctx, weight)
        jw, iw, vw = _converted(ctx, weight, "kg", "w", "wu")
        joins += f" JOIN {lw} w ON w.patient_id = p.patient_id {jw}"
        invalid.append(iw)
    # age: completed years at both ends of the birth interval; unknown when the age itself is
    # (no birth date, after the evaluation date, implausible): age_truth's own tests
    age_known = age_truth(ctx, P.AgeMeasure("year", False), ">=", 0.0)
    young = _completed_years(ctx, f"LEAST(p.birth_latest, {date(ctx.as_of)})")
    old = _completed_years(ctx, "p.birth_earliest")

    def value_at(age: str) -> str:
        female = "p.sex = 'female'"
        if m.method == "cockcroft_gault":
            crcl = f"((({num(140)} - {age}) * {vw}) / ({num(72)} * {vc}))"
            v = f"CASE WHEN {female} THEN {crcl} * {num(0.85)} ELSE {crcl} END"
        else:
            kappa = f"CASE WHEN {female} THEN {num(0.7)} ELSE {num(0.9)} END"
            alpha = f"CASE WHEN {female} THEN {num(-0.241)} ELSE {num(-0.302)} END"
            r = f"({vc} / ({kappa}))"
            egfr = (f"((({num(142)} * POWER(LEAST({r}, {num(1)}), {alpha})) * POWER(GREATEST({r}, {num(1)}), "
                    f"{num(-1.2)})) * POWER({num(0.9938)}, {age}))")
            v = f"CASE WHEN {female} THEN {egfr} * {num(1.012)} ELSE {egfr} END"
        return f"(({v}) * {num(out_factor)})"

    ages_ok = (f"{young} >= {num(18)} AND {young} <= {num(120)} AND {old} >= {num(18)} AND {old} <= {num(120)}")
    inputs_ok = f"{vc} > {num(0)}" + (f" AND {vw} > {num(0)}" if m.method == "cockcroft_gault" else "")
    usable = (f"NOT ({' OR '.join(invalid)}) AND p.sex IS NOT NULL AND ({age_known}) IS NOT NULL "
              f"AND {ages_ok} AND {inputs_ok}")
    # one row per combination of results that may be the latest: the value at both ends of the age interval
    # (NULL when an input cannot be used), then the answer on [low, high]
    combos = (f"SELECT p.patient_id, c.date AS d0, {'w.date' if m.method == 'cockcroft_gault' else 'c.date'} AS d1, "
              f"CASE WHEN {usable} THEN {value_at(young)} END AS vy, "
              f"CASE WHEN {usable} THEN {value_at(old)} END AS vo {joins}")
    answer = (f"CASE WHEN k.vy IS NULL OR k.vo IS NULL OR NOT (k.vy > {num(0)} AND k.vo > {num(0)}) THEN NULL "
              f"ELSE {test('LEAST(k.vy, k.vo)', 'GREATEST(k.vy, k.vo)')} END")
    q = ctx.cte("q", f"SELECT k.patient_id, MAX(k.d0) AS d0, MAX(k.d1) AS d1, COUNT(*) AS n, "
                     f"{kleene_same(answer)} AS v FROM ({combos}) k GROUP BY k.patient_id")
    w = _lab_window(ctx, recency)
    value = ctx.recent(f"CASE WHEN {q}.n > {_MAX_COMBINATIONS} THEN NULL ELSE {q}.v END", f"{q}.d0", w)
    if m.method == "cockcroft_gault":
        value = ctx.recent(value, f"{q}.d1", w)
    return value


def ctx_weight(cats: Any) -> P.AnalyteRef:
    a = cats.analytes.resolve("weight")
    return P.AnalyteRef(a.id, a.name, a.unit, a.loinc, a.molar_mass, a.unit_free, entry=a)
