"""Bind a checked AST to the catalogs: the one place where names are looked up.

:func:`bind` runs on a tree that :func:`eligimatch.plan._check.check` passed, and returns a
:class:`~eligimatch.plan.Plan`: every name resolved to its catalog entry, every threshold a float with
the unit it is compared in and its value in the catalog's unit, every ``where`` value read through its
attribute vocabulary, and every variant a node type of its own.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Any

from eligimatch.errors import PlanError
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.knowledge._drugs import TARGET_PREFIX, Drug
from eligimatch.knowledge._units import conversion_factor
from eligimatch.language import ast as A
from eligimatch.plan import _nodes as P
from eligimatch.plan._check import MeasureInfo, resolve_measure

__all__ = ["bind", "bind_trial"]

BindError = PlanError  # a tree that did not pass the checker reached the binder (a bug)


_TIME_WORDS = ("day", "week", "month", "year", "hour")


def unit_text(unit: str | None) -> str:
    """A unit as a reader expects it after a number: '70 years', not '70 year'."""
    if unit is None:
        return ""
    return unit + "s" if unit in _TIME_WORDS else unit


def fmt_num(x: float) -> str:
    """A number as reports show it (as :func:`eligimatch.engine._evaluate.fmt_num`)."""
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


#: reference records of concepts and drugs (their expansions take a walk over the catalog), per catalog
#: object: id(catalog) -> (the catalog, {entry id: reference record}); a few catalogs at most are in use,
#: the oldest is dropped past ``_EXPANDED_LIMIT``
_EXPANDED: dict[int, tuple[Any, dict[str, Any]]] = {}
_EXPANDED_LIMIT = 16


def _expanded(catalog: Any) -> dict[str, Any]:
    key = id(catalog)
    hit = _EXPANDED.get(key)
    if hit is not None and hit[0] is catalog:
        return hit[1]
    if len(_EXPANDED) >= _EXPANDED_LIMIT:
        _EXPANDED.pop(next(iter(_EXPANDED)))
    refs: dict[str, Any] = {}
    _EXPANDED[key] = (catalog, refs)
    return refs


class _Binder:
    def __init__(self, trial: A.TrialAst, cats: Catalogs):
        self.trial = trial
        self.cats = cats
        self._refs: dict[tuple[str, str], Any] = {}  # one reference record per entry in a plan

    # ---- references -------------------------------------------------------------------------------
    def analyte(self, a: Any) -> P.AnalyteRef:
        key = ("analyte", a.id)
        hit = self._refs.get(key)
        if hit is None:
            hit = self._refs[key] = P.AnalyteRef(a.id, a.name, a.unit, tuple(a.loinc), a.molar_mass, a.unit_free,
                                                 entry=a)
        return hit

    def fact(self, f: Any) -> P.FactRef:
        key = ("fact", f.id)
        hit = self._refs.get(key)
        if hit is None:
            hit = self._refs[key] = P.FactRef(f.id, f.name, f.type, f.unit, tuple(f.values), bool(f.ordered),
                                              entry=f)
        return hit

    def concepts(self, refs: tuple[A.Ref, ...], domain: str) -> tuple[P.ConceptRef, ...]:
        cat = self.cats.conditions if domain == "condition" else self.cats.procedures
        return tuple(self.concept(self._resolved(cat.resolve(r.name), r), domain) for r in refs)

    def concept(self, c: Any, domain: str) -> P.ConceptRef:
        cat = self.cats.conditions if domain == "condition" else self.cats.procedures
        refs = _expanded(cat)
        hit = refs.get(c.id)
        if hit is None or hit.entry is not c:
            covers = cat.descendants(c.id)
            codes = sorted({code for cid in covers for code in cat[cid].codes})
            may_be = sorted(o.id for o in cat if o.id not in covers and cat.overlaps(o.id, c.id))
            hit = refs[c.id] = P.ConceptRef(c.id, c.name, domain, tuple(sorted(covers)),  # type: ignore[arg-type]
                                                 tuple(codes), tuple(may_be), entry=c)
        return hit

    def drugs(self, refs: tuple[A.Ref, ...]) -> tuple[P.DrugRef, ...]:
        return tuple(self.drug(self._resolved(self.cats.drugs.resolve(r.name), r)) for r in refs)

    def drug(self, d: Any) -> P.DrugRef:
        cat = self.cats.drugs
        refs = _expanded(cat)
        hit = refs.get(d.id)
        if hit is None or hit.entry is not d:
            members: tuple[Drug, ...]
            classes: tuple[str, ...]
            if isinstance(d, Drug):
                kind, members, classes = "drug", (d,), ()
            else:
                kind = "target" if d.id.startswith(TARGET_PREFIX) else "class"
                members = tuple(x for x in cat.drugs if cat.is_a(x.id, d.id))
                classes = tuple(sorted(c.id for c in cat.classes if d.id in cat.class_ancestors(c.id)))
            rxnorm = tuple(sorted({code for x in members for code in x.rxnorm}))
            # drugs that are it only for some indications (catalog `conditional_classes`)
            conditional = () if isinstance(d, Drug) else tuple(
                (x.id, tuple(sorted(conds))) for x in sorted(cat.drugs, key=lambda x: x.id)
                if (conds := cat.conditions_for(x.id, d.id)))
            hit = refs[d.id] = P.DrugRef(
                d.id, d.name, kind, tuple(sorted(x.id for x in members)), classes, rxnorm,  # type: ignore[arg-type]
                getattr(d, "half_life_days", None), getattr(d, "prednisone_equivalent_mg", None),
                conditional, entry=d)
        return hit

    @staticmethod
    def _resolved(entry: Any, ref: A.Ref | A.Measure | A.BoolFact) -> Any:
        if entry is None:
            raise BindError(f"unresolved name {ref.name!r} reached the binder (the checker lets none through)")
        return entry

    # ---- time ---------------------------------------------------------------------------------------------
    def window(self, w: A.Window | None) -> P.Window | None:
        if w is None:
            return None
        return P.Window(tuple(self.duration(d) for d in w.durations), w.anchor)

    def window_of(self, w: A.Window | None) -> P.Window:
        out = self.window(w)
        if out is None:
            raise BindError("a window is required here (the grammar always gives one)")
        return out

    @staticmethod
    def duration(d: A.Duration | None) -> P.Duration:
        if d is None:
            raise BindError("a duration is required here (the grammar always gives one)")
        amount: float = float(d.amount) if d.unit == "half-life" else int(d.amount)
        return P.Duration(amount, d.unit)  # type: ignore[arg-type]

    # ---- where ---------------------------------------------------------------------------------------------
    def where(self, tests: tuple[Any, ...]) -> tuple[P.WhereTest, ...]:
        return tuple(self.test(t) for t in tests)

    def test(self, t: A.AttrTest | A.AttrAny) -> P.WhereTest:
        if isinstance(t, A.AttrAny):
            return P.AnyTest(tuple(self.where(o) for o in t.options))
        if t.op in ("true", "false"):
            return P.YesNoTest(t.name, t.op == "true")
        vocab = self.cats.attributes.get(t.name)
        if vocab is not None:
            if t.op not in ("=", "!=", "in", "not in"):
                raise BindError(f"{t.name} takes = , != or in (...) (checked)")
            values = []
            for v in t.values:
                word = str(v.number) if isinstance(v, A.Quantity) else attr_raw(v)
                norm = vocab.normalize(word)
                if norm is None:
                    raise BindError(f"{t.name} has no value {word!r} (checked)")
                values.append(norm)
            return P.CodedTest(t.name, tuple(values), t.op in ("!=", "not in"), vocabulary=vocab)
        return P.ValueTest(t.name, t.op, tuple(attr_value(v) for v in t.values))  # type: ignore[arg-type]

    # ---- expressions ---------------------------------------------------------------------------------------
    def expr(self, n: Any) -> P.Expr:
        """The plan node of an expression: bound by the kind that claims its AST type (PlanError for none)."""
        from eligimatch.kinds import for_syntax

        bind = for_syntax(n).bind
        assert bind is not None  # register() refuses a kind with syntax and no binder
        return bind(self, n)

    def info(self, m: A.Measure) -> MeasureInfo:
        info = resolve_measure(m, self.cats)
        if not isinstance(info, MeasureInfo):
            raise BindError(f"{info[0]} (checked)")
        return info

    def numeric(self, info: MeasureInfo, unit: str | None, exact: bool) -> tuple[P.NumericMeasure, str | None]:
        """The measure, and the unit the comparison is made in."""
        if info.kind == "age":
            return P.AgeMeasure(unit or "year", exact), unit or "year"  # type: ignore[arg-type]
        if info.kind == "fact":
            return P.FactMeasure(self.fact(info.fact)), unit or info.fact.unit
        if info.kind == "ratio":
            return P.RatioMeasure(self.analyte(info.analyte), self.analyte(info.denominator)), None
        analyte = self.analyte(info.analyte)
        if info.kind == "computed":
            inputs = tuple(self.analyte(self.cats.analytes.resolve(x)) for x in (
                ("creatinine", "weight") if info.method == "cockcroft_gault" else ("creatinine",)))
            return P.FormulaMeasure(analyte, info.method, inputs), unit or analyte.unit  # type: ignore[arg-type]
        return P.AnalyteMeasure(analyte), unit or analyte.unit

    @staticmethod
    def canonical(measure: P.NumericMeasure, value: float, unit: str | None) -> tuple[float, str | None]:
        """``value`` (in ``unit``) in the measure's catalog unit."""
        if isinstance(measure, P.AgeMeasure):
            return value, measure.unit
        if isinstance(measure, P.RatioMeasure):
            return value, None
        if isinstance(measure, P.FactMeasure):
            fu = measure.fact.unit
            return (value * conversion_factor(unit, fu) if unit and fu and unit != fu else value), fu
        a = measure.analyte
        if unit is None or unit == a.unit:
            return value, a.unit
        return value * conversion_factor(unit, a.unit, molar_mass=a.molar_mass), a.unit

    def symbol_measure(self, info: MeasureInfo) -> P.SymbolMeasure:
        return P.SexMeasure() if info.kind == "sex" else P.FactMeasure(self.fact(info.fact))

    # ---- the file -------------------------------------------------------------------------------------------
    def criterion(self, c: A.Criterion, cohort: str | None) -> P.Criterion:
        from eligimatch.language._render import render_expr

        return P.Criterion(c.id, c.kind, c.text, self.expr(c.expr), render_expr(c.expr),  # type: ignore[arg-type]
                           c.span.line, cohort, c.drafted)

    def plan(self, reference_ranges: Any = None) -> P.Plan:
        t = self.trial
        ranges = tuple(P.ReferenceRange(k, *v) for k, v in sorted(dict(reference_ranges or {}).items()))
        diseases = tuple(self.concept(self._resolved(self.cats.conditions.resolve(d), A.Ref(d)), "condition")
                         for d in t.diseases)
        return P.Plan(
            trial_id=t.id, title=t.title, anchors=t.anchors,
            criteria=tuple(self.criterion(c, None) for c in t.criteria),
            cohorts=tuple(P.Cohort(co.id, co.title, tuple(self.criterion(c, co.id) for c in co.criteria))
                          for co in t.cohorts),
            lab_recency=self.window(t.lab_recency), fact_recency=self.window(t.fact_recency),
            diseases=diseases, defining=t.defining, reference_ranges=ranges)


def bind(trial: A.TrialAst, catalogs: Catalogs | None = None, options: Any = None) -> P.Plan:
    """The plan of a checked trial (:func:`eligimatch.plan._check.check` passed): every name resolved against
    ``catalogs`` (default: the bundled ones); ``options`` a :class:`~eligimatch.TrialOptions` (its default
    reference ranges become :attr:`Plan.reference_ranges`)."""
    binder = _Binder(trial, catalogs or Catalogs.default())
    return binder.plan(getattr(options, "reference_ranges", None))


def bind_trial(source: str | Path, catalogs: Catalogs | None = None, options: Any = None) -> P.Plan:
    """The plan of a criteria text, or of a file when ``source`` is a :class:`~pathlib.Path` (or a string naming
    an existing ``.elig`` file): parsed, checked and bound.  Raises :class:`~eligimatch.errors.CriteriaError`
    as :func:`eligimatch.compile_trial` does.

        >>> plan = bind_trial('''
        ... trial "DEMO"
        ... inclusion:
        ...   - I1 "ANC": anc >= 1.5 x10^9/L
        ... ''')
        >>> plan.criteria[0].expr.measure.analyte.id, plan.criteria[0].expr.value
        ('anc', 1.5)
    """
    from eligimatch.engine._compile import compile_trial, load_trial

    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith(".elig")):
        trial = load_trial(source, catalogs=catalogs, options=options)
    else:
        trial = compile_trial(source, catalogs=catalogs, options=options)
    return trial.plan


# ---- values -------------------------------------------------------------------------------------------------------

def symbol_word(v: A.Value) -> str:
    """A value compared with sex or an enum fact, as written (a bare number that is a declared value, checked)."""
    if isinstance(v, A.Quantity):
        return str(v.number)
    if isinstance(v, A.Symbol):
        return v.name
    if isinstance(v, A.Text):
        return v.value
    raise BindError("a word is required here (checked)")


def ranked(order: tuple[str, ...], threshold: str, op: str) -> tuple[str, ...]:
    """The values of an ordered enum (listed lowest first) that satisfy ``value <op> threshold``:
    ``her2_ihc >= 2+`` is ``her2_ihc in (2+, 3+)``."""
    rank = {v.casefold(): i for i, v in enumerate(order)}
    t = rank[threshold.casefold()]
    keep: Callable[[int], bool] = {"<": lambda i: i < t, "<=": lambda i: i <= t, ">": lambda i: i > t,
                                   ">=": lambda i: i >= t}[{"≤": "<=", "≥": ">="}.get(op, op)]
    return tuple(v for i, v in enumerate(order) if keep(i))


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}


def attr_raw(v: A.Value) -> float | str:
    """A ``where`` value as written: a number, or a word."""
    if isinstance(v, A.Quantity):
        return float(v.number)
    if isinstance(v, A.Symbol):
        return v.name
    if isinstance(v, A.Text):
        return v.value
    raise BindError("a where test compares numbers and words (checked)")


def attr_number(x: Any) -> float | None:
    """A recorded or written attribute value as a number (``2``, ``"2"``, ``"II"``), or None."""
    if isinstance(x, str) and x.strip().lower() in _ROMAN:
        x = _ROMAN[x.strip().lower()]
    if isinstance(x, bool):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def attr_norm(x: Any) -> str:
    """A word as attribute tests compare it: ignoring case, spaces and hyphens."""
    return str(x).strip().lower().replace("-", "_").replace(" ", "_")


def attr_value(v: A.Value) -> P.AttrValue:
    raw = attr_raw(v)
    return P.AttrValue(raw, attr_number(raw), attr_norm(raw))
