"""Therapies in SQL: ``therapy X …`` as :func:`eligimatch.kinds.therapy.eval_therapy` decides it.

Expressed: ``therapy X`` (ever), ``therapy X within W`` (days, weeks, calendar months and years, and
``max(…, N half-lives)`` with each record's drug's half-life), ``ongoing therapy X``, ``washout from X of
at least W`` and ``therapy X started at least D before A`` (courses: records of one drug that follow each
other without a day's gap), with ``except``, ``(a and b)`` (one record is both), ``for`` / ``not for
condition Y`` and ``where`` tests on the record's route, drug, indication and investigational flag;
``daily dose`` / ``total dose of X [as prednisone] … [within W]`` (:func:`dose`) and ``stable dose of X for D
before A`` (:func:`stable_dose`).  Not expressed (raises :class:`~eligimatch.errors.SqlNotExpressibleError`:
strict compilation refuses the trial, ``strict=False`` reports the criterion as not expressible and the row
engine answers it): ``where`` tests on the ``dose`` attribute, and doses as an equivalent other than
prednisone.

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
from collections.abc import Callable
from typing import Any

from eligimatch.errors import SqlNotExpressibleError
from eligimatch.plan import _nodes as P
from eligimatch.sql._context import Ctx, not_expressible
from eligimatch.sql._history import absent
from eligimatch.sql._records import closed
from eligimatch.sql._sqltext import date, text

__all__ = ["KINDS_COLUMNS", "KINDS_TABLE", "signature_query", "therapy", "therapy_rows"]

#: The mapping table of record kinds (see the module's documentation).
KINDS_TABLE = "eligimatch_therapy_kinds"
KINDS_COLUMNS = (("node", "VARCHAR"), ("sig", "VARCHAR"), ("kind", "VARCHAR"), ("attrs", "VARCHAR"),
                 ("hl_days", "INTEGER"), ("drug_id", "VARCHAR"), ("eq_mg", "DOUBLE"))

# ---- the record signature ------------------------------------------------------------------------------

def _enc(col: str) -> str:
    """A nullable text column as an unambiguous piece of a signature: ``-`` for NULL, else
    ``<length>:<text>``."""
    return f"(CASE WHEN {col} IS NULL THEN '-' ELSE CAST(LENGTH({col}) AS VARCHAR) || ':' || {col} END)"


#: The classes a record names, as one text (sorted; each length-prefixed), per (patient_id, seq).
#: ``lab``: the classes in the record's own order, as the row engine names a record without a drug
#: (its key of a drug's doses in a stable dose).
_CLASSES = ("SELECT patient_id, seq, STRING_AGG(CAST(LENGTH(class) AS VARCHAR) || ':' || class, ',' "
            "ORDER BY class) AS ck, STRING_AGG(class, ', ' ORDER BY class_order) AS lab "
            "FROM therapy_classes GROUP BY patient_id, seq")


def _records_select() -> str:
    """Every therapy record with its signature and the columns the parts of the signature come from."""
    sig = (f"{_enc('t.drug')} || {_enc('t.indication')} || {_enc('t.route')} || "
           f"(CASE WHEN t.investigational THEN 'i' ELSE 'n' END) || COALESCE(c.ck, '')")
    return (f"SELECT t.patient_id, t.seq, {sig} AS sig, t.drug, t.investigational, t.indication, t.route, "
            f"c.ck, c.lab, t.start_earliest, t.start_latest, t.end_earliest, t.end_latest, t.ongoing, t.dose_value, "
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
              f"COUNT(CASE WHEN k.later THEN 1 END) AS n_later, "
              f"COUNT(CASE WHEN NOT k.later THEN 1 END) AS n_used, "
              f"COUNT(CASE WHEN NOT k.later AND k.tr THEN 1 END) AS n_true, "
              f"COUNT(CASE WHEN NOT k.later AND k.tr IS NULL THEN 1 END) AS n_unknown, "
              f"COUNT(CASE WHEN NOT k.later AND k.vi THEN 1 END) AS n_vtrue, "
              f"COUNT(CASE WHEN NOT k.later AND k.vi IS NULL THEN 1 END) AS n_vunknown "
              f"FROM ({rows}) k GROUP BY k.patient_id")
    q = ctx.cte("th", select)
    value = (f"CASE WHEN COALESCE({q}.n_true, 0) > 0 THEN TRUE WHEN COALESCE({q}.n_unknown, 0) > 0 THEN NULL "
             f"WHEN COALESCE({q}.n_later, 0) > 0 THEN NULL ELSE {absent(ctx, 'therapies')} END")
    if isinstance(timing, P.TherapyStarted):  # a course still taken at the limit that began after it decides
        # ... on a closed history only: else an earlier record of that course, or a course begun too late,
        # may be missing (kinds.therapy.eval_therapy)
        whole = closed(ctx, "therapies")
        value = (f"CASE WHEN COALESCE({q}.n_vtrue, 0) > 0 THEN (CASE WHEN {whole} THEN FALSE ELSE NULL END) "
                 f"WHEN COALESCE({q}.n_vunknown, 0) > 0 THEN NULL "
                 f"WHEN ({value}) THEN (CASE WHEN {whole} THEN TRUE ELSE NULL END) ELSE {value} END")
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
