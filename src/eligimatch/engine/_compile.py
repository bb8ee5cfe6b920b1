"""Compile a checked AST into closures: the predicate tree that :func:`eligimatch.match` runs.

Everything that can be decided once is decided here: catalog look-ups, the unit
each comparison is made in, thresholds as floats, window lengths.  What is left
for evaluation time is reading the patient's values and converting them with
factors cached per recorded unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from eligimatch.language import ast as A
from eligimatch.knowledge._ages import is_whole
from eligimatch.knowledge import _formulas as formulas
from eligimatch.engine import _evaluate as E
from eligimatch.engine import _doses as D
from eligimatch.engine import _history as H
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.plan._check import MeasureInfo, check, resolve_measure
from eligimatch.logic import FLAG_VALUES, CauseFlag, Truth, t_and, t_and2, t_at_least, t_if, t_not, t_or, t_or2
from eligimatch._limits import DEFAULT_LIMITS, Limits
from eligimatch.language._render import render_expr
from eligimatch.engine._trial import CompiledCriterion, CompiledTrial, TrialOptions
from eligimatch.knowledge._units import conversion_factor

__all__ = ["compile_trial", "load_trial"]

Fn = Callable[[E.Context], tuple]
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN


def _combine(results: list[tuple], truth: Truth) -> tuple:
    """Causes and missing facts of the UNKNOWN operands, evidence of all, for a combined ``truth``.

    When ``truth`` is decided, the UNKNOWN operands did not decide it: their evidence (a pending
    ``judgment``, an uncertain record) is left out, so that a met criterion does not read
    "needs the investigator's judgment".
    """
    evidence: list = []
    for r in results:
        if truth != U and r[0] == U:
            continue
        evidence.extend(r[3])
    if truth != U:
        return (truth, CauseFlag.NONE, (), tuple(evidence))
    flag = 0
    miss: list = []
    for r in results:
        if r[0] == U:
            flag = _int_or(flag, r[1])  # as CauseFlag's |, without its Python-level method
            miss.extend(r[2])
    return (truth, _FLAGS[flag], tuple(miss), tuple(evidence))


_int_or = int.__or__
_FLAGS = tuple(CauseFlag(i) for i in FLAG_VALUES)  # CauseFlag by value


_LOGIC = (A.And, A.Or, A.Not, A.AtLeast, A.IfThenElse, A.Const, A.Judgment, A.BoolFact)


def _anchored(fn: Fn) -> Fn:
    """A predicate counted from an anchor with no date is UNKNOWN (naming the anchor), not an error."""
    def f(ctx: E.Context) -> tuple:
        try:
            return fn(ctx)
        except E.MissingAnchor as exc:
            return E.anchor_unknown(exc.name)
    return f


class _Compiler:
    def __init__(self, trial: A.TrialAst, cats: Catalogs, options: TrialOptions):
        self.trial = trial
        self.cats = cats
        self.options = options

    def expr(self, n: Any) -> Fn:
        method = getattr(self, "c_" + type(n).__name__)
        fn = method(n)
        if (isinstance(n, _LOGIC) and not isinstance(n, A.BoolFact)) or not self._uses_anchor(n):
            return fn
        return _anchored(fn)

    def _uses_anchor(self, n: Any) -> bool:
        if any(getattr(n, k, None) is not None for k in ("window", "recency", "anchor")):
            return True
        if isinstance(n, (A.BoolFact, A.Compare, A.Between, A.InSet)) and self.trial.fact_recency is not None:
            return True
        return isinstance(n, (A.Compare, A.Between)) and self.trial.lab_recency is not None

    # ---- logic -------------------------------------------------------------------------------
    def c_And(self, n: A.And) -> Fn:
        fns = tuple(self.expr(i) for i in n.items)

        if len(fns) == 2:  # the common case, without the loops
            g1, g2 = fns

            def f2(ctx: E.Context) -> tuple:
                r1, r2 = g1(ctx), g2(ctx)
                return _combine((r1, r2), t_and2(r1[0], r2[0]))
            return f2

        def f(ctx: E.Context) -> tuple:
            rs = [g(ctx) for g in fns]
            return _combine(rs, t_and(*[r[0] for r in rs]))
        return f

    def c_Or(self, n: A.Or) -> Fn:
        fns = tuple(self.expr(i) for i in n.items)

        if len(fns) == 2:  # the common case, without the loops
            g1, g2 = fns

            def f2(ctx: E.Context) -> tuple:
                r1, r2 = g1(ctx), g2(ctx)
                return _combine((r1, r2), t_or2(r1[0], r2[0]))
            return f2

        def f(ctx: E.Context) -> tuple:
            rs = [g(ctx) for g in fns]
            return _combine(rs, t_or(*[r[0] for r in rs]))
        return f

    def c_Not(self, n: A.Not) -> Fn:
        g = self.expr(n.item)

        def f(ctx: E.Context) -> tuple:
            t, flag, miss, evidence = g(ctx)
            return (t_not(t), flag, miss, evidence)
        return f

    def c_AtLeast(self, n: A.AtLeast) -> Fn:
        fns = tuple(self.expr(i) for i in n.items)
        need = n.n

        def f(ctx: E.Context) -> tuple:
            rs = [g(ctx) for g in fns]
            return _combine(rs, t_at_least(need, [r[0] for r in rs]))
        return f

    def c_IfThenElse(self, n: A.IfThenElse) -> Fn:
        c, a, b = self.expr(n.cond), self.expr(n.then), self.expr(n.otherwise)

        def f(ctx: E.Context) -> tuple:
            rc = c(ctx)
            if rc[0] == T:
                r = a(ctx)
                return (r[0], r[1], r[2], rc[3] + r[3])
            if rc[0] == F:
                r = b(ctx)
                return (r[0], r[1], r[2], rc[3] + r[3])
            ra, rb = a(ctx), b(ctx)
            truth = t_if(U, ra[0], rb[0])
            if truth != U:
                return (truth, CauseFlag.NONE, (), rc[3] + ra[3] + rb[3])
            return _combine([rc, ra, rb], U)
        return f

    def c_Const(self, n: A.Const) -> Fn:
        r = (T if n.value else F, CauseFlag.NONE, (), ())
        return lambda ctx: r

    def c_Judgment(self, n: A.Judgment) -> Fn:
        r = (U, CauseFlag.REVIEW, (), (E.ev("judgment", "review", "needs the investigator's judgment"),))
        return lambda ctx: r

    def c_BoolFact(self, n: A.BoolFact) -> Fn:
        fact = self.cats.facts.resolve(n.name)
        name, label = fact.id, fact.name
        recency = n.recency
        return lambda ctx: E.eval_bool_fact(ctx, name, label, recency)

    # ---- comparisons -----------------------------------------------------------------------------
    def _info(self, m: A.Measure) -> MeasureInfo:
        info = resolve_measure(m, self.cats)
        assert isinstance(info, MeasureInfo), "compile runs only on checked trees"
        return info

    def _reader(self, info: MeasureInfo, unit: str | None, recency: A.Window | None,
                exact_age: bool = False) -> E.ReadFn:
        if info.kind == "age":
            # a whole threshold counts completed units; a fractional one (17.5 years) the exact age
            return E.read_age(unit or "year", exact_age)
        if info.kind == "fact":
            fact = info.fact
            return E.read_number_fact(fact.id, fact.name, fact.unit, unit or fact.unit, conversion_factor, recency)
        if info.kind == "ratio":
            return E.read_ratio(info.analyte, info.denominator, recency)
        target = unit or info.analyte.unit
        if info.kind == "computed":
            return E.read_computed(info.method, info.analyte, target, recency, formulas, self.cats.analytes)
        return E.read_observation(info.analyte, info.analyte.name, target, recency)

    def _symbol_reader(self, info: MeasureInfo, recency: A.Window | None = None) -> Callable:
        if info.kind == "sex":
            return E.read_sex
        return E.read_enum_fact(info.fact.id, info.fact.name, recency, info.fact)

    def c_Compare(self, n: A.Compare) -> Fn:
        info = self._info(n.measure)
        fact_id, label = info.id, info.label
        if info.kind == "sex" or (info.kind == "fact" and info.fact.type == "enum"):
            reader = self._symbol_reader(info, n.recency)
            values = (_word(n.value),)
            negated = n.op == "!="
            if n.op not in ("=", "!="):  # an ordered enum (checked): the values on the right side of the threshold
                values = _ranked(info.fact.values, _word(n.value), n.op)
            return lambda ctx: E.eval_in_set(ctx, reader, fact_id, label, values, negated)
        v = n.value
        if isinstance(v, A.RefMultiple):
            analyte, op, factor, limit = info.analyte, n.op, float(v.factor), v.limit
            ftext = E.fmt_num(float(v.factor))
            default = self.options.reference_ranges.get(analyte.id)
            recency = n.recency
            units = E.UnitFactors(analyte)
            return lambda ctx: E.eval_reference_multiple(ctx, analyte, analyte.name, op, factor, limit, recency,
                                                         ftext, default, units)
        threshold = float(v.number)
        reader = self._reader(info, v.unit, n.recency, exact_age=not is_whole(threshold))
        text = f"{E.fmt_num(threshold)} {_unit_text(v.unit)}".strip()
        op = n.op
        return lambda ctx: E.eval_threshold(ctx, reader, fact_id, label, op, threshold, text)

    def c_Between(self, n: A.Between) -> Fn:
        info = self._info(n.measure)
        low, high = n.low, n.high
        unit = high.unit or low.unit
        lo = float(low.number)
        hi = float(high.number)
        if info.kind == "age" and is_whole(lo) != is_whole(hi):
            return self._age_between_mixed(n, info, unit, lo, hi)
        reader = self._reader(info, unit, n.recency, exact_age=not (is_whole(lo) and is_whole(hi)))
        if info.kind not in ("age",) and low.unit and high.unit and low.unit != high.unit:
            lo = lo * conversion_factor(low.unit, high.unit, molar_mass=getattr(info.analyte, "molar_mass", None))
        low_text = E.fmt_num(float(low.number)) + ("" if low.unit == unit else f" {_unit_text(low.unit)}")
        text = (f"{low_text.strip()} and {E.fmt_num(hi)} {_unit_text(unit)}".strip()
                + (" inclusive" if n.inclusive else " exclusive"))
        inclusive = n.inclusive
        return lambda ctx: E.eval_between(ctx, reader, info.id, info.label, lo, hi, inclusive, text)

    def c_ResultQuant(self, n: A.ResultQuant) -> Fn:
        from eligimatch.engine._results import eval_each_result

        analyte = self._info(n.measure).analyte
        v = n.value
        units = E.UnitFactors(analyte)
        default = self.options.reference_ranges.get(analyte.id)
        if isinstance(v, A.RefMultiple):
            threshold, target, text = 0.0, analyte.unit, E.fmt_num(float(v.factor))
        else:
            threshold, target = float(v.number), v.unit or analyte.unit
            text = f"{E.fmt_num(threshold)} {_unit_text(v.unit)}".strip()
        return lambda ctx: eval_each_result(ctx, n, analyte, threshold, target, text, default, units)

    def c_ParticipationPred(self, n: A.ParticipationPred) -> Fn:
        durations = self._durations(n.window)
        trial_id = self.trial.id
        return lambda ctx: H.eval_participation(ctx, n, durations, trial_id)

    def _age_between_mixed(self, n: A.Between, info: MeasureInfo, unit: str, lo: float, hi: float) -> Fn:
        """``age between 17.5 and 70 years``: each bound read as it would be alone (the exact age against
        17.5, completed years against 70), both required."""
        ops = (">=", "<=") if n.inclusive else (">", "<")
        parts = []
        for op, bound in zip(ops, (lo, hi)):
            reader = self._reader(info, unit, None, exact_age=not is_whole(bound))
            text = f"{E.fmt_num(bound)} {_unit_text(unit)}".strip()
            parts.append((reader, op, bound, text))
        (r1, op1, b1, t1), (r2, op2, b2, t2) = parts
        fact_id, label = info.id, info.label

        def f(ctx: E.Context) -> tuple:
            a = E.eval_threshold(ctx, r1, fact_id, label, op1, b1, t1)
            b = E.eval_threshold(ctx, r2, fact_id, label, op2, b2, t2)
            return _combine((a, b), t_and2(a[0], b[0]))
        return f

    def c_InSet(self, n: A.InSet) -> Fn:
        info = self._info(n.measure)
        reader = self._symbol_reader(info, n.recency)
        values = tuple(_word(v) for v in n.values)
        negated = n.negated
        return lambda ctx: E.eval_in_set(ctx, reader, info.id, info.label, values, negated)

    # ---- histories ------------------------------------------------------------------------------
    def _concept_ids(self, refs: tuple[A.Ref, ...], catalog: Any) -> tuple[str, ...]:
        return tuple(catalog.resolve(r.name).id for r in refs)

    def _durations(self, w: A.Window | None) -> tuple | None:
        if w is None:
            return None
        return tuple((int(d.amount) if d.unit != "half-life" else float(d.amount), d.unit) for d in w.durations)

    def c_ConditionPred(self, n: A.ConditionPred) -> Fn:
        sel = self._concept_ids(n.concepts, self.cats.conditions)
        exc = self._concept_ids(n.excepted, self.cats.conditions)
        durations = self._durations(n.window)
        allergens = self._concept_ids(n.allergens, self.cats.drugs)
        return lambda ctx: H.eval_condition(ctx, sel, exc, n, durations, allergens)

    def c_ProcedurePred(self, n: A.ProcedurePred) -> Fn:
        sel = self._concept_ids(n.concepts, self.cats.procedures)
        exc = self._concept_ids(n.excepted, self.cats.procedures)
        durations = self._durations(n.window)
        return lambda ctx: H.eval_procedure(ctx, sel, n, durations, exc)

    def c_TherapyPred(self, n: A.TherapyPred) -> Fn:
        sel = self._concept_ids(n.selectors, self.cats.drugs)
        exc = self._concept_ids(n.excepted, self.cats.drugs)
        durations = self._durations(n.window)
        indication = self._concept_ids(n.indication, self.cats.conditions)
        if n.timing == "washout":  # complete once the washout has run: not (last dose + washout > anchor)
            def washout(ctx: E.Context) -> tuple:
                t, flag, miss, evidence = H.eval_therapy(ctx, sel, exc, n, durations, indication)
                return (t_not(t), flag, miss, evidence)
            return washout
        return lambda ctx: H.eval_therapy(ctx, sel, exc, n, durations, indication)

    def c_DosePred(self, n: A.DosePred) -> Fn:
        sel = self._concept_ids(n.selectors, self.cats.drugs)
        durations = self._durations(n.window)
        threshold = float(n.value.number) * (1000 if n.value.unit == "g" else 1)
        return lambda ctx: D.eval_dose(ctx, sel, n, threshold, durations)

    def c_StableDosePred(self, n: A.StableDosePred) -> Fn:
        sel = self._concept_ids(n.selectors, self.cats.drugs)
        return lambda ctx: D.eval_stable_dose(ctx, sel, n)


_TIME_WORDS = ("day", "week", "month", "year", "hour")


def _unit_text(unit: str | None) -> str:
    """A unit as a reader expects it after a number: '70 years', not '70 year'."""
    if unit is None:
        return ""
    return unit + "s" if unit in _TIME_WORDS else unit


def _word(v: A.Value) -> str:
    if isinstance(v, A.Quantity):  # a bare number that is a declared value (her2_ihc = 0), checked
        return str(v.number)
    return v.name if isinstance(v, A.Symbol) else v.value  # type: ignore[union-attr]


def _needs(expr: Any) -> tuple[str, ...]:
    """The data a criterion reads, for coverage reports."""
    out: list[str] = []
    for n in A.walk(expr):
        if isinstance(n, A.BoolFact):
            out.append(f"fact {n.name}")
        elif isinstance(n, (A.Compare, A.Between, A.InSet)):
            m = n.measure
            out.append(f"{m.name}" + (f" by {m.method}" if m.method else "")
                       + (f" / {m.denominator}" if m.denominator else ""))
        elif isinstance(n, A.ConditionPred):
            out.append("conditions: " + ", ".join(r.name for r in n.concepts))
        elif isinstance(n, A.ProcedurePred):
            out.append("procedures: " + ", ".join(r.name for r in n.concepts))
        elif isinstance(n, A.ResultQuant):
            out.append(f"{n.measure.name} (every result in the window)")
        elif isinstance(n, A.ParticipationPred):
            out.append("studies: participation in another study")
        elif isinstance(n, (A.TherapyPred, A.DosePred, A.StableDosePred)):
            out.append("therapies: " + ", ".join(r.name for r in n.selectors))
    return tuple(dict.fromkeys(out))


def _is_judgment_exception(kind: str, expr: Any) -> bool:
    """An exclusion ``<data> and judgment``: its data part met leaves only the investigator's exception."""
    return (kind == "exclusion" and isinstance(expr, A.And) and any(isinstance(e, A.Judgment) for e in expr.items)
            and not _is_judgment_only(expr))


def _is_judgment_only(expr: Any) -> bool:
    return all(isinstance(n, (A.Judgment, A.And, A.Or, A.Not, A.AtLeast, A.IfThenElse, A.Const))
               for n in A.walk(expr)) and any(isinstance(n, A.Judgment) for n in A.walk(expr))


def compile_trial(text: str, *, filename: str = "<criteria>", catalogs: Catalogs | None = None,
                  options: TrialOptions | None = None, limits: Limits = DEFAULT_LIMITS) -> CompiledTrial:
    """Parse, check and compile a criteria text into an immutable :class:`CompiledTrial`.

    Raises :class:`~eligimatch.errors.CriteriaError` (syntax, check or limit) with
    the line, column and a caret for every problem.

        >>> trial = compile_trial('''
        ... trial "DEMO"
        ... inclusion:
        ...   - I1 "Adults": age >= 18 years
        ...   - I2 "ANC at least 1.5 x 10^9/L": anc >= 1.5 x10^9/L
        ... ''')
        >>> [c.id for c in trial.criteria]
        ['I1', 'I2']
        >>> compile_trial('''
        ... trial "X"
        ... inclusion:
        ...   - I1 "ANC": anc >= 1.5 mg
        ... ''')
        Traceback (most recent call last):
        ...
        eligimatch.errors.CriteriaCheckError: ...
    """
    try:
        return _compile_trial(text, filename=filename, catalogs=catalogs, options=options, limits=limits)
    except RecursionError:  # only with limits raised far above the defaults; never setrecursionlimit
        from eligimatch.errors import CriteriaLimitError, Problem

        raise CriteriaLimitError(Problem(
            f"the expressions are nested too deeply for Python to compile (Limits.max_depth is {limits.max_depth})",
            1, 1, "", "lower Limits.max_depth (the default, 64, is always safe)", filename)) from None


def _compile_trial(text: str, *, filename: str, catalogs: Catalogs | None, options: TrialOptions | None,
                   limits: Limits) -> CompiledTrial:
    from eligimatch.language._parser import parse  # lark is imported on the first compilation, not by `import eligimatch`
    from eligimatch.language._transform import to_ast

    cats = catalogs or Catalogs.default()
    opts = options or TrialOptions()
    tree = parse(text, filename=filename, limits=limits)
    trial = to_ast(tree, text, filename)
    n_criteria = len(trial.criteria) + sum(len(c.criteria) for c in trial.cohorts)
    if n_criteria > limits.max_criteria:
        from eligimatch.errors import CriteriaLimitError, Problem

        raise CriteriaLimitError(Problem(f"the file has {n_criteria} criteria, more than the limit of "
                                         f"{limits.max_criteria}", 1, 1, "", "raise Limits.max_criteria", filename))
    check(trial, cats, text, filename)
    from eligimatch.plan._bind import bind

    plan = bind(trial, cats, opts)
    comp = _Compiler(trial, cats, opts)

    def crit(c: A.Criterion, cohort: str | None) -> CompiledCriterion:
        return CompiledCriterion(id=c.id, kind=c.kind, text=c.text, cohort=cohort, line=c.span.line,
                                 source=render_expr(c.expr), needs=_needs(c.expr),
                                 judgment=_is_judgment_only(c.expr), fn=comp.expr(c.expr),
                                 judgment_exception=_is_judgment_exception(c.kind, c.expr), drafted=c.drafted)

    criteria = tuple(crit(c, None) for c in trial.criteria)
    cohorts = tuple((co.id, co.title, tuple(crit(c, co.id) for c in co.criteria)) for co in trial.cohorts)
    return CompiledTrial(id=trial.id, title=trial.title, anchors=trial.anchors, lab_recency=trial.lab_recency,
                         criteria=criteria, cohorts=cohorts, ast=trial, text=text, filename=filename,
                         catalogs=cats, options=opts, limits=limits, fact_recency=trial.fact_recency,
                         plan=plan)


def load_trial(path: str | Path, *, catalogs: Catalogs | None = None, options: TrialOptions | None = None,
               limits: Limits = DEFAULT_LIMITS) -> CompiledTrial:
    """Read and compile a criteria file (UTF-8).

    ``catalogs``: the vocabularies to check and evaluate against (default: the bundled ones; a site's
    own with :meth:`~eligimatch.Catalogs.load`).  Raises :class:`~eligimatch.errors.CriteriaError`
    with the line, column and a caret for every problem.

        >>> trial = load_trial("examples/trials/NCT03754764.elig")
        >>> trial.id, len(trial.all_criteria())
        ('NCT03754764', 25)
    """
    from eligimatch.errors import CriteriaSyntaxError, Problem

    p = Path(path)
    data = p.read_bytes()
    if len(data) > limits.max_chars * 4:
        from eligimatch.errors import CriteriaLimitError

        raise CriteriaLimitError(Problem(f"the file is {len(data)} bytes, more than the limit", 1, 1, "",
                                         "raise Limits.max_chars", str(p)))
    if data.startswith(b"\xef\xbb\xbf"):  # a byte-order mark some editors write is not part of the text
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CriteriaSyntaxError(Problem("the file is not valid UTF-8 text", line, col, "", "", str(p))) from None
    return compile_trial(text, filename=str(p), catalogs=catalogs, options=options, limits=limits)


def _ranked(order: tuple[str, ...], threshold: str, op: str) -> tuple[str, ...]:
    """The values of an ordered enum (listed lowest first) that satisfy ``value <op> threshold``:
    ``her2_ihc >= 2+`` is ``her2_ihc in (2+, 3+)``."""
    rank = {v.casefold(): i for i, v in enumerate(order)}
    t = rank[threshold.casefold()]
    keep = {"<": lambda i: i < t, "<=": lambda i: i <= t, ">": lambda i: i > t, ">=": lambda i: i >= t}[
        {"≤": "<=", "≥": ">="}.get(op, op)]
    return tuple(v for i, v in enumerate(order) if keep(i))
