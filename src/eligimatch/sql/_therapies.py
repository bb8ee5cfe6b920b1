"""Therapies in SQL: ``therapy X …`` as :func:`eligimatch.kinds.therapy.eval_therapy` decides it.

Expressed: ``therapy X`` (ever), ``therapy X within W`` (days, weeks, calendar months and years, and
``max(…, N half-lives)`` with each record's drug's half-life), ``ongoing therapy X``, ``washout from X of
at least W`` and ``therapy X started at least D before A`` (courses: records of one drug that follow each
other without a day's gap), with ``except``, ``(a and b)`` (one record is both), ``for`` / ``not for
condition Y`` and ``where`` tests on the record's route, drug, indication and investigational flag.  Not
expressed (each raises :class:`~eligimatch.errors.SqlNotExpressibleError`, so the criterion is reported as
not expressible on the SQL backend and answered by the row engine only): ``where`` tests on the ``dose``
attribute, ``daily dose`` / ``total dose`` and ``stable dose``.

What a record *is*, as data
===========================
Whether a therapy record is one of a criterion's selectors is not a simple lookup: a record may name a
drug the catalog does not know (it may be anything: UNKNOWN), only classes (broader than the selector,
or sharing a subclass with it: UNKNOWN), an investigational agent, or a drug that is the selector only
for some indications (methotrexate is ``cytotoxic_chemotherapy`` for a malignancy: the record's
``indication`` decides, UNKNOWN when it records none).  So nothing of that logic is rewritten in SQL.
Each record gets a *signature*: its drug, classes, investigational flag, indication and route, as one
text (each part length-prefixed, so two different records never share one).  :func:`therapy_rows`
(called by :func:`eligimatch.sql.prepare`) takes the distinct signatures found in the data, builds one
synthetic record per signature and asks the row engine's own functions
(:func:`eligimatch.engine._history._matching_therapies`, the ``where`` and ``for condition`` tests) what
that record is for each criterion; the answers go into the mapping table ``eligimatch_therapy_kinds``:

``eligimatch_therapy_kinds(node, sig, kind, attrs, hl_days)``
    ``node`` identifies the criterion's predicate (a hash of its plan node), ``sig`` the record
    signature; ``kind`` is ``T`` (the record is one of the selectors, and none of the excepted) or ``U``
    (it may be); ``attrs`` the record's ``where`` and ``for condition`` tests together with ``kind``
    (``T``/``U``/``F``); ``hl_days`` the half-life part of the window in whole days (``ceil(N ×
    half-life)``; NULL: the drug has no half-life in the catalog).  Signatures that are certainly not the
    selector have no row: the query's join keeps only the records that count.

Each criterion is then one common table expression: the ``therapies`` rows (with their signature)
joined to their rows of the mapping table, one truth per record from its dates, and per patient the
number of records TRUE, UNKNOWN and dated after the evaluation date -- decided as
:func:`eligimatch.engine._history._exists` decides (the absent-record policy of
:func:`eligimatch.sql._history.absent` when nothing counts).

Dates, as the row engine reads them
===================================
A record's last dose lies between two days (:func:`eligimatch.engine._history._last_dose_range`): an
ongoing therapy from the evaluation date up to the window's anchor, an ended one on its (possibly
partial) end, one with neither from its start up to the anchor.  A window end is never counted forward
from the dose: "the last dose is within N months before A" is ``window_start(A) <= last dose`` (the
inverse :func:`eligimatch.knowledge._dates.window_end` was written for), and a washout is still running
at ``A`` when ``window_start(A) < last dose`` (:func:`eligimatch.knowledge._dates.elapsed_on`); in
half-lives, ``A - last dose <= hl_days`` (``<`` for a washout).  A record whose drug has no half-life
is decided only when the fixed part of the washout alone covers the anchor.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Callable
from typing import Any

from eligimatch.errors import SqlNotExpressibleError
from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._history import absent
from eligimatch.sql._sqltext import date, num, text

__all__ = ["KINDS_COLUMNS", "KINDS_TABLE", "dose", "signature_query", "stable_dose", "therapy", "therapy_rows"]

#: The mapping table of record kinds (see the module's documentation).
KINDS_TABLE = "eligimatch_therapy_kinds"
KINDS_COLUMNS = (("node", "VARCHAR"), ("sig", "VARCHAR"), ("kind", "VARCHAR"), ("attrs", "VARCHAR"),
                 ("hl_days", "INTEGER"), ("drug_id", "VARCHAR"), ("eq_mg", "DOUBLE"))
#: The dose units of the data: what turns a recorded dose into mg a day (see :func:`dose_unit_rows`).
DOSE_UNITS_TABLE = "eligimatch_dose_units"
DOSE_UNITS_COLUMNS = (("unit", "VARCHAR"), ("factor", "DOUBLE"), ("per_administration", "BOOLEAN"))

_WHY_DOSE = ("doses (daily and total, in the catalog's equivalents) are not expressed in SQL yet; "
             "evaluate this criterion with the row engine")
_WHY_STABLE = "stable doses are not expressed in SQL yet; evaluate this criterion with the row engine"


# ---- the record signature ------------------------------------------------------------------------------

def _enc(col: str) -> str:
    """A nullable text column as an unambiguous piece of a signature: ``-`` for NULL, else
    ``<length>:<text>``."""
    return f"(CASE WHEN {col} IS NULL THEN '-' ELSE CAST(LENGTH({col}) AS VARCHAR) || ':' || {col} END)"


#: The classes a record names, as one text (sorted; each length-prefixed), per (patient_id, seq).
_CLASSES = ("SELECT patient_id, seq, STRING_AGG(CAST(LENGTH(class) AS VARCHAR) || ':' || class, ',' "
            "ORDER BY class) AS ck FROM therapy_classes GROUP BY patient_id, seq")


def _records_select() -> str:
    """Every therapy record with its signature and the columns the parts of the signature come from."""
    sig = (f"{_enc('t.drug')} || {_enc('t.indication')} || {_enc('t.route')} || "
           f"(CASE WHEN t.investigational THEN 'i' ELSE 'n' END) || COALESCE(c.ck, '')")
    return (f"SELECT t.patient_id, t.seq, {sig} AS sig, t.drug, t.investigational, t.indication, t.route, "
            f"c.ck, t.start_earliest, t.start_latest, t.end_earliest, t.end_latest, t.ongoing, t.dose_value, "
            f"t.dose_unit, t.dose_per_day, t.dose_since_earliest, t.dose_since_latest "
            f"FROM therapies t LEFT JOIN ({_CLASSES}) c ON c.patient_id = t.patient_id AND c.seq = t.seq")


def signature_query() -> str:
    """The distinct signatures of the data, with their parts (DuckDB SQL; transpiled for the others)."""
    return (f"SELECT DISTINCT x.sig, x.drug, x.investigational, x.indication, x.route, x.ck "
            f"FROM ({_records_select()}) x")


def _parse_classes(ck: str | None) -> list[str]:
    out: list[str] = []
    i = 0
    s = ck or ""
    while i < len(s):
        colon = s.index(":", i)
        n = int(s[i:colon])
        out.append(s[colon + 1:colon + 1 + n])
        i = colon + 1 + n + 1  # the text, then the ',' separator
    return out


def _node_key(n: Any) -> str:
    """A stable identifier of a predicate (its plan node, without catalog entries): the same node in
    two trials is one set of mapping rows."""
    return hashlib.sha1(repr(n).encode("utf-8")).hexdigest()[:16]


# ---- the mapping rows: the row engine's own answers per signature ------------------------------------

def therapy_rows(nodes: dict[str, Any], catalogs: Any, fetch: Callable[[str], list[tuple]]) -> list[tuple]:
    """The rows of ``eligimatch_therapy_kinds`` for the predicates ``nodes`` (key -> plan node), from the
    distinct signatures ``fetch(signature_query())`` returns (``fetch`` runs DuckDB SQL on the data)."""
    if not nodes:
        return []
    from eligimatch.engine._evaluate import PatientIndex
    from eligimatch.sources._patient import Patient, Therapy

    sigs: list[tuple[str, Any]] = []
    for sig, drug, inv, indication, route, ck in fetch(signature_query()):
        classes = _parse_classes(ck)
        if drug is None and not classes and not inv:
            continue  # not a record a profile can hold (a therapy names something): the row engine never sees it
        sigs.append((sig, Therapy(drug=drug, classes=tuple(classes), investigational=bool(inv),
                                  indication=indication, route=route)))
    if not sigs:
        return []
    out: list[tuple] = []
    for key, n in sorted(nodes.items()):
        kinds = _kinds(n, [t for _, t in sigs], catalogs, Patient, PatientIndex)
        for (sig, _), k in zip(sigs, kinds):
            if k is not None:
                out.append((key, sig, *k))
    return out


_Kind = tuple[str, str, int | None, str | None, float | None]  # kind, attrs, hl_days, drug_id, eq_mg


def _kinds(n: Any, therapies: list[Any], catalogs: Any, patient_cls: Any, index_cls: Any
           ) -> list[_Kind | None]:
    """Per synthetic record: (kind, attrs, hl_days), or None when it is certainly not the selector.  A
    record whose answer would depend on the order of its classes (two of them naming different drugs)
    cannot be told from the tables, which keep classes as a set: an error, never a guess."""
    from eligimatch.engine._history import _matching_therapies, _therapy_where
    from eligimatch.kinds.therapy import _indication_truth

    answers: list[_Kind | None] = []
    for rec in therapies:
        orders = _orders(rec, catalogs)
        seen: set[_Kind | None] = set()
        for classes in orders:
            r = rec.model_copy(update={"classes": classes})
            index = index_cls(patient_cls(therapies=(r,)), catalogs)
            ctx = _Shim(index, catalogs)
            selectors = tuple(s.id for s in n.selectors)
            excepted = tuple(s.id for s in getattr(n, "excepted", ()))
            found = _matching_therapies(ctx, selectors, excepted, getattr(n, "conjunct", False))  # type: ignore[arg-type]
            if not found:
                seen.add(None)
                continue
            kind_t = found[0][1]
            attrs_t = _t_and(kind_t, _therapy_where(getattr(n, "where", ()), r))
            indication = tuple(c.id for c in getattr(n, "indication", ()))
            if indication:
                attrs_t = _t_and(attrs_t, _indication_truth(ctx, r, indication, n.indication_negated))  # type: ignore[arg-type]
            drug_id = index.therapies[0][1]
            seen.add((_LETTER[kind_t], _LETTER[attrs_t], _hl_days(n, drug_id, catalogs), drug_id,
                      _eq_mg(drug_id, catalogs)))
        if len(seen) > 1:
            raise SqlNotExpressibleError(
                f"a therapy record naming the classes {list(rec.classes)!r} (drug {rec.drug!r}) is read "
                f"differently by the row engine depending on the order of its classes, which the canonical "
                f"tables do not keep; evaluate this patient with the row engine")
        answers.append(seen.pop())
    return answers


def _orders(rec: Any, catalogs: Any) -> list[tuple[str, ...]]:
    """The orders of a record's classes that may read differently: the first class naming a drug is the
    record's drug when it names none itself; every other order reads alike."""
    from eligimatch.knowledge._drugs import Drug

    classes = tuple(sorted(rec.classes))
    drugs = catalogs.drugs
    named = [c for c in classes if isinstance(drugs.resolve(c), Drug)]
    if len(set(named)) < 2:
        return [classes]
    return [(first,) + tuple(c for c in classes if c != first) for first in dict.fromkeys(named)]


class _Shim:
    """What the row engine's record tests read from an evaluation context."""

    def __init__(self, index: Any, catalogs: Any):
        self.index = index
        self.catalogs = catalogs


def _t_and(a: Any, b: Any) -> Any:
    from eligimatch.logic import t_and

    return t_and(a, b)


def _letter() -> dict[Any, str]:
    from eligimatch.logic import Truth

    return {Truth.TRUE: "T", Truth.FALSE: "F", Truth.UNKNOWN: "U"}


_LETTER = _letter()


def _hl_days(n: Any, drug_id: str | None, catalogs: Any) -> int | None:
    """The half-life part of the predicate's window for a record of ``drug_id``, in days, as
    :func:`eligimatch.kinds.therapy._window_length_end` counts it (NULL: no half-life part, or the drug
    has no half-life)."""
    window = getattr(getattr(n, "timing", None), "window", None)
    if window is None:
        return None
    amounts = [d.amount for d in window.durations if d.unit == "half-life"]
    if not amounts or drug_id is None:
        return None
    drugs = catalogs.drugs
    d = drugs.get(drug_id) or drugs.resolve(drug_id)
    half_life = getattr(d, "half_life_days", None)
    if half_life is None:
        return None
    days = max(-(-(a * half_life) // 1) for a in amounts)  # whole days, rounded up
    # a washout past year 9999 runs to its last day (shift_clamped): any count beyond every date span
    return int(min(days, _FOREVER)) if not math.isnan(days) else None


_FOREVER = 10_000_000  # days: more than from 0001-01-01 to 9999-12-31


def _eq_mg(drug_id: str | None, catalogs: Any) -> float | None:
    """The drug's mg equivalent to the reference prednisone dose
    (:meth:`eligimatch.knowledge.DrugCatalog.prednisone_equivalent` divides by it); NULL: none."""
    from eligimatch.knowledge._drugs import Drug

    if drug_id is None:
        return None
    drugs = catalogs.drugs
    entry = drugs.get(drug_id) or drugs.resolve(drug_id)
    return entry.prednisone_equivalent_mg if isinstance(entry, Drug) else None


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


# ---- the SQL ----------------------------------------------------------------------------------------

def _le(lo: str, hi: str, b: str) -> str:
    return f"CASE WHEN {hi} <= {b} THEN TRUE WHEN {lo} > {b} THEN FALSE ELSE NULL END"


def _ge(lo: str, hi: str, b: str) -> str:
    return f"CASE WHEN {lo} >= {b} THEN TRUE WHEN {hi} < {b} THEN FALSE ELSE NULL END"


def _records(ctx: Ctx, n: Any) -> str:
    """The CTE of every therapy record with its signature (one per query); the node's key registered
    for the mapping rows."""
    if any(t.name == "dose" for t in _flat(getattr(n, "where", ()))):
        raise not_expressible(n, "a `where` test on the dose of a therapy record is not expressed in SQL yet")
    ctx.needs.therapies[_node_key(n)] = n
    ctx.needs.catalogs = ctx.catalogs
    return ctx.cte("tx", _records_select(), join=False)


def _flat(tests: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for t in tests:
        if isinstance(t, P.AnyTest):
            for o in t.options:
                out.extend(_flat(o))
        else:
            out.append(t)
    return out


def therapy(ctx: Ctx, n: P.Therapy) -> str:
    """``therapy X …`` (:func:`eligimatch.kinds.therapy.eval_therapy`; a washout is its negation)."""
    timing = n.timing
    tx = _records(ctx, n)
    key = _node_key(n)
    as_of = date(ctx.as_of)
    anchor: str | None = None
    course = ""
    violation = "FALSE"
    if isinstance(timing, P.TherapyEver):
        t = _le("r.start_earliest", "r.start_latest", as_of)
        t = f"CASE WHEN r.start_earliest IS NULL THEN TRUE ELSE {t} END"
    elif isinstance(timing, P.TherapyOngoing):
        t = (f"CASE WHEN r.ongoing THEN TRUE WHEN r.end_earliest IS NOT NULL THEN "
             f"({_ge('r.end_earliest', 'r.end_latest', as_of)}) ELSE NULL END")
    elif isinstance(timing, P.TherapyStarted):
        anchor = ctx.anchor(timing.anchor)
        t, violation = _started_truth(ctx, timing, anchor)
        course = f"LEFT JOIN {_courses(ctx)} c ON c.patient_id = r.patient_id AND c.seq = r.seq "
    else:
        window = timing.window  # type: ignore[union-attr]
        anchor = ctx.anchor(window.anchor)
        t = _window_truth(ctx, window, anchor, isinstance(timing, P.WashoutComplete))
    later = f"(r.start_earliest IS NOT NULL AND r.start_earliest > {as_of})"
    truth = _and_attrs(t)
    join = "JOIN anch ON anch.patient_id = r.patient_id " if anchor is not None else ""
    rows = (f"SELECT r.patient_id, {later} AS later, ({truth}) AS tr, ({violation}) AS vi "
            f"FROM (SELECT x.*, m.kind, m.attrs, m.hl_days FROM {tx} x JOIN {_KINDS} m ON m.sig = x.sig "
            f"AND m.node = {text(key)}) r {join}{course}")
    select = (f"SELECT k.patient_id, "
              f"SUM(CASE WHEN k.later THEN 1 ELSE 0 END) AS n_later, "
              f"SUM(CASE WHEN NOT k.later THEN 1 ELSE 0 END) AS n_used, "
              f"SUM(CASE WHEN NOT k.later AND k.tr THEN 1 ELSE 0 END) AS n_true, "
              f"SUM(CASE WHEN NOT k.later AND k.tr IS NULL THEN 1 ELSE 0 END) AS n_unknown, "
              f"SUM(CASE WHEN NOT k.later AND k.vi THEN 1 ELSE 0 END) AS n_vtrue, "
              f"SUM(CASE WHEN NOT k.later AND k.vi IS NULL THEN 1 ELSE 0 END) AS n_vunknown "
              f"FROM ({rows}) k GROUP BY k.patient_id")
    q = ctx.cte("th", select)
    value = (f"CASE WHEN COALESCE({q}.n_true, 0) > 0 THEN TRUE WHEN COALESCE({q}.n_unknown, 0) > 0 THEN NULL "
             f"WHEN COALESCE({q}.n_later, 0) > 0 THEN NULL ELSE {absent(ctx, 'therapies')} END")
    if isinstance(timing, P.TherapyStarted):  # a course still taken at the limit that began after it decides
        value = (f"CASE WHEN COALESCE({q}.n_vtrue, 0) > 0 THEN FALSE WHEN COALESCE({q}.n_vunknown, 0) > 0 "
                 f"THEN NULL ELSE {value} END")
    if anchor is not None:  # the row engine asks for the anchor once it reads a record that counts
        value = f"CASE WHEN {anchor} IS NULL AND COALESCE({q}.n_used, 0) > 0 THEN NULL ELSE {value} END"
    if isinstance(timing, P.WashoutComplete):
        value = f"(NOT ({value}))"
    return value


def _and_attrs(t: str) -> str:
    """Kleene ``t AND attrs`` (the record's kind with its ``where`` and ``for condition`` tests)."""
    return f"CASE WHEN r.attrs = 'F' THEN FALSE WHEN r.attrs = 'T' THEN ({t}) WHEN ({t}) = FALSE THEN FALSE ELSE NULL END"


def _started_truth(ctx: Ctx, timing: P.TherapyStarted, anchor: str) -> tuple[str, str]:
    """``started at least D before A``, per record: (its truth, whether it is a violation) -- a course still
    taken on or after the limit ``A - D`` (``relevant``) must have begun by then (``started_ok``)."""
    limit = ctx.window_start(P.Window((timing.duration,), timing.anchor), anchor)
    last0, last1 = _last(date(ctx.as_of), anchor)
    relevant = f"CASE WHEN {last0} IS NULL THEN NULL ELSE ({_ge(last0, last1, limit)}) END"
    maybe = "COALESCE(c.maybe_from, r.start_earliest)"
    sure = "COALESCE(c.sure_from, r.start_latest)"
    started_ok = f"CASE WHEN r.start_earliest IS NULL THEN NULL ELSE ({_le(maybe, sure, limit)}) END"
    t = f"({relevant}) AND ({started_ok})"
    return t, _and_attrs(f"({relevant}) AND NOT ({started_ok})")


def _courses(ctx: Ctx) -> str:
    """The CTE of when each record's course may have begun (:func:`eligimatch.engine._doses.course_start`):
    records of one drug (``drug_id``) that follow each other without a day's gap are one course.  Walking
    back from a record's start through the records that reach it is taking the least start of its island
    (intervals [start, last dose] that overlap or touch), once with the latest days (surely) and once with
    the earliest (maybe); a record of a drug the catalog does not know, or of only a class, is its own course."""
    as_of = date(ctx.as_of)
    last0, last1 = _last(as_of, None, "t")
    base = (f"SELECT t.patient_id, t.seq, t.drug_id, t.start_latest AS a1, {last0} AS b1, "
            f"t.start_earliest AS a2, {last1} AS b2 FROM therapies t WHERE t.drug_id IS NOT NULL "
            f"AND t.start_earliest IS NOT NULL AND t.start_earliest <= {as_of}")
    part = "PARTITION BY patient_id, drug_id"
    prev = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    reach = (f"SELECT *, MAX(b1) OVER ({part} ORDER BY a1, seq {prev}) AS m1, "
             f"MAX(b2) OVER ({part} ORDER BY a2, seq {prev}) AS m2 FROM ({base}) s0")
    islands = (f"SELECT *, SUM(CASE WHEN m1 IS NULL OR DATE_DIFF('day', m1, a1) > 1 THEN 1 ELSE 0 END) "
               f"OVER ({part} ORDER BY a1, seq ROWS UNBOUNDED PRECEDING) AS i1, "
               f"SUM(CASE WHEN m2 IS NULL OR DATE_DIFF('day', m2, a2) > 1 THEN 1 ELSE 0 END) "
               f"OVER ({part} ORDER BY a2, seq ROWS UNBOUNDED PRECEDING) AS i2 FROM ({reach}) s1")
    select = (f"SELECT patient_id, seq, MIN(a1) OVER (PARTITION BY patient_id, drug_id, i1) AS sure_from, "
              f"MIN(a2) OVER (PARTITION BY patient_id, drug_id, i2) AS maybe_from FROM ({islands}) s2")
    return ctx.cte("tc", select, join=False)


_KINDS = KINDS_TABLE


def _last(as_of: str, horizon: str | None, r: str = "r") -> tuple[str, str]:
    """The earliest and latest day of a record's last dose (:func:`eligimatch.engine._history._last_dose_range`
    with ``horizon``, the anchor asked about: an ongoing therapy may be taken up to it); NULL when the record
    has neither a start, an end nor ``ongoing``."""
    later = f"GREATEST({as_of}, {horizon})" if horizon is not None else as_of
    last0 = (f"(CASE WHEN {r}.ongoing THEN {as_of} WHEN {r}.end_earliest IS NOT NULL THEN {r}.end_earliest "
             f"WHEN {r}.start_earliest IS NOT NULL THEN {r}.start_earliest END)")
    last1 = (f"(CASE WHEN {r}.ongoing THEN {later} WHEN {r}.end_earliest IS NOT NULL THEN "
             f"(CASE WHEN {r}.end_earliest <= {as_of} THEN LEAST({r}.end_latest, {as_of}) ELSE {r}.end_latest END) "
             f"WHEN {r}.start_earliest IS NOT NULL THEN GREATEST({later}, {r}.start_earliest) END)")
    return last0, last1


def _window_truth(ctx: Ctx, window: P.Window, anchor: str, washout: bool) -> str:
    """One record inside ``within W before A`` (``washout``: still inside the washout at ``A``), over the
    record's columns (``r.``), the anchor and the record's ``hl_days``."""
    last0, last1 = _last(date(ctx.as_of), anchor)
    fixed = [d for d in window.durations if d.unit != "half-life"]
    has_hl = len(fixed) < len(window.durations)
    cmp = ">" if washout else ">="

    def fixed_inside(x: str) -> list[str]:
        out = []
        for d in fixed:
            start = ctx.window_start(P.Window((d,), window.anchor), anchor)
            out.append(f"{x} {cmp} {start}")
        return out

    def inside(x: str) -> str:
        parts = fixed_inside(x)
        if has_hl:
            parts.append(f"DATE_DIFF('day', {x}, {anchor}) {'<' if washout else '<='} r.hl_days")
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    began = (f"CASE WHEN r.start_earliest IS NOT NULL THEN ({_le('r.start_earliest', 'r.start_latest', anchor)}) "
             f"WHEN {last1} <= {anchor} THEN TRUE ELSE NULL END")
    decided = f"CASE WHEN {inside(last0)} THEN TRUE WHEN NOT {inside(last1)} THEN FALSE ELSE NULL END"
    t = f"({began}) AND ({decided})"
    if has_hl:  # the drug's half-life unknown: decided only when the fixed part alone covers the anchor
        f0 = fixed_inside(last0)
        cover = "(" + " OR ".join(f0) + ")" if f0 else "FALSE"
        t = f"CASE WHEN r.hl_days IS NULL THEN (CASE WHEN {cover} THEN ({began}) ELSE NULL END) ELSE ({t}) END"
    return f"CASE WHEN {last0} IS NULL THEN NULL ELSE ({t}) END"


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
    counts = (f"SELECT r.patient_id, SUM(CASE WHEN {later} THEN 1 ELSE 0 END) AS n_later, "
              f"SUM(CASE WHEN NOT {later} THEN 1 ELSE 0 END) AS n_used "
              f"FROM {tx} r JOIN {_KINDS} m ON m.sig = r.sig AND m.node = {text(key)} GROUP BY r.patient_id")
    cnt = ctx.cte("dn", counts)
    pc = ctx.cte("dc", f"SELECT patient_id, COUNT(*) AS n_parts FROM {parts} GROUP BY patient_id")
    unbounded = f"(COALESCE({cnt}.n_later, 0) > 0 OR NOT ({_complete(ctx)}))"
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


def _complete(ctx: Ctx) -> str:
    return "TRUE" if ctx.assume_absent else "p.complete_therapies"


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


def stable_dose(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY_STABLE)

