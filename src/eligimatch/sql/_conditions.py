"""Conditions in SQL: ``condition X [except Y] [where …]`` with every timing -- present now
(:class:`~eligimatch.plan.Present`), ever (:class:`~eligimatch.plan.Ever`), within a window
(:class:`~eligimatch.plan.Within`), diagnosed within a window (:class:`~eligimatch.plan.DiagnosedWithin`,
still present or not) -- as :func:`eligimatch.kinds.condition.eval_condition` decides them.

One common table expression per criterion scans ``conditions`` for the records that are, or may be, the
concept (the plan's closures: ``covers``, ``may_be``; IN lists, no per-row subquery), gives each record
its Kleene value -- kind (a broader or overlapping concept is UNKNOWN, an excepted one does not count),
timing, ``where`` tests over ``record_attributes`` (:mod:`eligimatch.sql._where`) -- and counts per patient
the records that are TRUE, UNKNOWN, dated after the evaluation date, or not in the catalog.  The value:

* TRUE when a record is TRUE; else UNKNOWN when one is UNKNOWN;
* else UNKNOWN when a record of the concept is dated after the evaluation date, or a record is not in
  the catalog (it could be the concept);
* else the absent-record policy (:func:`eligimatch.sql._history.absent`): FALSE when the conditions
  history is complete (or absence is assumed), UNKNOWN otherwise;
* a window counted from an anchor with no date is UNKNOWN as soon as one record needs it (the row
  engine's ``MissingAnchor``).

Timing of one record (``_condition_timing`` in the row engine): *present now* is FALSE for a resolved,
inactive or in-remission record, decided by the end date when there is one, TRUE for an active record
without one, UNKNOWN with neither status nor end date; *ever* is TRUE for every record not dated after the
evaluation date; *within* asks that the record began by the anchor and had not ended before the window's
start (an ended record without an end date counts only where its onset alone places it in the window);
*diagnosed within* asks that the onset lie in the window (UNKNOWN without an onset).  Partial dates are
decided when both ends agree.  A status outside the four the schema declares never decides (UNKNOWN).

``allergy to (drugs)``: the record's ``allergen`` attribute, read through the drug catalog by the writer
(``record_attributes.value_drug``), is one of the drugs or classes; the catalog's entries are classified
at compile time (:func:`_allergen`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from eligimatch.knowledge._dates import shift_clamped
from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._records import scan
from eligimatch.sql._sqltext import date, text

__all__ = ["condition"]

_ENDED = ("resolved", "inactive", "remission")  # the row engine's _ENDED (kinds/condition.py)
_STATUSES = ("active",) + _ENDED


def _statuses(values: tuple[str, ...]) -> str:
    return f"r.status IN ({', '.join(text(s) for s in values)})"


def _present(as_of: _dt.date) -> str:
    """Present on the evaluation date: started (always, for a record not dated after it), and neither
    resolved nor ended."""
    # not ended before the next day (the row engine's shift, saturating at 9999-12-31)
    nxt = date(shift_clamped(as_of, 1, "day"))
    return (f"CASE WHEN {_statuses(_ENDED)} THEN FALSE "
            f"WHEN r.status IS NOT NULL AND NOT {_statuses(_STATUSES)} THEN NULL "
            f"WHEN r.end_earliest IS NULL THEN (CASE WHEN r.status IS NULL THEN NULL ELSE TRUE END) "
            f"WHEN r.end_earliest >= {nxt} THEN TRUE WHEN r.end_latest < {nxt} THEN FALSE ELSE NULL END")


def _onset_in(start: str, anchor: str) -> str:
    """The onset lies in ``[start, anchor]`` (UNKNOWN without an onset, or when a partial onset straddles
    an end)."""
    ge = (f"CASE WHEN r.onset_earliest >= {start} THEN TRUE WHEN r.onset_latest < {start} THEN FALSE "
          f"ELSE NULL END")
    le = (f"CASE WHEN r.onset_latest <= {anchor} THEN TRUE WHEN r.onset_earliest > {anchor} THEN FALSE "
          f"ELSE NULL END")
    return f"CASE WHEN r.onset_earliest IS NULL THEN NULL ELSE (({ge}) AND ({le})) END"


def _within(as_of: _dt.date, start: str, anchor: str) -> str:
    """Some day of the condition lies in ``[start, anchor]``: it began by the anchor and had not ended
    before the start."""
    a0 = date(as_of)
    began = (f"CASE WHEN r.onset_earliest IS NOT NULL THEN (CASE WHEN r.onset_latest <= {anchor} THEN TRUE "
             f"WHEN r.onset_earliest > {anchor} THEN FALSE ELSE NULL END) "
             # no onset: in the chart on the evaluation date, so begun by then (and by its end, if any)
             f"WHEN LEAST({a0}, COALESCE(r.end_latest, {a0})) <= {anchor} THEN TRUE ELSE NULL END")
    still = (f"CASE WHEN r.end_earliest IS NOT NULL THEN (CASE WHEN r.end_earliest >= {start} THEN TRUE "
             f"WHEN r.end_latest < {start} THEN FALSE ELSE NULL END) "
             f"WHEN r.status = 'active' THEN TRUE "
             f"WHEN r.status IS NOT NULL AND NOT {_statuses(_ENDED)} THEN NULL "
             # ended (or perhaps ended) on an unknown day between its onset and now
             f"WHEN r.onset_earliest IS NOT NULL THEN (CASE WHEN r.onset_earliest >= {start} THEN TRUE "
             f"WHEN {a0} < {start} THEN FALSE ELSE NULL END) "
             f"ELSE NULL END")
    return f"(({began}) AND ({still}))"


def condition(ctx: Ctx, n: P.Condition) -> str:
    """The Kleene value of ``condition …`` / ``history of …`` / ``… diagnosed within …`` for the patient
    (row ``p``); see the module's description."""
    if any(not c.covers for c in n.concepts + n.excepted):
        raise not_expressible(n, "a concept without its hierarchy closure in the plan")
    as_of = date(ctx.as_of)
    timing = n.timing
    anchor: str | None = None
    needs_anchor = "FALSE"  # the records for which the row engine reads the anchor's date
    if isinstance(timing, P.Present):
        when = _present(ctx.as_of)
    elif isinstance(timing, P.Ever):
        when = "TRUE"
    elif isinstance(timing, P.Within):
        anchor = ctx.anchor(timing.window.anchor)
        start = ctx.window_start(timing.window, anchor)
        when = _within(ctx.as_of, start, anchor)
        needs_anchor = "TRUE"
    elif isinstance(timing, P.DiagnosedWithin):
        anchor = ctx.anchor(timing.window.anchor)
        start = ctx.window_start(timing.window, anchor)
        when = _onset_in(start, anchor)
        if timing.still_present:
            when = f"(({when}) AND ({_present(ctx.as_of)}))"
        needs_anchor = "r.onset_earliest IS NOT NULL"
    else:  # pragma: no cover - the plan's timings are listed above
        raise not_expressible(n, f"the timing {type(timing).__name__}")
    return scan(ctx, history="conditions", concepts=n.concepts, excepted=n.excepted, where=n.where, when=when,
                later=f"(r.onset_earliest IS NOT NULL AND r.onset_earliest > {as_of})", needs_anchor=needs_anchor,
                anchor=anchor, prefix="c", also=("allergen",) if n.allergens else (),
                extra=_allergen(ctx, n.allergens) if n.allergens else None)


def _entries(drugs: Any) -> list[tuple[str, Any]]:
    """Every entry ``value_drug`` can name, with its catalog entry: drugs, classes, target classes."""
    out: list[tuple[str, Any]] = [(f"drug:{d.id}", d) for d in drugs.drugs]
    out += [(f"class:{c.id}", c) for c in drugs.classes]
    for t in drugs.targets:
        entry = drugs.resolve(f"target:{t}")
        if entry is not None:
            out.append((f"class:{entry.id}", entry))
    return out


def _allergen(ctx: Ctx, allergens: tuple[P.DrugRef, ...]) -> Callable[[dict[str, str]], str]:
    """``allergy to (drugs)``: the record's ``allergen`` attribute, read through the drug catalog by the writer
    (``value_drug``), is one of the drugs or classes (:func:`eligimatch.kinds.condition._allergen_truth`): a
    substance is its classes whatever it was given for; a class that may be one of them (a broader class, a
    drug the catalog cannot rule out) UNKNOWN; an allergen not recorded or not in the catalog UNKNOWN.  The
    catalog's entries are classified here, once, into IN lists."""
    from eligimatch.kinds.condition import _substance_is
    from eligimatch.knowledge._drugs import Drug

    drugs = ctx.catalogs.drugs
    yes: list[str] = []
    no: list[str] = []
    for key, entry in _entries(drugs):
        status = [_substance_is(drugs, entry.id, a.id) if isinstance(entry, Drug)
                  else drugs.match_status(None, (entry.id,), a.id) for a in allergens]
        if any(x is True for x in status):
            yes.append(key)
        elif all(x is False for x in status):
            no.append(key)

    def truth(aliases: dict[str, str]) -> str:
        col = f"{aliases['allergen']}.value_drug"
        # an entry classified neither way (it may be one; or unknown to these catalogs): UNKNOWN
        return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {_in(col, yes)} THEN TRUE "
                f"WHEN {_in(col, no)} THEN FALSE ELSE NULL END")
    return truth


def _in(col: str, values: list[str]) -> str:
    return f"{col} IN ({', '.join(text(v) for v in sorted(set(values)))})" if values else "FALSE"
