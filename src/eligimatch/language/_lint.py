"""Findings beyond compile errors: criteria that compile but cannot mean what the protocol says.

:func:`lint` reads the typed AST of a compiled trial (``trial.ast``) and reports

* ``contradiction``: comparisons on one measure, joined by ``and``, that can
  never all hold (``age >= 75 and age <= 70``; ``anc > 2 x10^9/L and anc < 1000 /uL``
  once both are in the same unit; ``sex = male and sex = female``);
* ``empty-range``: a ``between`` whose bounds admit no value (``age between 70 and 18 years``);
* ``always-true``: an ``or`` that holds for every known value of one measure
  (``age >= 18 or age < 30``);
* ``duplicate``: the same expression twice in the same kind of criterion;
* ``include-exclude``: an inclusion and an exclusion with the same expression
  (no patient can meet both);
* ``at-least-all``: ``at least N of`` N items, which is ``all of``;
* ``no-text``: a criterion without the protocol's sentence.

Names are not looked up here: lint reads what the bind phase resolved.  Each comparison of the AST is
paired with the plan node it was bound to (``trial.plan``, :mod:`eligimatch.plan`), which gives the
measure it reads (analyte, fact, formula, ratio, age, sex), the thresholds in the catalog's unit and, for
words, the values the measure can take; the AST gives the places and the text as written.

Two criteria are compared when they can apply to the same patient together:
both general, both in one cohort, or one general and one in a cohort (two
cohorts are alternatives, so the same criterion in each is not a duplicate).
Criteria with a ``judgment`` anywhere in them are never duplicates: what the
investigator judges is in their sentence (``if X then judgment else true``
twice may ask two different questions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

from eligimatch.engine._trial import CompiledTrial
from eligimatch.errors import render_located
from eligimatch.language import ast as A
from eligimatch.language._render import render_expr
from eligimatch.plan import _nodes as P
from eligimatch.plan._check import SEXES

__all__ = ["Finding", "lint", "CODES"]

CODES = {
    "contradiction": "comparisons joined by `and` that can never all hold",
    "empty-range": "a `between` that no value satisfies",
    "always-true": "an `or` that holds for every known value",
    "duplicate": "the same expression in two criteria of the same kind",
    "include-exclude": "an inclusion and an exclusion with the same expression",
    "at-least-all": "`at least N of` N items",
    "no-text": "a criterion without the protocol's sentence",
    "daily-dose-in-mg": "a `daily dose` compared with mg, not mg/day: a daily or a total amount?",
}


@dataclass(frozen=True)
class Finding:
    """One located finding, rendered like a compiler diagnostic."""

    code: str
    message: str
    line: int
    column: int
    filename: str = "<criteria>"
    source_line: str = ""
    hint: str = ""

    def render(self) -> str:
        """``file:line:col: message [code]``, the line, a caret under the column, the hint."""
        return render_located(self.filename, self.line, self.column, f"{self.message} [{self.code}]",
                              self.source_line, self.hint)


# ---- sets of values: unions of intervals, or finite sets of words ---------------------------------

INF = math.inf
Interval = tuple[float, bool, float, bool]  # (low, low inclusive, high, high inclusive)
ALL: tuple[Interval, ...] = ((-INF, False, INF, False),)


def _round(x: float) -> float:
    # values that agree to 12 significant digits are the same threshold (unit conversions round)
    return float(f"{x:.12g}")


def _empty(iv: Interval) -> bool:
    lo, lo_inc, hi, hi_inc = iv
    return lo > hi or (lo == hi and not (lo_inc and hi_inc))


def _meet(a: Interval, b: Interval) -> Interval:
    if a[0] > b[0]:
        lo, lo_inc = a[0], a[1]
    elif b[0] > a[0]:
        lo, lo_inc = b[0], b[1]
    else:
        lo, lo_inc = a[0], a[1] and b[1]
    if a[2] < b[2]:
        hi, hi_inc = a[2], a[3]
    elif b[2] < a[2]:
        hi, hi_inc = b[2], b[3]
    else:
        hi, hi_inc = a[2], a[3] and b[3]
    return (lo, lo_inc, hi, hi_inc)


def _intersect(u: tuple[Interval, ...], v: tuple[Interval, ...]) -> tuple[Interval, ...]:
    return tuple(m for a in u for b in v if not _empty(m := _meet(a, b)))


def _complement(u: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out = ALL
    for lo, lo_inc, hi, hi_inc in u:
        out = _intersect(out, ((-INF, False, lo, not lo_inc), (hi, not hi_inc, INF, False)))
    return out


def _interval_of(op: str, x: float) -> tuple[Interval, ...]:
    return {
        "<": ((-INF, False, x, False),),
        "<=": ((-INF, False, x, True),),
        ">": ((x, False, INF, False),),
        ">=": ((x, True, INF, False),),
        "=": ((x, True, x, True),),
        "!=": ((-INF, False, x, False), (x, False, INF, False)),
    }[op]


@dataclass(frozen=True)
class _Constraint:
    """What one comparison allows for one measure."""

    key: tuple
    label: str
    allowed: Any  # tuple[Interval, ...] for numbers, frozenset[str] for words
    universe: frozenset[str] | None  # for words: every possible value
    node: Any

    def negate(self) -> _Constraint:
        if self.universe is not None:
            allowed: Any = self.universe - self.allowed
        else:
            allowed = _complement(self.allowed)
        return _Constraint(self.key, self.label, allowed, self.universe, self.node)

    def meet(self, other: Any) -> Any:
        return (self.allowed & other) if self.universe is not None else _intersect(self.allowed, other)

    def join(self, other: Any) -> Any:
        if self.universe is not None:
            return self.allowed | other
        return self.allowed + other

    @staticmethod
    def is_empty(allowed: Any) -> bool:
        return not allowed

    def covers_all(self, allowed: Any) -> bool:
        if self.universe is not None:
            return allowed >= self.universe
        return not _complement(allowed)


class _Linter:
    def __init__(self, trial: CompiledTrial):
        self.trial = trial
        self.ast: A.TrialAst = trial.ast
        self.bound: dict[int, Any] = {}  # id(AST node) -> the plan node it was bound to
        self.lines = (trial.text or "").splitlines()
        self.filename = trial.filename
        self.findings: list[Finding] = []

    def add(self, code: str, span: A.Span, message: str, hint: str = "") -> None:
        line, col = span.line or 1, span.column or 1
        src = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        self.findings.append(Finding(code, message, line, col, self.filename, src, hint))

    # ---- the file ----------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        scoped: list[tuple[str | None, A.Criterion]] = [(None, c) for c in self.ast.criteria]
        scoped += [(co.id, c) for co in self.ast.cohorts for c in co.criteria]
        planned = self.trial.plan.all_criteria() if self.trial.plan is not None else ()
        for (_, c), pc in zip(scoped, planned):
            if pc.id == c.id:
                _pair(c.expr, pc.expr, self.bound)
        for _, c in scoped:
            if c.text is None or not c.text.strip():
                self.add("no-text", c.span, f"criterion {c.id} has no protocol sentence",
                         f'quote the protocol: `- {c.id} "...": ...`')
            nested: set[int] = set()  # an and inside an and is read with its parent
            for node in A.walk(c.expr):
                if isinstance(node, (A.And, A.Or)) and id(node) not in nested:
                    nested.update(id(x) for x in _chain(node))
                    self.and_(node) if isinstance(node, A.And) else self.or_(node)
                elif isinstance(node, A.AtLeast) and node.n == len(node.items):
                    self.add("at-least-all", node.span,
                             f"`at least {node.n} of` {len(node.items)} items needs every one of them",
                             "write `all of (...)`")
                elif isinstance(node, A.Between):
                    self.between(node)
                elif isinstance(node, A.DosePred) and not node.total and getattr(node.value, "unit", None) == "mg":
                    self.add("daily-dose-in-mg", node.value.span,
                             f"`daily dose of ... {node.op} {_word(node.value)} mg` is read as mg/day; the protocol "
                             f"may mean the amount received over a window",
                             "write mg/day for a daily dose, or `total dose of ... within ... "
                             f"{node.op} {_word(node.value)} mg` for the amount received (docs/language.md, Doses)")
        self.pairs(scoped)
        self.findings.sort(key=lambda f: (f.line, f.column, f.code))
        return self.findings

    def pairs(self, scoped: list[tuple[str | None, A.Criterion]]) -> None:
        seen: dict[Any, list[tuple[str | None, A.Criterion]]] = {}
        for cohort, c in scoped:
            if _has_judgment(c.expr):
                continue
            try:
                earlier = seen.setdefault(c.expr, [])
            except TypeError:  # pragma: no cover - every AST node is hashable
                continue
            for other_cohort, o in earlier:
                if cohort is not None and other_cohort is not None and cohort != other_cohort:
                    continue  # cohorts are alternatives
                where = f"{o.id} (line {o.span.line})"
                if o.kind == c.kind:
                    self.add("duplicate", c.span, f"criterion {c.id} repeats the expression of {where}",
                             "remove one, or merge their sentences")
                else:
                    self.add("include-exclude", c.span,
                             f"{c.kind} {c.id} has the same expression as {o.kind} {where}: "
                             f"no patient whose data settle it can meet both",
                             "one of them probably needs `not`, or belongs to the other section")
                break
            earlier.append((cohort, c))

    # ---- comparisons on one measure ---------------------------------------------------------
    def constraint(self, item: Any) -> _Constraint | None:
        n, negated = item, False
        while isinstance(n, A.Not):
            n, negated = n.item, not negated
        c = self._constraint(n)
        if c is None:
            return None
        if negated:
            c = c.negate()
        return _Constraint(c.key, c.label, c.allowed, c.universe, item)

    def _constraint(self, n: Any) -> _Constraint | None:
        if not isinstance(n, (A.Compare, A.Between, A.InSet)):
            return None
        bound = self.bound.get(id(n))
        measure = _measure_of(bound)
        if measure is None:
            return None
        kind, mid, label, universe = _identity(measure)
        recency = render_expr_window(getattr(n, "recency", None))
        base = (kind, mid, getattr(measure, "method", None), recency)
        if universe is not None:
            if not isinstance(bound, P.InSet) or (isinstance(n, A.Compare) and n.op not in ("=", "!=")):
                return None  # an ordered enum against a threshold: not a set of words as written
            words = frozenset(bound.values)
            allowed = (universe - words) if bound.negated else (words & universe)
            return _Constraint(base, label, allowed, universe, n)
        if isinstance(bound, P.RefMultiple):
            if kind != "analyte":
                return None
            return _Constraint(base + (f"x {bound.limit}",), label, _interval_of(bound.op, _round(bound.factor)),
                               None, n)
        if isinstance(bound, P.Threshold) and isinstance(n, A.Compare):
            return _Constraint(base + (_unit_key(bound),), label,
                               _interval_of(bound.op, _round(bound.canonical_value)), None, n)
        if isinstance(bound, P.Between):
            iv = (_round(bound.canonical_low), bound.inclusive, _round(bound.canonical_high), bound.inclusive)
            unit_key: Any = bound.canonical_unit or bound.unit
        elif isinstance(bound, P.And) and isinstance(n, A.Between):  # an age between a whole and a fractional bound
            low, high = bound.items
            if not isinstance(low, P.Threshold) or not isinstance(high, P.Threshold):
                return None
            unit_key = _unit_key(low)
            if _unit_key(high) != unit_key:
                return None
            iv = (_round(low.canonical_value), n.inclusive, _round(high.canonical_value), n.inclusive)
        else:
            return None
        return _Constraint(base + (unit_key,), label, () if _empty(iv) else (iv,), None, n)

    def between(self, n: A.Between) -> None:
        c = self._constraint(n)
        if c is not None and c.is_empty(c.allowed):
            self.add("empty-range", n.span, f"`{render_expr(n)}` admits no value of {c.label}",
                     "give the lower bound first")

    def and_(self, n: A.And) -> None:
        items = _flatten(n, A.And)
        groups: dict[tuple, list[_Constraint]] = {}
        for item in items:
            c = self.constraint(item)
            if c is not None and not (isinstance(item, A.Between) and c.is_empty(c.allowed)):
                groups.setdefault(c.key, []).append(c)
        for cs in groups.values():
            if len(cs) < 2:
                continue
            pair = _first_clash(cs)
            if pair is None:
                continue
            a, b = pair
            if a is None:
                shown = " and ".join(f"`{render_expr(c.node)}`" for c in cs)
                self.add("contradiction", cs[-1].node.span,
                         f"{shown} can never all hold: this `and` is false whenever {cs[0].label} is known")
            else:
                self.add("contradiction", b.node.span,
                         f"`{render_expr(b.node)}` contradicts `{render_expr(a.node)}` "
                         f"(line {a.node.span.line}): this `and` is false whenever {a.label} is known",
                         "check the operators and the units of the thresholds")

    def or_(self, n: A.Or) -> None:
        items = _flatten(n, A.Or)
        groups: dict[tuple, list[_Constraint]] = {}
        for item in items:
            c = self.constraint(item)
            if c is not None:
                groups.setdefault(c.key, []).append(c)
        for cs in groups.values():
            if len(cs) < 2:
                continue
            allowed = cs[0].allowed
            for c in cs[1:]:
                allowed = c.join(allowed)
            if cs[0].covers_all(allowed):
                shown = " or ".join(f"`{render_expr(c.node)}`" for c in cs)
                self.add("always-true", n.span, f"{shown} holds for every value of {cs[0].label}: "
                                                f"this `or` is true whenever {cs[0].label} is known",
                         "check the operators")


def _pair(node: Any, bound: Any, out: dict[int, Any]) -> None:
    """Record the plan node each AST node of an expression was bound to (the logic nodes bind one to one)."""
    out[id(node)] = bound
    if isinstance(node, (A.And, A.Or, A.AtLeast)) and type(bound).__name__ == type(node).__name__ \
            and len(node.items) == len(bound.items):
        for x, y in zip(node.items, bound.items):
            _pair(x, y, out)
    elif isinstance(node, A.Not) and isinstance(bound, P.Not):
        _pair(node.item, bound.item, out)
    elif isinstance(node, A.IfThenElse) and isinstance(bound, P.IfThenElse):
        for x, y in ((node.cond, bound.cond), (node.then, bound.then), (node.otherwise, bound.otherwise)):
            _pair(x, y, out)


def _measure_of(bound: Any) -> Any:
    """The measure a bound comparison reads, or None."""
    if isinstance(bound, (P.Threshold, P.Between, P.InSet)):
        return bound.measure
    if isinstance(bound, P.RefMultiple):
        return P.AnalyteMeasure(bound.analyte)
    if isinstance(bound, P.And) and len(bound.items) == 2:
        low, high = bound.items
        if isinstance(low, P.Threshold) and isinstance(high, P.Threshold):
            return low.measure
    return None


def _identity(m: Any) -> tuple[str, str, str, frozenset[str] | None]:
    """A measure's kind, id, label and, for words, every value it can take."""
    if isinstance(m, P.AgeMeasure):
        return "age", "age", "age", None
    if isinstance(m, P.SexMeasure):
        return "sex", "sex", "sex", frozenset(SEXES)
    if isinstance(m, P.FactMeasure):
        f = m.fact
        return "fact", f.id, f.name, frozenset(f.values) if f.type == "enum" else None
    if isinstance(m, P.RatioMeasure):
        return "ratio", f"{m.numerator.id}/{m.denominator.id}", f"{m.numerator.name} / {m.denominator.name}", None
    kind = "computed" if isinstance(m, P.FormulaMeasure) else "analyte"
    return kind, m.analyte.id, m.analyte.name, None


def _unit_key(t: P.Threshold) -> str | None:
    """The unit a threshold's canonical value is in (age: the unit of time it is counted in)."""
    return t.canonical_unit or t.unit


def _first_clash(cs: list[_Constraint]) -> tuple[_Constraint | None, _Constraint] | None:
    for j in range(1, len(cs)):
        for i in range(j):
            if cs[i].is_empty(cs[j].meet(cs[i].allowed)):
                return cs[i], cs[j]
    allowed = cs[0].allowed
    for c in cs[1:]:
        allowed = c.meet(allowed)
    if cs[0].is_empty(allowed):
        return None, cs[-1]
    return None


def _word(v: Any) -> str:
    if isinstance(v, A.Symbol):
        return v.name
    if isinstance(v, A.Text):
        return v.value
    return str(getattr(v, "number", v))


def render_expr_window(w: A.Window | None) -> str | None:
    if w is None:
        return None
    return f"{','.join(f'{d.amount} {d.unit}' for d in w.durations)} before {w.anchor}"


def _flatten(n: Any, kind: type[Any]) -> list[Any]:
    out: list[Any] = []
    stack = [n]
    while stack:
        x = stack.pop()
        if isinstance(x, kind):
            stack.extend(reversed(x.items))
        else:
            out.append(x)
    return out


def _chain(n: Any) -> Iterator[Any]:
    """The nodes of ``n``'s kind (and/or) nested directly in it, which :func:`_flatten` reads through."""
    stack = list(n.items)
    while stack:
        x = stack.pop()
        if type(x) is type(n):
            yield x
            stack.extend(x.items)


def _has_judgment(expr: Any) -> bool:
    return any(isinstance(x, A.Judgment) for x in A.walk(expr))


def lint(trial: CompiledTrial) -> list[Finding]:
    """Findings for a compiled trial, sorted by position (empty when there is nothing to say)."""
    if not isinstance(trial, CompiledTrial):
        raise TypeError(f"lint() takes a CompiledTrial, not {type(trial).__name__}; use eligimatch.load_trial()")
    return _Linter(trial).run()
