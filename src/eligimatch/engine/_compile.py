"""Compile a trial's plan into closures: the predicate tree that :func:`eligimatch.match` runs.

``text -> parse -> check -> bind (eligimatch.plan) -> compile``: the compiler reads the plan only, where
every catalog look-up, the unit each comparison is made in, thresholds as floats and window lengths are
already resolved; it looks no name up, and the evaluators it calls never see the AST.  What is left for
evaluation time is reading the patient's values and converting them with factors cached per recorded unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from eligimatch.knowledge import _formulas as formulas
from eligimatch.engine import _evaluate as E
from eligimatch.engine import _doses as D
from eligimatch.engine import _history as H
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import bind
from eligimatch.plan._bind import ranked as _ranked  # noqa: F401  (as before: tests read it here)
from eligimatch.plan._check import check
from eligimatch.errors import PlanError
from eligimatch.logic import FLAG_VALUES, CauseFlag, Truth, t_and, t_and2, t_at_least, t_if, t_not, t_or, t_or2
from eligimatch._limits import DEFAULT_LIMITS, Limits
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


def _anchored(fn: Fn) -> Fn:
    """A predicate counted from an anchor with no date is UNKNOWN (naming the anchor), not an error."""
    def f(ctx: E.Context) -> tuple:
        try:
            return fn(ctx)
        except E.MissingAnchor as exc:
            return E.anchor_unknown(exc.name)
    return f


_READS_FACTS = (P.BoolFact, P.Threshold, P.Between, P.InSet)  # under the trial's `facts within ...`
_READS_LABS = (P.Threshold, P.Between, P.RefMultiple)  # under the trial's `labs within ...`


class _Compiler:
    """Plan nodes to closures.  Nothing is looked up here: the plan holds every catalog entry."""

    def __init__(self, plan: P.Plan):
        self.plan = plan

    def expr(self, n: Any) -> Fn:
        method = _METHODS.get(type(n))
        if method is None:
            raise PlanError(f"the row engine has no evaluator for plan node {type(n).__name__}")
        fn = method(self, n)
        if isinstance(n, P.LOGIC_TYPES) or not self._uses_anchor(n):
            return fn
        return _anchored(fn)

    def _uses_anchor(self, n: Any) -> bool:
        if any(getattr(n, k, None) is not None for k in ("window", "recency", "anchor")):
            return True
        timing = getattr(n, "timing", None)
        if timing is not None and any(getattr(timing, k, None) is not None for k in ("window", "anchor")):
            return True
        if isinstance(n, _READS_FACTS) and self.plan.fact_recency is not None:
            return True
        return isinstance(n, _READS_LABS) and self.plan.lab_recency is not None

    # ---- logic -------------------------------------------------------------------------------
    def c_And(self, n: P.And) -> Fn:
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

    def c_Or(self, n: P.Or) -> Fn:
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

    def c_Not(self, n: P.Not) -> Fn:
        g = self.expr(n.item)

        def f(ctx: E.Context) -> tuple:
            t, flag, miss, evidence = g(ctx)
            return (t_not(t), flag, miss, evidence)
        return f

    def c_AtLeast(self, n: P.AtLeast) -> Fn:
        fns = tuple(self.expr(i) for i in n.items)
        need = n.n

        def f(ctx: E.Context) -> tuple:
            rs = [g(ctx) for g in fns]
            return _combine(rs, t_at_least(need, [r[0] for r in rs]))
        return f

    def c_IfThenElse(self, n: P.IfThenElse) -> Fn:
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

    def c_Const(self, n: P.Const) -> Fn:
        r = (T if n.value else F, CauseFlag.NONE, (), ())
        return lambda ctx: r

    def c_Judgment(self, n: P.Judgment) -> Fn:
        r = (U, CauseFlag.REVIEW, (), (E.ev("judgment", "review", "needs the investigator's judgment"),))
        return lambda ctx: r

    def c_BoolFact(self, n: P.BoolFact) -> Fn:
        name, label = n.fact.id, n.fact.name
        recency = n.recency
        return lambda ctx: E.eval_bool_fact(ctx, name, label, recency)

    # ---- comparisons -----------------------------------------------------------------------------
    def _reader(self, m: Any, unit: str | None, recency: P.Window | None) -> E.ReadFn:
        if isinstance(m, P.AgeMeasure):
            # a whole threshold counts completed units; a fractional one (17.5 years) the exact age
            return E.read_age(m.unit, m.exact)
        if isinstance(m, P.FactMeasure):
            return E.read_number_fact(m.fact.id, m.fact.name, m.fact.unit, unit, conversion_factor, recency)
        if isinstance(m, P.RatioMeasure):
            return E.read_ratio(m.numerator.entry, m.denominator.entry, recency)
        if isinstance(m, P.FormulaMeasure):
            inputs = {a.id: a.entry for a in m.inputs}
            return E.read_computed(m.method, m.analyte.entry, unit or m.analyte.unit, recency, formulas, inputs)
        if isinstance(m, P.AnalyteMeasure):
            return E.read_observation(m.analyte.entry, m.analyte.name, unit or m.analyte.unit, recency)
        raise PlanError(f"the row engine cannot read measure {type(m).__name__}")

    def c_Threshold(self, n: P.Threshold) -> Fn:
        fact_id, label = _measure_id(n.measure)
        reader = self._reader(n.measure, n.unit, n.recency)
        op, threshold, text = n.op, n.value, n.text
        return lambda ctx: E.eval_threshold(ctx, reader, fact_id, label, op, threshold, text)

    def c_Between(self, n: P.Between) -> Fn:
        fact_id, label = _measure_id(n.measure)
        reader = self._reader(n.measure, n.unit, n.recency)
        lo, hi, inclusive, text = n.low, n.high, n.inclusive, n.text
        return lambda ctx: E.eval_between(ctx, reader, fact_id, label, lo, hi, inclusive, text)

    def c_InSet(self, n: P.InSet) -> Fn:
        fact_id, label = _measure_id(n.measure)
        m = n.measure
        reader = (E.read_sex if isinstance(m, P.SexMeasure)
                  else E.read_enum_fact(m.fact.id, m.fact.name, n.recency, m.fact.entry))
        values, negated = n.values, n.negated
        return lambda ctx: E.eval_in_set(ctx, reader, fact_id, label, values, negated)

    def c_RefMultiple(self, n: P.RefMultiple) -> Fn:
        analyte, op, factor, limit, recency, ftext = n.analyte.entry, n.op, n.factor, n.limit, n.recency, n.text
        default = self.plan.reference_range(n.analyte.id)
        units = E.UnitFactors(analyte)
        return lambda ctx: E.eval_reference_multiple(ctx, analyte, analyte.name, op, factor, limit, recency,
                                                     ftext, default, units)

    def c_EachResult(self, n: P.EachResult) -> Fn:
        from eligimatch.engine._results import eval_each_result

        units = E.UnitFactors(n.analyte.entry)
        default = self.plan.reference_range(n.analyte.id)
        return lambda ctx: eval_each_result(ctx, n, default, units)

    # ---- histories ------------------------------------------------------------------------------
    def c_Participation(self, n: P.Participation) -> Fn:
        return lambda ctx: H.eval_participation(ctx, n)

    def c_Condition(self, n: P.Condition) -> Fn:
        return lambda ctx: H.eval_condition(ctx, n)

    def c_Procedure(self, n: P.Procedure) -> Fn:
        return lambda ctx: H.eval_procedure(ctx, n)

    def c_Therapy(self, n: P.Therapy) -> Fn:
        if isinstance(n.timing, P.WashoutComplete):  # complete once the washout has run: not (still inside it)
            def washout(ctx: E.Context) -> tuple:
                t, flag, miss, evidence = H.eval_therapy(ctx, n)
                return (t_not(t), flag, miss, evidence)
            return washout
        return lambda ctx: H.eval_therapy(ctx, n)

    def c_Dose(self, n: P.Dose) -> Fn:
        return lambda ctx: D.eval_dose(ctx, n)

    def c_StableDose(self, n: P.StableDose) -> Fn:
        return lambda ctx: D.eval_stable_dose(ctx, n)


_METHODS: dict[type, Callable[[_Compiler, Any], Fn]] = {
    cls: getattr(_Compiler, "c_" + name) for name, cls in P.NODE_TYPES.items() if hasattr(_Compiler, "c_" + name)}


def _measure_id(m: Any) -> tuple[str, str]:
    """The fact name and label of a measure, for evidence and missing facts."""
    if isinstance(m, P.AgeMeasure):
        return "age", "age"
    if isinstance(m, P.SexMeasure):
        return "sex", "sex"
    if isinstance(m, P.FactMeasure):
        return m.fact.id, m.fact.name
    if isinstance(m, P.RatioMeasure):
        return f"{m.numerator.id}/{m.denominator.id}", f"{m.numerator.name} / {m.denominator.name}"
    return m.analyte.id, m.analyte.name


def _needs(expr: Any) -> tuple[str, ...]:
    """The data a criterion reads, for coverage reports."""
    out: list[str] = []
    for n in _walk(expr):
        if isinstance(n, P.BoolFact):
            out.append(f"fact {n.fact.id}")
        elif isinstance(n, (P.Threshold, P.Between, P.InSet)):
            out.append(_measure_need(n.measure))
        elif isinstance(n, P.RefMultiple):
            out.append(n.analyte.id)
        elif isinstance(n, P.Condition):
            out.append("conditions: " + ", ".join(r.id for r in n.concepts))
        elif isinstance(n, P.Procedure):
            out.append("procedures: " + ", ".join(r.id for r in n.concepts))
        elif isinstance(n, P.EachResult):
            out.append(f"{n.analyte.id} (every result in the window)")
        elif isinstance(n, P.Participation):
            out.append("studies: participation in another study")
        elif isinstance(n, (P.Therapy, P.Dose, P.StableDose)):
            out.append("therapies: " + ", ".join(r.id for r in n.selectors))
        elif not isinstance(n, P.LOGIC_TYPES):
            raise PlanError(f"no data needs known for plan node {type(n).__name__}")
    return tuple(dict.fromkeys(out))


def _measure_need(m: Any) -> str:
    if isinstance(m, P.AgeMeasure):
        return "age"
    if isinstance(m, P.SexMeasure):
        return "sex"
    if isinstance(m, P.FactMeasure):
        return str(m.fact.id)
    if isinstance(m, P.RatioMeasure):
        return f"{m.numerator.id} / {m.denominator.id}"
    if isinstance(m, P.FormulaMeasure):
        return f"{m.analyte.id} by {m.method}"
    return str(m.analyte.id)


def _walk(expr: Any) -> Any:
    """Every node of a plan expression, itself first (iteratively)."""
    stack = [expr]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (P.And, P.Or, P.AtLeast)):
            stack.extend(reversed(n.items))
        elif isinstance(n, P.Not):
            stack.append(n.item)
        elif isinstance(n, P.IfThenElse):
            stack.extend((n.otherwise, n.then, n.cond))


def _is_judgment_exception(kind: str, expr: Any) -> bool:
    """An exclusion ``<data> and judgment``: its data part met leaves only the investigator's exception."""
    return (kind == "exclusion" and isinstance(expr, P.And) and any(isinstance(e, P.Judgment) for e in expr.items)
            and not _is_judgment_only(expr))


def _is_judgment_only(expr: Any) -> bool:
    return all(isinstance(n, P.LOGIC_TYPES) for n in _walk(expr)) and any(isinstance(n, P.Judgment)
                                                                          for n in _walk(expr))


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
    plan = bind(trial, cats, opts)
    comp = _Compiler(plan)

    def crit(c: P.Criterion) -> CompiledCriterion:
        return CompiledCriterion(id=c.id, kind=c.kind, text=c.text, cohort=c.cohort, line=c.line,
                                 source=c.source, needs=_needs(c.expr),
                                 judgment=_is_judgment_only(c.expr), fn=comp.expr(c.expr),
                                 judgment_exception=_is_judgment_exception(c.kind, c.expr), drafted=c.drafted)

    criteria = tuple(crit(c) for c in plan.criteria)
    cohorts = tuple((co.id, co.title, tuple(crit(c) for c in co.criteria)) for co in plan.cohorts)
    return CompiledTrial(id=plan.trial_id, title=plan.title, anchors=plan.anchors, lab_recency=plan.lab_recency,
                         criteria=criteria, cohorts=cohorts, ast=trial, text=text, filename=filename,
                         catalogs=cats, options=opts, limits=limits, fact_recency=plan.fact_recency,
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
