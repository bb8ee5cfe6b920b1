"""Doses in SQL: ``daily dose`` / ``total dose of X [as prednisone] op V [within W]``
(:func:`eligimatch.kinds.dose.eval_dose`) and ``stable dose of X for D before A``
(:func:`eligimatch.kinds.stable_dose.eval_stable_dose`), as the row engine decides them.

The records of a criterion are the therapy records of :mod:`eligimatch.sql._therapies` (their signature
joined to ``eligimatch_therapy_kinds``: the record's kind and ``where`` tests, its catalog drug and that
drug's prednisone equivalent).  Two more mapping tables carry what is computed in Python, once per distinct
value of the data, by the row engine's own functions:

``eligimatch_dose_units(unit, factor, per_administration)``
    what turns a recorded dose into mg a day (:func:`eligimatch.engine._doses.daily_mg`); a unit it cannot
    read has no row, so such a dose is never computed (UNKNOWN).
``eligimatch_dose_values(dose_value, dose_unit, dose_per_day, mg6)``
    each distinct recorded dose with its daily mg rounded as the stable-dose test compares doses.

Daily and total doses: the days are cut into runs where no record changes state; on each run the daily
total lies between a lower and an upper bound (records that surely count, records that may), and the
answer is decided only when both bounds give the same one.  Stable dose: records grouped per drug by the
row engine's key (the catalog drug, else the recorded drug, else the recorded classes in their order:
``therapy_classes.class_order``), decided in the row engine's order of decisions.

Not expressed (:class:`~eligimatch.errors.SqlNotExpressibleError`): doses as an equivalent other than
prednisone, and ``where`` tests on the ``dose`` attribute.
"""

from __future__ import annotations

import sys

from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._history import absent
from eligimatch.sql._records import closed
from eligimatch.sql._sqltext import date, num, text
from eligimatch.sql._therapies import _KINDS, _and_attrs, _ge, _last, _le, _node_key, _records

__all__ = ["DOSE_UNITS_COLUMNS", "DOSE_UNITS_TABLE", "DOSE_VALUES_COLUMNS", "DOSE_VALUES_QUERY", "DOSE_VALUES_TABLE",
           "dose", "dose_unit_rows", "dose_value_rows", "stable_dose"]

#: The dose units of the data: what turns a recorded dose into mg a day (see :func:`dose_unit_rows`).
DOSE_UNITS_TABLE = "eligimatch_dose_units"
DOSE_UNITS_COLUMNS = (("unit", "VARCHAR"), ("factor", "DOUBLE"), ("per_administration", "BOOLEAN"))
#: The distinct recorded doses of the data and their daily mg rounded as the stable-dose test compares them.
DOSE_VALUES_TABLE = "eligimatch_dose_values"
DOSE_VALUES_COLUMNS = (("dose_value", "DOUBLE"), ("dose_unit", "VARCHAR"), ("dose_per_day", "DOUBLE"),
                       ("mg6", "DOUBLE"))
#: The query listing the recorded doses (for :func:`dose_value_rows`).
DOSE_VALUES_QUERY = ("SELECT DISTINCT dose_value, dose_unit, dose_per_day FROM therapies "
                     "WHERE dose_value IS NOT NULL")


def dose_value_rows(doses: list[tuple]) -> list[tuple]:
    """The rows of ``eligimatch_dose_values``: each distinct recorded (value, unit, per day) with its daily
    dose in mg rounded to 6 decimals as :func:`eligimatch.kinds.stable_dose.eval_stable_dose` compares doses
    (Python's own ``round``: no SQL rounding function rounds alike in every dialect); NULL when the daily
    dose cannot be computed."""
    from types import SimpleNamespace

    from eligimatch.engine._doses import daily_mg

    out = []
    for value, unit, per_day in doses:
        mg = daily_mg(SimpleNamespace(dose=SimpleNamespace(value=value, unit=unit, per_day=per_day)))
        out.append((value, unit, per_day, round(mg, 6) if mg is not None else None))
    return out


def dose_unit_rows(units: list[str]) -> list[tuple]:
    """The rows of ``eligimatch_dose_units`` for the data's distinct dose units: the row engine's own rule
    (:func:`eligimatch.engine._doses.daily_mg`) asked of each, with a dose of 1 without, then with, a number of
    administrations a day.  A unit it cannot read has no row: such a dose is never computed (UNKNOWN)."""
    from types import SimpleNamespace

    from eligimatch.engine._doses import daily_mg

    out = []
    for unit in sorted(set(units)):
        per_day = daily_mg(SimpleNamespace(dose=SimpleNamespace(value=1.0, unit=unit, per_day=None)))
        if per_day is not None:
            out.append((unit, per_day, False))
            continue
        per_admin = daily_mg(SimpleNamespace(dose=SimpleNamespace(value=1.0, unit=unit, per_day=1.0)))
        if per_admin is not None:
            out.append((unit, per_admin, True))
    return out


_DAY_MIN = "DATE '0001-01-01'"
_MAX = num(sys.float_info.max)  # the largest finite double: a value above it is infinite


def _plus_day(d: str) -> str:
    return f"CAST({d} + INTERVAL '1' DAY AS DATE)"


def _mg(equivalent: str | None) -> str:
    """The record's daily dose in mg (:func:`eligimatch.engine._doses.daily_mg`; NULL when it cannot be
    computed), as prednisone when asked (``(mg × 5) / eq_mg``, NULL for a drug without an equivalence)."""
    from eligimatch.knowledge._drugs import PREDNISONE_REFERENCE_MG

    raw = ("(CASE WHEN u.per_administration THEN (r.dose_value * u.factor) * r.dose_per_day "
           "ELSE r.dose_value * u.factor END)")
    finite = f"(CASE WHEN ABS({raw}) <= {_MAX} THEN {raw} END)"
    if equivalent:
        return f"(({finite} * {num(PREDNISONE_REFERENCE_MG)}) / r.eq_mg)"
    return finite


def dose(ctx: Ctx, n: P.Dose) -> str:
    """``daily dose of X [as prednisone] op V [within W]`` / ``total dose of X … within W op V``
    (:func:`eligimatch.kinds.dose.eval_dose`): the daily totals between a lower and an upper bound
    (:mod:`eligimatch.engine._doses`) on each run of days where no record changes state -- the runs cut at
    every record's sure and possible first and last days, its ``dose_since`` and the days one record of a
    drug may hand over to the next -- decided only when both bounds agree."""
    if n.equivalent not in (None, "prednisone"):
        raise not_expressible(n, f"doses as {n.equivalent} equivalents")
    tx = _records(ctx, n)
    key = _node_key(n)
    as_of = date(ctx.as_of)
    if n.window is not None:
        anchor: str | None = ctx.anchor(n.window.anchor)
        start = ctx.window_start(n.window, anchor)
        end = anchor
    else:
        anchor = None
        start = end = as_of
    assert end is not None
    last0, last1 = _last(as_of, end)
    first_sure = (f"(CASE WHEN r.start_earliest IS NOT NULL THEN r.start_latest WHEN r.ongoing THEN {as_of} "
                  f"WHEN {last0} = {last1} THEN {last0} END)")
    certain = f"({first_sure} IS NOT NULL AND {first_sure} <= {last0} AND r.attrs = 'T')"
    c0 = f"CASE WHEN {certain} THEN GREATEST({first_sure}, {start}) END"
    c1 = f"CASE WHEN {certain} THEN LEAST({last0}, {end}) END"
    p0 = f"GREATEST(COALESCE(r.start_earliest, {_DAY_MIN}), {start})"
    p1 = f"(CASE WHEN {last0} IS NULL THEN LEAST(GREATEST({as_of}, {end}), {end}) ELSE LEAST({last1}, {end}) END)"
    later = f"(r.start_earliest IS NOT NULL AND r.start_earliest > {as_of})"
    records = (f"SELECT x.*, m.attrs, m.drug_id AS did, m.eq_mg FROM {tx} x JOIN {_KINDS} m ON m.sig = x.sig "
               f"AND m.node = {text(key)}")
    base = (f"SELECT r.patient_id, r.seq, r.did, r.drug, r.attrs, {c0} AS c0, {c1} AS c1, {p0} AS p0, {p1} AS p1, "
            f"{_mg(n.equivalent)} AS mg, COALESCE(r.dose_since_latest, {_DAY_MIN}) AS kf, "
            f"CASE WHEN r.end_earliest IS NOT NULL AND r.end_earliest = r.end_latest THEN r.end_earliest END AS ld, "
            f"COALESCE(r.start_earliest, {_DAY_MIN}) AS s0, COALESCE(r.start_latest, {p1}) AS s1, "
            f"{start} AS ws, {end} AS we "
            f"FROM ({records}) r LEFT JOIN {DOSE_UNITS_TABLE} u ON u.unit = r.dose_unit "
            + ("JOIN anch ON anch.patient_id = r.patient_id " if anchor is not None else "")
            + f"WHERE NOT {later} AND r.attrs <> 'F'")
    # a record clipped to the window; `certain` only where it surely counts and the days are left
    clipped = (f"SELECT b.patient_id, b.seq, b.did, b.drug, b.attrs, CASE WHEN b.c0 <= b.c1 THEN b.c0 END AS c0, "
               f"CASE WHEN b.c0 <= b.c1 THEN b.c1 END AS c1, b.p0, b.p1, b.mg, b.kf, b.ld, b.s0, b.s1, b.ws, b.we "
               f"FROM ({base}) b WHERE b.p0 <= b.p1")
    copies = ("CASE WHEN q.did IS NOT NULL AND ROW_NUMBER() OVER (PARTITION BY q.patient_id, q.did, q.drug, q.c0, "
              "q.c1, q.p0, q.p1, q.mg, q.kf, q.attrs ORDER BY q.seq) > 1 THEN TRUE ELSE FALSE END")
    parts = ctx.cte("dp", f"SELECT q.*, {copies} AS copy FROM ({clipped}) q", join=False)
    return _dose_value(ctx, n, tx, key, parts, anchor, later)


def _dose_value(ctx: Ctx, n: P.Dose, tx: str, key: str, parts: str, anchor: str | None, later: str) -> str:
    """The runs, their bounds, and the answer (see :func:`dose`)."""
    # the days a record may have started on: (start earliest, start latest), or (day min, its last possible day)
    hand_pairs = (f"SELECT i.patient_id, i.seq, i.ld AS day, j.s0 = i.ld AND j.s1 = i.ld AS surely, "
                  f"CASE WHEN j.mg IS NOT NULL AND i.ld >= j.kf THEN j.mg END AS theirs, "
                  f"CASE WHEN NOT j.copy AND j.c0 IS NOT NULL AND j.c0 <= i.ld AND i.ld <= j.c1 "
                  f"THEN COALESCE(CASE WHEN j.mg IS NOT NULL AND i.ld >= j.kf THEN j.mg END, 0) ELSE 0 END AS theirs_lo, "
                  f"ROW_NUMBER() OVER (PARTITION BY i.patient_id, i.seq ORDER BY j.seq) AS k "
                  f"FROM {parts} i JOIN {parts} j ON j.patient_id = i.patient_id AND j.did = i.did AND j.seq <> i.seq "
                  f"AND j.s0 <= i.ld AND i.ld <= j.s1 "
                  f"WHERE i.did IS NOT NULL AND i.c0 IS NOT NULL AND i.ld IS NOT NULL AND i.c1 = i.ld")
    hand = ctx.cte("dh", f"SELECT patient_id, seq, day, surely, theirs, theirs_lo FROM ({hand_pairs}) h WHERE h.k = 1",
                   join=False)
    pts = " UNION ".join(f"SELECT patient_id, ws, we, {d} AS d FROM {src}{cond}" for d, src, cond in (
        ("c0", parts, " WHERE c0 IS NOT NULL"), (_plus_day("c1"), parts, " WHERE c1 IS NOT NULL"),
        ("p0", parts, ""), (_plus_day("p1"), parts, ""), ("kf", parts, ""), ("ws", parts, ""),
        (_plus_day("we"), parts, "")))
    pts += (f" UNION SELECT h.patient_id, p.ws, p.we, h.day AS d FROM {hand} h JOIN {parts} p ON "
            f"p.patient_id = h.patient_id AND p.seq = h.seq UNION SELECT h.patient_id, p.ws, p.we, "
            f"{_plus_day('h.day')} AS d FROM {hand} h JOIN {parts} p ON p.patient_id = h.patient_id AND p.seq = h.seq")
    cuts = f"SELECT c.patient_id, c.d FROM ({pts}) c WHERE c.d >= c.ws AND c.d <= {_plus_day('c.we')}"
    runs = (f"SELECT z.patient_id, z.d AS a, z.nxt FROM (SELECT y.patient_id, y.d, LEAD(y.d) OVER "
            f"(PARTITION BY y.patient_id ORDER BY y.d) AS nxt FROM ({cuts}) y) z WHERE z.nxt IS NOT NULL")
    mine = "(CASE WHEN p.mg IS NOT NULL AND g.a >= p.kf THEN p.mg END)"
    ho = "(h.seq IS NOT NULL AND NOT p.copy)"
    poss = "(p.p0 <= g.a AND g.a <= p.p1)"
    lo_c = (f"CASE WHEN {ho} THEN LEAST(COALESCE({mine}, 0), COALESCE(h.theirs, 0)) - h.theirs_lo "
            f"WHEN NOT p.copy AND p.c0 IS NOT NULL AND p.c0 <= g.a AND g.a <= p.c1 THEN COALESCE({mine}, 0) ELSE 0 END")
    hi_inf = (f"CASE WHEN {ho} AND h.surely THEN ({mine} IS NULL OR h.theirs IS NULL) WHEN {ho} THEN {mine} IS NULL "
              f"ELSE ({poss} AND {mine} IS NULL) END")
    hi_c = (f"CASE WHEN {ho} AND h.surely THEN (CASE WHEN {mine} IS NULL OR h.theirs IS NULL THEN 0 "
            f"ELSE GREATEST({mine}, h.theirs) - h.theirs END) WHEN {ho} THEN COALESCE({mine}, 0) "
            f"WHEN {poss} THEN COALESCE({mine}, 0) ELSE 0 END")
    per_run = (f"SELECT g.patient_id, g.a, DATE_DIFF('day', g.a, g.nxt) AS len, SUM({lo_c}) AS lo, "
               f"MAX(CASE WHEN {hi_inf} THEN 1 ELSE 0 END) AS hinf, SUM({hi_c}) AS hi "
               f"FROM ({runs}) g JOIN {parts} p ON p.patient_id = g.patient_id "
               f"LEFT JOIN {hand} h ON h.patient_id = p.patient_id AND h.seq = p.seq AND h.day = g.a "
               f"GROUP BY g.patient_id, g.a, g.nxt")
    if n.total:
        agg = "SUM(w.lo * w.len) AS lo, MAX(w.hinf) AS hinf, SUM(w.hi * w.len) AS hi"
    else:
        agg = "MAX(w.lo) AS lo, MAX(w.hinf) AS hinf, MAX(w.hi) AS hi"
    bounds = ctx.cte("db", f"SELECT w.patient_id, {agg} FROM ({per_run}) w GROUP BY w.patient_id")
    counts = (f"SELECT r.patient_id, COUNT(CASE WHEN {later} THEN 1 END) AS n_later, "
              f"COUNT(CASE WHEN NOT {later} THEN 1 END) AS n_used "
              f"FROM {tx} r JOIN {_KINDS} m ON m.sig = r.sig AND m.node = {text(key)} GROUP BY r.patient_id")
    cnt = ctx.cte("dn", counts)
    pc = ctx.cte("dc", f"SELECT patient_id, COUNT(*) AS n_parts FROM {parts} GROUP BY patient_id")
    unbounded = f"(COALESCE({cnt}.n_later, 0) > 0 OR NOT ({closed(ctx, 'therapies')}))"
    lo = f"COALESCE({bounds}.lo, CAST(0 AS DOUBLE))"
    hi_inf = f"(COALESCE({bounds}.hinf, 1) = 1 OR {unbounded})"
    hi = f"{bounds}.hi"
    decided = _decide(lo, hi, hi_inf, n.op, n.threshold_mg)
    from eligimatch.knowledge._tolerance import compare as py_compare

    zero = "TRUE" if py_compare(0.0, n.op, n.threshold_mg) else "FALSE"
    none_found = f"CASE WHEN {absent(ctx, 'therapies')} = FALSE THEN {zero} ELSE NULL END"
    value = (f"CASE WHEN COALESCE({pc}.n_parts, 0) = 0 AND COALESCE({cnt}.n_later, 0) = 0 THEN {none_found} "
             f"ELSE {decided} END")
    if anchor is not None:  # the row engine reads the anchor first
        value = f"CASE WHEN {anchor} IS NULL THEN NULL ELSE {value} END"
    return value


def _decide(lo: str, hi: str, hi_inf: str, op: str, threshold: float) -> str:
    """:func:`eligimatch.engine._doses._decide` for a total known to lie in [lo, hi] (``hi_inf``: unbounded)."""
    from eligimatch.sql._sqltext import compare, compare_const

    inf = f"({hi_inf} OR NOT ({hi} <= {_MAX}))"
    if op in ("=", "!="):
        outside = f"(NOT {compare_const(lo, '<=', threshold)} OR (NOT {inf} AND NOT {compare_const(hi, '>=', threshold)}))"
        f = "FALSE" if op == "=" else "TRUE"
        return (f"(CASE WHEN {outside} THEN {f} WHEN NOT {inf} AND {compare(lo, '=', hi)} THEN "
                f"(CASE WHEN {compare_const(lo, op, threshold)} THEN TRUE ELSE FALSE END) ELSE NULL END)")
    at_lo = compare_const(lo, op, threshold)
    at_hi = compare_const(hi, op, threshold)
    if op in (">", ">="):
        unbounded = f"CASE WHEN {at_lo} THEN TRUE ELSE NULL END"
    else:
        unbounded = f"CASE WHEN {at_lo} THEN NULL ELSE FALSE END"
    return (f"(CASE WHEN {inf} THEN ({unbounded}) WHEN ({at_lo}) = ({at_hi}) THEN ({at_lo}) ELSE NULL END)")


#: The row engine's key of a drug's doses in a stable dose: the catalog drug, else the record's own drug,
#: else its classes in the record's order (``therapy_classes.class_order``).
_SKEY = "COALESCE(m.drug_id, NULLIF(x.drug, ''), x.lab, '')"


def stable_dose(ctx: Ctx, n: P.StableDose) -> str:
    """``stable dose of X for D before A`` (:func:`eligimatch.kinds.stable_dose.eval_stable_dose`): each drug of
    X taken over ``[A - D, A]`` at one daily dose throughout -- records grouped per drug (the row engine's
    key: the catalog drug, else the record's own name), a ``dose_since`` inside the window a change, the
    decision in the row engine's order (a change; an incomplete history; a drug begun inside the window;
    records dated after the evaluation date; uncertain records; no dose at all; a possible change)."""
    tx = _records(ctx, n)
    key = _node_key(n)
    as_of = date(ctx.as_of)
    anchor = ctx.anchor(n.anchor)
    start = ctx.window_start(P.Window((n.duration,), n.anchor), anchor)
    later = f"(r.start_earliest IS NOT NULL AND r.start_earliest > {as_of})"
    last0, last1 = _last(as_of, anchor)
    began = (f"CASE WHEN r.start_earliest IS NOT NULL THEN ({_le('r.start_earliest', 'r.start_latest', anchor)}) "
             f"WHEN (CASE WHEN r.ongoing THEN {as_of} ELSE {last1} END) <= {anchor} THEN TRUE ELSE NULL END")
    active_in = f"CASE WHEN {last0} IS NULL THEN NULL ELSE (({began}) AND ({_ge(last0, last1, start)})) END"
    active = _and_attrs(active_in)
    change = ("CASE WHEN r.dose_since_earliest IS NULL THEN 'F' WHEN r.start_earliest IS NULL THEN 'U' "
              "WHEN r.dose_since_earliest > r.start_latest THEN 'T' "
              "WHEN r.dose_since_latest <= r.start_earliest THEN 'F' ELSE 'U' END")
    rows = (f"SELECT r.patient_id, r.skey, {later} AS later, ({active}) AS act, ({change}) AS chg, "
            f"r.dose_since_earliest AS se, r.dose_since_latest AS sl, dv.mg6 AS mg, "
            f"COALESCE(r.dose_since_earliest, r.start_earliest) AS b0, "
            f"CASE WHEN r.dose_since_earliest IS NOT NULL THEN r.dose_since_latest ELSE r.start_latest END AS b1, "
            f"{start} AS ws "
            f"FROM (SELECT x.*, m.attrs, {_SKEY} AS skey FROM {tx} x JOIN {_KINDS} m ON m.sig = x.sig "
            f"AND m.node = {text(key)}) r LEFT JOIN {DOSE_VALUES_TABLE} dv ON dv.dose_value = r.dose_value "
            f"AND dv.dose_unit = r.dose_unit AND (dv.dose_per_day = r.dose_per_day OR (dv.dose_per_day IS NULL "
            f"AND r.dose_per_day IS NULL)) JOIN anch ON anch.patient_id = r.patient_id")
    unsure = ("(k.act IS NULL OR k.mg IS NULL OR (k.chg <> 'F' AND k.se <= k.ws AND k.ws < k.sl))")
    counted = f"(NOT k.later AND k.act IS NOT NULL AND k.act AND NOT {unsure})"
    by = "CASE WHEN k.b0 IS NULL THEN NULL ELSE (CASE WHEN k.b1 <= k.ws THEN TRUE WHEN k.b0 > k.ws THEN FALSE END) END"
    per_key = (f"SELECT k.patient_id, k.skey, COUNT(*) AS n_found, "
               f"COUNT(CASE WHEN k.later THEN 1 END) AS n_later, "
               f"COUNT(CASE WHEN NOT k.later AND (k.act IS NULL OR k.act) AND {unsure} THEN 1 END) AS n_unsure, "
               f"COUNT(CASE WHEN NOT k.later AND k.act AND k.chg = 'T' AND k.se > k.ws THEN 1 END) AS n_changed, "
               f"COUNT(CASE WHEN NOT k.later AND k.act AND k.chg = 'U' AND k.se > k.ws THEN 1 END) AS n_maybe, "
               f"COUNT(DISTINCT CASE WHEN {counted} THEN k.mg END) AS n_doses, "
               f"COUNT(CASE WHEN {counted} THEN 1 END) AS n_counted, "
               f"MAX(CASE WHEN {counted} THEN (CASE WHEN ({by}) THEN 2 WHEN ({by}) IS NULL THEN 1 ELSE 0 END) END) "
               f"AS covers FROM ({rows}) k GROUP BY k.patient_id, k.skey")
    agg = (f"SELECT g.patient_id, SUM(g.n_found) AS n_found, SUM(g.n_later) AS n_later, "
           f"SUM(g.n_unsure) AS n_unsure, COUNT(CASE WHEN g.n_changed > 0 OR g.n_doses > 1 THEN 1 END) AS n_changed, "
           f"SUM(g.n_maybe) AS n_maybe, COUNT(CASE WHEN g.n_counted > 0 THEN 1 END) AS n_keys, "
           f"COUNT(CASE WHEN g.n_counted > 0 AND g.covers = 0 AND g.n_unsure = 0 THEN 1 END) AS n_late, "
           f"COUNT(CASE WHEN g.n_counted > 0 AND g.covers = 1 THEN 1 END) AS n_cover_unsure "
           f"FROM ({per_key}) g GROUP BY g.patient_id")
    q = ctx.cte("sd", agg)
    complete = closed(ctx, "therapies")
    value = (f"CASE WHEN {anchor} IS NULL THEN NULL "
             f"WHEN COALESCE({q}.n_found, 0) = 0 THEN {absent(ctx, 'therapies')} "
             f"WHEN {q}.n_changed > 0 THEN FALSE WHEN NOT ({complete}) THEN NULL "
             f"WHEN {q}.n_late > 0 THEN FALSE WHEN {q}.n_later > 0 THEN NULL "
             f"WHEN {q}.n_unsure > 0 OR {q}.n_cover_unsure > 0 THEN NULL "
             f"WHEN {q}.n_keys = 0 THEN FALSE WHEN {q}.n_maybe > 0 THEN NULL ELSE TRUE END")
    return value
