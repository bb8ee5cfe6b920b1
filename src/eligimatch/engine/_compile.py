"""Compile a trial's plan into closures: the predicate tree that :func:`eligimatch.match` runs.

``text -> parse -> check -> bind (eligimatch.plan) -> compile``: the compiler reads the plan only, where
every catalog look-up, the unit each comparison is made in, thresholds as floats and window lengths are
already resolved; it looks no name up, and the evaluators it calls never see the AST.  What is left for
evaluation time is reading the patient's values and converting them with factors cached per recorded unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from eligimatch import kinds
from eligimatch.engine import _evaluate as E
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.plan import _nodes as P
from eligimatch.plan._bind import bind
from eligimatch.plan._bind import ranked as _ranked  # noqa: F401  (as before: tests read it here)
from eligimatch.plan._check import check
from eligimatch._limits import DEFAULT_LIMITS, Limits
from eligimatch.engine._trial import CompiledCriterion, CompiledTrial, TrialOptions

__all__ = ["compile_trial", "load_trial"]

Fn = Callable[[E.Context], tuple]


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
    """Plan nodes to closures, each by its kind (:mod:`eligimatch.kinds`); nothing is looked up here: the plan
    holds every catalog entry.  A node no kind handles raises :class:`~eligimatch.errors.PlanError`."""

    def __init__(self, plan: P.Plan):
        self.plan = plan

    def expr(self, n: Any) -> Fn:
        fn = kinds.for_node(n).compile_row(self, n)
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


def _needs(expr: Any) -> tuple[str, ...]:
    """The data a criterion reads, for coverage reports (each kind says what it reads)."""
    out: list[str] = []
    for n in _walk(expr):
        out.extend(kinds.for_node(n).needs(n))
    return tuple(dict.fromkeys(out))


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
