"""Procedures, study participation and the absent-record policy in SQL (the other history kinds have
their own modules: :mod:`eligimatch.sql._conditions`, :mod:`eligimatch.sql._therapies`).

Study participation (:func:`participation`) and procedures, ``where`` tests included (:func:`procedure`,
through the record scan it shares with conditions: :func:`eligimatch.sql._records.scan`), are expressed,
with the absent-record policy (:func:`absent`, defined in :mod:`eligimatch.sql._records`).  The canonical tables hold what the history
kinds need (``conditions``/``procedures`` with ``concept_id`` and partial dates, ``record_attributes``,
``therapies`` with doses and ``therapy_classes``, ``studies``, the completeness flags of ``patients``);
the hierarchy closures and drug expansions are in the plan's reference records (``ConceptRef.covers``,
``DrugRef.drugs``/``classes``).
"""

from __future__ import annotations

from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._records import absent, scan
from eligimatch.sql._sqltext import date, text

__all__ = ["absent", "participation", "procedure"]

def procedure(ctx: Ctx, n: P.Procedure) -> str:
    """``procedure X [except Y] [within W] [where …]`` (:func:`eligimatch.kinds.procedure.eval_procedure`): a
    record of X (the catalog's hierarchy: X or below it; a broader or overlapping concept may be it: UNKNOWN)
    dated in the window, whose attributes pass the ``where`` tests (:mod:`eligimatch.sql._where`); partial
    dates decided when both ends agree; records not in the catalog or dated after the evaluation date leave
    an absence UNKNOWN (:func:`eligimatch.sql._records.scan`)."""
    if any(not c.covers for c in n.concepts + n.excepted):
        raise not_expressible(n, "a concept without its hierarchy closure in the plan")
    as_of = date(ctx.as_of)
    anchor: str | None = None
    if isinstance(n.timing, P.Within):
        anchor = ctx.anchor(n.timing.window.anchor)
        start = ctx.window_start(n.timing.window, anchor)
        ge = (f"CASE WHEN r.date_earliest >= {start} THEN TRUE WHEN r.date_latest < {start} THEN FALSE "
              f"ELSE NULL END")
        le = (f"CASE WHEN r.date_latest <= {anchor} THEN TRUE WHEN r.date_earliest > {anchor} THEN FALSE "
              f"ELSE NULL END")
        when = f"CASE WHEN r.date_earliest IS NULL THEN NULL ELSE (({ge}) AND ({le})) END"
    else:
        when = (f"CASE WHEN r.date_earliest IS NULL THEN TRUE WHEN r.date_latest <= {as_of} THEN TRUE "
                f"WHEN r.date_earliest > {as_of} THEN FALSE ELSE NULL END")
    # the row engine counts from the anchor only for a dated record of the concept
    return scan(ctx, history="procedures", concepts=n.concepts, excepted=n.excepted, where=n.where, when=when,
                later=f"(r.date_earliest IS NOT NULL AND r.date_earliest > {as_of})",
                needs_anchor="r.date_earliest IS NOT NULL", anchor=anchor, prefix="h")


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
              f"COUNT(CASE WHEN {record} THEN 1 END) AS n_true, "
              f"COUNT(CASE WHEN NOT ({this}) AND NOT ({later}) AND ({t}) IS NULL THEN 1 END) AS n_unknown, "
              f"COUNT(CASE WHEN NOT ({this}) AND ({later}) THEN 1 END) AS n_later "
              f"FROM studies s {join} GROUP BY s.patient_id")
    q = ctx.cte("s", select)
    value = (f"CASE WHEN COALESCE({q}.n_true, 0) > 0 THEN TRUE WHEN COALESCE({q}.n_unknown, 0) > 0 THEN NULL "
             f"WHEN COALESCE({q}.n_later, 0) > 0 THEN NULL ELSE {absent(ctx, 'studies')} END")
    if anchor is not None:
        value = f"CASE WHEN {anchor} IS NULL THEN NULL ELSE {value} END"
    return value
