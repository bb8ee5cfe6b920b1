"""Procedures, study participation and the absent-record policy in SQL (the other history kinds have
their own modules: :mod:`eligimatch.sql._conditions`, :mod:`eligimatch.sql._therapies`).

Study participation (:func:`participation`) and procedures without ``where`` (:func:`procedure`) are
expressed, with the absent-record policy (:func:`absent`); a ``where`` test on a procedure raises
:class:`~eligimatch.errors.SqlNotExpressibleError`, so that criterion is reported as not expressible on the
SQL backend, never answered differently from the row engine.  The canonical tables hold what the history
kinds need (``conditions``/``procedures`` with ``concept_id`` and partial dates, ``record_attributes``,
``therapies`` with doses and ``therapy_classes``, ``studies``, the completeness flags of ``patients``);
the hierarchy closures and drug expansions are in the plan's reference records (``ConceptRef.covers``,
``DrugRef.drugs``/``classes``).
"""

from __future__ import annotations

from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._sqltext import date, text

__all__ = ["absent", "participation", "procedure"]

def _in(col: str, ids: set[str]) -> str:
    return f"{col} IN ({', '.join(text(i) for i in sorted(ids))})" if ids else "FALSE"


def _kind(col: str, selectors: tuple[P.ConceptRef, ...], excepted: tuple[P.ConceptRef, ...]) -> tuple[str, str]:
    """(relevant, kind) of a record of concept ``col`` (:func:`eligimatch.engine._history._kind`): relevant when
    it is (or may be) one of ``selectors``; kind 'T' (it is), 'U' (it may be, or may be excepted), 'F'
    (excepted).  The hierarchies are the plan's closures: ``covers`` (the concept and all below it) and
    ``may_be`` (concepts that overlap it)."""
    sel_is = set().union(*(c.covers for c in selectors))
    sel_may = set().union(*(c.may_be for c in selectors)) - sel_is
    exc_is = set().union(*(c.covers for c in excepted)) if excepted else set()
    exc_may = (set().union(*(c.may_be for c in excepted)) - exc_is) if excepted else set()
    relevant = f"({_in(col, sel_is)} OR {_in(col, sel_may)})"
    kind = (f"CASE WHEN {_in(col, exc_is)} THEN 'F' WHEN {_in(col, sel_is)} AND NOT {_in(col, exc_may)} "
            f"THEN 'T' ELSE 'U' END")
    return relevant, kind


def procedure(ctx: Ctx, n: P.Procedure) -> str:
    """``procedure X [except Y] [within W]`` (:func:`eligimatch.engine._history.eval_procedure`), without
    ``where``: a record of X (the catalog's hierarchy: X or below it; a broader or overlapping concept may
    be it: UNKNOWN) dated in the window; partial dates decided when both ends agree; records not in the
    catalog or dated after the evaluation date leave an absence UNKNOWN."""
    if n.where:
        raise not_expressible(n, "`where` tests on procedure attributes are not expressed in SQL yet")
    if any(not c.covers for c in n.concepts):
        raise not_expressible(n, "a concept without its hierarchy closure in the plan")
    as_of = date(ctx.as_of)
    relevant, kind = _kind("r.concept_id", n.concepts, n.excepted)
    later = f"(r.date_earliest IS NOT NULL AND r.date_earliest > {as_of})"
    if isinstance(n.timing, P.Within):
        anchor = ctx.anchor(n.timing.window.anchor)
        start = ctx.window_start(n.timing.window, anchor)
        ge = (f"CASE WHEN r.date_earliest >= {start} THEN TRUE WHEN r.date_latest < {start} THEN FALSE "
              f"ELSE NULL END")
        le = (f"CASE WHEN r.date_latest <= {anchor} THEN TRUE WHEN r.date_earliest > {anchor} THEN FALSE "
              f"ELSE NULL END")
        when = f"CASE WHEN r.date_earliest IS NULL THEN NULL ELSE (({ge}) AND ({le})) END"
        join = "JOIN anch ON anch.patient_id = r.patient_id"
    else:
        anchor = None
        when = (f"CASE WHEN r.date_earliest IS NULL THEN TRUE WHEN r.date_latest <= {as_of} THEN TRUE "
                f"WHEN r.date_earliest > {as_of} THEN FALSE ELSE NULL END")
        join = ""
    record = "CASE WHEN k.kind = 'T' THEN k.w WHEN k.w = FALSE THEN FALSE ELSE NULL END"  # t_and(kind, when)
    rows = (f"SELECT r.patient_id, r.concept_id, {kind} AS kind, {later} AS later, "
            f"r.date_earliest IS NOT NULL AS dated, {when} AS w "
            f"FROM procedures r {join} WHERE r.concept_id IS NULL OR {relevant}")
    select = (f"SELECT k.patient_id, "
              f"SUM(CASE WHEN k.concept_id IS NULL THEN 1 ELSE 0 END) AS n_unmapped, "
              f"SUM(CASE WHEN k.concept_id IS NOT NULL AND k.kind <> 'F' AND k.later THEN 1 ELSE 0 END) AS n_later, "
              f"SUM(CASE WHEN k.concept_id IS NOT NULL AND k.kind <> 'F' AND NOT k.later AND k.dated "
              f"THEN 1 ELSE 0 END) AS n_dated, "
              f"SUM(CASE WHEN k.concept_id IS NOT NULL AND k.kind <> 'F' AND NOT k.later AND ({record}) "
              f"THEN 1 ELSE 0 END) AS n_true, "
              f"SUM(CASE WHEN k.concept_id IS NOT NULL AND k.kind <> 'F' AND NOT k.later AND ({record}) IS NULL "
              f"THEN 1 ELSE 0 END) AS n_unknown "
              f"FROM ({rows}) k GROUP BY k.patient_id")
    q = ctx.cte("h", select)
    value = (f"CASE WHEN COALESCE({q}.n_true, 0) > 0 THEN TRUE WHEN COALESCE({q}.n_unknown, 0) > 0 THEN NULL "
             f"WHEN COALESCE({q}.n_later, 0) > 0 OR COALESCE({q}.n_unmapped, 0) > 0 THEN NULL "
             f"ELSE {absent(ctx, 'procedures')} END")
    if anchor is not None:  # the row engine counts from the anchor only for a dated record of the concept
        value = f"CASE WHEN {anchor} IS NULL AND COALESCE({q}.n_dated, 0) > 0 THEN NULL ELSE {value} END"
    return value


def participation(ctx: Ctx, n: P.Participation) -> str:
    """``participation in another study [within W]`` (:func:`eligimatch.engine._history.eval_participation`):
    a study record other than this trial whose period reaches into the window; TRUE if one does, UNKNOWN
    if one may (partial dates, a start not recorded under a window) or a record is dated after the
    evaluation date, else absent: FALSE when the study history is complete (or absence is assumed)."""
    as_of = date(ctx.as_of)
    if n.window is not None:
        anchor = ctx.anchor(n.window.anchor)
        start = ctx.window_start(n.window, anchor)
        began = (f"CASE WHEN s.start_earliest IS NULL THEN NULL WHEN s.start_latest <= {anchor} THEN TRUE "
                 f"WHEN s.start_earliest > {anchor} THEN FALSE ELSE NULL END")
        still = (f"CASE WHEN s.end_earliest IS NULL THEN TRUE WHEN s.end_earliest >= {start} THEN TRUE "
                 f"WHEN s.end_latest < {start} THEN FALSE ELSE NULL END")
        join = "JOIN anch ON anch.patient_id = s.patient_id"
    else:
        anchor = None
        began = (f"CASE WHEN s.start_earliest IS NULL THEN TRUE WHEN s.start_latest <= {as_of} THEN TRUE "
                 f"WHEN s.start_earliest > {as_of} THEN FALSE ELSE NULL END")
        still = "TRUE"
        join = ""
    this = (f"s.study IS NOT NULL AND LOWER(s.study) = {text(n.trial_id.lower())}" if n.trial_id is not None
            else "FALSE")
    later = f"s.start_earliest IS NOT NULL AND s.start_earliest > {as_of}"
    t = f"(({began}) AND ({still}))"
    record = f"CASE WHEN {this} THEN FALSE WHEN {later} THEN NULL ELSE {t} END"
    select = (f"SELECT s.patient_id, "
              f"SUM(CASE WHEN {record} THEN 1 ELSE 0 END) AS n_true, "
              f"SUM(CASE WHEN NOT ({this}) AND NOT ({later}) AND ({t}) IS NULL THEN 1 ELSE 0 END) AS n_unknown, "
              f"SUM(CASE WHEN NOT ({this}) AND ({later}) THEN 1 ELSE 0 END) AS n_later "
              f"FROM studies s {join} GROUP BY s.patient_id")
    q = ctx.cte("s", select)
    value = (f"CASE WHEN COALESCE({q}.n_true, 0) > 0 THEN TRUE WHEN COALESCE({q}.n_unknown, 0) > 0 THEN NULL "
             f"WHEN COALESCE({q}.n_later, 0) > 0 THEN NULL ELSE {absent(ctx, 'studies')} END")
    if anchor is not None:
        value = f"CASE WHEN {anchor} IS NULL THEN NULL ELSE {value} END"
    return value


def absent(ctx: Ctx, history: str) -> str:
    """No record that counts: FALSE when the history is complete (or the policy assumes absence), else NULL
    (:func:`eligimatch.engine._evaluate._absence`)."""
    if ctx.assume_absent:
        return "FALSE"
    return f"CASE WHEN p.complete_{history} THEN FALSE ELSE NULL END"
