"""Render an AST back to canonical criteria text (``eligimatch fmt``).

``compile_trial(render_trial(ast))`` yields a tree equal to ``ast``: the
round-trip property the tests check with hypothesis.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eligimatch.language import ast as A

__all__ = ["render_trial", "render_expr", "string_literal"]


def string_literal(s: str) -> str:
    """A text as a criteria-file string literal."""
    return _str(s)

# binding strength: higher binds tighter
_PREC = {A.IfThenElse: 0, A.Or: 1, A.And: 2, A.Not: 3}
_ATOM = 4


def _num(d: Decimal) -> str:
    s = format(d, "f")
    return s


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _name(s: str) -> str:
    import re

    return s if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s) else _str(s)


_WORD_UNITS = {"kg", "mg", "g", "cm", "mmHg", "points"}
_TIME = {"day", "week", "month", "year", "hour"}


def _plural(amount: Decimal, unit: str) -> str:
    """``1 week``, ``2 weeks``: the unit agrees with its number."""
    return unit if amount == 1 else unit + "s"


def _unit(u: str | None, amount: Decimal | None = None) -> str:
    if u is None:
        return ""
    if u in _TIME:
        return " " + (_plural(amount, u) if amount is not None else u + "s")
    if u == "%":
        return "%"  # 45%, as protocols write it
    if u in _WORD_UNITS:
        return " " + u
    if any(c in u for c in "/^%") and not any(c.isspace() or c in ',()[]"#:<>=!≤≥≠' for c in u):
        return " " + u
    return f" [{u}]"


def _value(v: Any) -> str:
    if isinstance(v, A.Quantity):
        return _num(v.number) + _unit(v.unit, v.number)
    if isinstance(v, A.RefMultiple):
        return f"{_num(v.factor)} x {v.limit}"
    if isinstance(v, A.Symbol):
        return v.name
    return _str(v.value)


def _duration(d: A.Duration) -> str:
    if d.unit == "half-life":
        return f"{_num(d.amount)} {'half-life' if d.amount == 1 else 'half-lives'}"
    return f"{_num(d.amount)} {_plural(d.amount, d.unit)}"


def _span(w: A.Window) -> str:
    if len(w.durations) == 1:
        return _duration(w.durations[0])
    return f"max({', '.join(_duration(d) for d in w.durations)})"


def _window(w: A.Window) -> str:
    return f"within {_span(w)} before {w.anchor}"


def _refs(refs: tuple[A.Ref, ...]) -> str:
    if len(refs) == 1:
        return _name(refs[0].name)
    return "(" + ", ".join(_name(r.name) for r in refs) + ")"


def _attr(t: A.AttrTest | A.AttrAny, nested: bool = False) -> str:
    if isinstance(t, A.AttrAny):
        text = " or ".join(_conj(o) for o in t.options)
        return f"({text})" if nested else text
    if t.op == "true":
        return t.name
    if t.op == "false":
        return f"not {t.name}"
    if t.op in ("in", "not in"):
        return f"{t.name} {t.op} (" + ", ".join(_value(v) for v in t.values) + ")"
    return f"{t.name} {t.op} {_value(t.values[0])}"


def _conj(tests: tuple) -> str:
    if len(tests) == 1:
        return _attr(tests[0], nested=False) if not isinstance(tests[0], A.AttrAny) else _attr(tests[0], True)
    return "(" + " and ".join(_attr(t, nested=True) for t in tests) + ")"


def _where(tests: tuple) -> str:
    if not tests:
        return ""
    if len(tests) == 1 and not isinstance(tests[0], A.AttrAny):
        return " where " + _attr(tests[0])
    if len(tests) == 1:
        return " where (" + _attr(tests[0]) + ")"
    return " where (" + " and ".join(_attr(t, nested=True) for t in tests) + ")"


def _selectors(refs: tuple[A.Ref, ...], conjunct: bool) -> str:
    if conjunct:
        return "(" + " and ".join(_name(r.name) for r in refs) + ")"
    return _refs(refs)


def _measure(m: A.Measure) -> str:
    if m.denominator:
        return f"ratio({m.name}, {m.denominator})"
    return m.name + (f" by {m.method}" if m.method else "")


def _plain_and(n: Any) -> bool:
    return isinstance(n, A.And) and n.style == "and"


def render_expr(n: Any, parent_prec: int = -1) -> str:
    """Canonical text of an expression, parenthesised only where precedence needs it."""
    prec = _PREC.get(type(n), _ATOM)
    if isinstance(n, A.And):
        if n.style == "all of":
            text = "all of (" + ", ".join(render_expr(i) for i in n.items) + ")"
            prec = _ATOM
        else:
            text = " and ".join(render_expr(i, prec) for i in n.items)
    elif isinstance(n, A.Or):
        if n.style == "any of":
            text = "any of (" + ", ".join(render_expr(i) for i in n.items) + ")"
            prec = _ATOM
        else:
            # an `and` among the operands of an `or` keeps its clarifying brackets: `(a and b) or c`
            text = " or ".join(render_expr(i, _PREC[A.And] if _plain_and(i) else prec) for i in n.items)
    elif isinstance(n, A.Not):
        text = "not " + render_expr(n.item, prec - 1)
    elif isinstance(n, A.AtLeast):
        text = f"at least {n.n} of (" + ", ".join(render_expr(i) for i in n.items) + ")"
    elif isinstance(n, A.IfThenElse):
        text = f"if {render_expr(n.cond)} then {render_expr(n.then)} else {render_expr(n.otherwise)}"
    elif isinstance(n, A.Const):
        text = "true" if n.value else "false"
    elif isinstance(n, A.Judgment):
        text = "judgment"
    elif isinstance(n, A.BoolFact):
        text = n.name + (" " + _window(n.recency) if n.recency else "")
    elif isinstance(n, A.Compare):
        text = f"{_measure(n.measure)} {n.op} {_value(n.value)}"
        if n.recency:
            text += " " + _window(n.recency)
    elif isinstance(n, A.Between):
        low = n.low
        # the shared unit is written once, after the upper bound
        if isinstance(low, A.Quantity) and isinstance(n.high, A.Quantity) and low.unit == n.high.unit:
            low_text = _num(low.number)
        else:
            low_text = _value(low)
        text = f"{_measure(n.measure)} between {low_text} and {_value(n.high)}"
        if not n.inclusive:
            text += " exclusive"
        if n.recency:
            text += " " + _window(n.recency)
    elif isinstance(n, A.ResultQuant):
        text = f"{n.quantifier} {n.measure.name} result {n.op} {_value(n.value)} {_window(n.window)}"
    elif isinstance(n, A.ParticipationPred):
        text = "participation in another study" + (" " + _window(n.window) if n.window else "")
    elif isinstance(n, A.InSet):
        text = f"{_measure(n.measure)} {'not in' if n.negated else 'in'} (" + ", ".join(
            _value(v) for v in n.values) + ")"
        if n.recency:
            text += " " + _window(n.recency)
    elif isinstance(n, A.ConditionPred):
        text = ("history of " if n.history else "condition ") + _refs(n.concepts)
        if n.allergens:
            text += " to " + _refs(n.allergens)
        text += _where(n.where)
        if n.excepted:
            text += " except " + _refs(n.excepted)
        if n.window:
            text += (" diagnosed " if n.diagnosed else " ") + _window(n.window)
    elif isinstance(n, A.TherapyPred) and n.timing == "washout" and n.window is not None:
        text = f"washout from {_selectors(n.selectors, n.conjunct)} of at least {_span(n.window)} before {n.window.anchor}"
    elif isinstance(n, A.TherapyPred):
        text = "therapy " + _selectors(n.selectors, n.conjunct)
        if n.timing == "window" and n.window is not None:
            text += " " + _window(n.window)
        elif n.timing == "ongoing":
            text += " ongoing"
        elif n.timing == "started" and n.started is not None:
            text += f" started at least {_duration(n.started)} before {n.anchor}"
        if n.indication:
            text += (" not" if n.indication_negated else "") + " for condition " + _refs(n.indication)
        text += _where(n.where)
        if n.excepted:
            text += " except " + _refs(n.excepted)
    elif isinstance(n, A.ProcedurePred):
        text = "procedure " + _refs(n.concepts) + _where(n.where)
        if n.excepted:
            text += " except " + _refs(n.excepted)
        if n.window:
            text += " " + _window(n.window)
    elif isinstance(n, A.DosePred) and n.total:
        text = "total dose of " + _refs(n.selectors)
        if n.equivalent:
            text += f" as {n.equivalent}"
        text += f" {_window(n.window)} {n.op} {_value(n.value)}{_where(n.where)}"  # type: ignore[arg-type]
    elif isinstance(n, A.DosePred):
        text = "daily dose of " + _refs(n.selectors)
        if n.equivalent:
            text += f" as {n.equivalent}"
        text += f" {n.op} {_value(n.value)}"
        if n.window:
            text += " " + _window(n.window)
        text += _where(n.where)
    elif isinstance(n, A.StableDosePred):
        text = f"stable dose of {_refs(n.selectors)}{_where(n.where)} for {_duration(n.duration)} before {n.anchor}"
    else:  # pragma: no cover - every node type is handled above
        raise TypeError(f"cannot render {type(n).__name__}")
    # `if` binds loosest; inside any operator it needs parentheses, and so does a looser operator.
    if prec <= parent_prec:
        return f"({text})"
    return text


def _criterion(c: A.Criterion, indent: str) -> str:
    head = f"{indent}- {c.id}"
    if c.text is not None:
        head += " " + _str(c.text)
    if c.drafted:
        head += " draft"
    return f"{head}:\n{indent}    {render_expr(c.expr)}"


def _sections(criteria: tuple[A.Criterion, ...], indent: str) -> list[str]:
    out = []
    kind = None
    for c in criteria:  # each kind forms one section; keep the file's order
        if c.kind != kind:
            kind = c.kind
            out.append(f"{indent}{kind}:")
        out.append(_criterion(c, indent + "  "))
    return out


def render_trial(t: A.TrialAst) -> str:
    """The whole file, canonically formatted."""
    lines: list[str] = []
    if t.id is not None:
        lines.append(f"trial {_str(t.id)}")
    if t.title is not None:
        lines.append(f"title {_str(t.title)}")
    if t.anchors:
        lines.append("anchors " + ", ".join(t.anchors))
    if t.lab_recency is not None:
        lines.append("labs " + _window(t.lab_recency))
    if t.fact_recency is not None:
        lines.append("facts " + _window(t.fact_recency))
    if t.diseases:
        lines.append("disease " + ", ".join(t.diseases))
    if t.defining:
        lines.append("defining " + ", ".join(t.defining))
    if lines:
        lines.append("")
    lines.extend(_sections(t.criteria, ""))
    for co in t.cohorts:
        lines.append("")
        lines.append(f"cohort {co.id}" + (f" {_str(co.title)}" if co.title is not None else "") + ":")
        lines.extend(_sections(co.criteria, "  "))
    return "\n".join(lines) + "\n"
