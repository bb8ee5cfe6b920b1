"""A plan as plain data (JSON-able dicts, lists, strings, numbers) and back; and as readable text.

``to_dict(node)`` writes every node as ``{"node": "<TypeName>", <field>: <value>, ...}`` with tuples as
lists; the catalog entry objects the row engine keeps on reference records are left out.
``from_dict(data, catalogs)`` reads it back, equal to the original, and attaches those entries again
from ``catalogs`` (default: the bundled ones).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from eligimatch.errors import PlanError
from eligimatch.plan import _nodes as P

__all__ = ["to_dict", "from_dict", "format_plan", "format_expr"]

FORMAT = "eligimatch.plan/1"


def _fields(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def to_dict(node: Any) -> Any:
    """A plan (or any plan node) as plain JSON-able data."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        name = type(node).__name__
        if P.NODE_TYPES.get(name) is not type(node):
            raise PlanError(f"{name} is not a plan node")
        out: dict[str, Any] = {"node": name}
        if isinstance(node, P.Plan):
            out["format"] = FORMAT
        for f in _fields(type(node)):
            if f.metadata.get("entry"):
                continue
            out[f.name] = to_dict(getattr(node, f.name))
        return out
    if isinstance(node, tuple):
        return [to_dict(x) for x in node]
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    raise PlanError(f"a plan holds plain values only, not {type(node).__name__}")


def from_dict(data: Any, catalogs: Any = None) -> Any:
    """The plan (or node) ``data`` describes, with the catalog entries of ``catalogs`` attached."""
    if catalogs is None:
        from eligimatch.knowledge._catalogs import Catalogs

        catalogs = Catalogs.default()
    return _read(data, catalogs)


def _read(data: Any, cats: Any) -> Any:
    if isinstance(data, list):
        return tuple(_read(x, cats) for x in data)
    if not isinstance(data, dict):
        return data
    name = data.get("node")
    cls = P.NODE_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise PlanError(f"unknown plan node {name!r}")
    if cls is P.Plan and data.get("format", FORMAT) != FORMAT:
        raise PlanError(f"plan format {data.get('format')!r}; this eligimatch reads {FORMAT!r}")
    kwargs: dict[str, Any] = {}
    for f in _fields(cls):
        if f.metadata.get("entry"):
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise PlanError(f"{name}: missing field {f.name!r}")
            continue
        kwargs[f.name] = _read(data[f.name], cats)
    unknown = set(data) - {f.name for f in _fields(cls)} - {"node", "format"}
    if unknown:
        raise PlanError(f"{name}: unknown field(s) {', '.join(sorted(unknown))}")
    node = cls(**kwargs)
    entry_field = next((f.name for f in _fields(cls) if f.metadata.get("entry")), None)
    if entry_field is not None:
        entry = _entry_of(node, cats)
        if entry is None:
            raise PlanError(f"{name} {getattr(node, 'id', getattr(node, 'name', ''))!r} is not in the catalogs")
        object.__setattr__(node, entry_field, entry)
    return node


def _entry_of(node: Any, cats: Any) -> Any:
    if isinstance(node, P.AnalyteRef):
        return cats.analytes.resolve(node.id)
    if isinstance(node, P.FactRef):
        return cats.facts.resolve(node.id)
    if isinstance(node, P.ConceptRef):
        return (cats.conditions if node.domain == "condition" else cats.procedures).get(node.id)
    if isinstance(node, P.DrugRef):
        return cats.drugs.get(node.id) or cats.drugs.resolve(node.id)
    if isinstance(node, P.CodedTest):
        vocabulary = cats.attributes.get(node.name)
        # every value the test names must be one of the vocabulary's (a site's value the catalogs lack is not
        # silently kept: no recorded value could ever be read as it)
        if vocabulary is not None and any(vocabulary.normalize(v) != v for v in node.values):
            return None
        return vocabulary
    return None


# ---- text -----------------------------------------------------------------------------------------------

def _num(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def _window(w: P.Window | None) -> str:
    if w is None:
        return ""
    parts = [f"{_num(d.amount)} {d.unit}" for d in w.durations]
    span = parts[0] if len(parts) == 1 else f"max({', '.join(parts)})"
    return f"within {span} before {w.anchor}"


def _ref(r: Any) -> str:
    if isinstance(r, P.AnalyteRef):
        return f"analyte {r.id} [{r.unit}]"
    if isinstance(r, P.FactRef):
        return f"fact {r.id} ({r.type}{', ' + r.unit if r.unit else ''})"
    if isinstance(r, P.ConceptRef):
        return f"{r.domain} {r.id} (+{len(r.covers) - 1} below, {len(r.codes)} codes)"
    if isinstance(r, P.DrugRef):
        return f"{r.kind} {r.id}" + (f" ({len(r.drugs)} drugs)" if r.kind != "drug" else "")
    return str(r)


def _measure(m: Any) -> str:
    if isinstance(m, P.AgeMeasure):
        return f"age in {'exact' if m.exact else 'completed'} {m.unit}s"
    if isinstance(m, P.SexMeasure):
        return "sex"
    if isinstance(m, P.FactMeasure):
        return _ref(m.fact)
    if isinstance(m, P.AnalyteMeasure):
        return f"latest {_ref(m.analyte)}"
    if isinstance(m, P.FormulaMeasure):
        return f"{m.analyte.id} by {m.method} [{m.analyte.unit}]"
    if isinstance(m, P.RatioMeasure):
        return f"ratio {m.numerator.id} / {m.denominator.id}"
    return str(m)


def _tests(tests: tuple[Any, ...]) -> str:
    def one(t: Any) -> str:
        if isinstance(t, P.YesNoTest):
            return t.name if t.expected else f"not {t.name}"
        if isinstance(t, P.CodedTest):
            return f"{t.name} {'not in' if t.negated else 'in'} ({', '.join(t.values)})"
        if isinstance(t, P.ValueTest):
            return f"{t.name} {t.op} ({', '.join(_num(v.raw) if isinstance(v.raw, float) else v.raw for v in t.values)})"
        return "(" + " or ".join(" and ".join(one(x) for x in o) for o in t.options) + ")"
    return " where " + " and ".join(one(t) for t in tests) if tests else ""


def _names(refs: tuple[Any, ...]) -> str:
    return ", ".join(r.id for r in refs)


def _timing(t: Any) -> str:
    if isinstance(t, (P.Present, P.Ever, P.TherapyEver, P.TherapyOngoing)):
        return {"Present": "present now", "Ever": "ever", "TherapyEver": "ever",
                "TherapyOngoing": "ongoing"}[type(t).__name__]
    if isinstance(t, (P.Within, P.TherapyWithin)):
        return _window(t.window)
    if isinstance(t, P.DiagnosedWithin):
        return f"diagnosed {_window(t.window)}" + (" and present now" if t.still_present else "")
    if isinstance(t, P.TherapyStarted):
        return f"started at least {_num(t.duration.amount)} {t.duration.unit} before {t.anchor}"
    if isinstance(t, P.WashoutComplete):
        return f"washout complete: {_window(t.window)}"
    return str(t)


def _leaf(n: Any) -> str:
    from eligimatch.kinds import for_node  # the kinds render their own nodes

    return for_node(n).render(n)


def format_expr(expr: Any, indent: str = "") -> str:
    """An expression of a plan as indented lines, one node a line."""
    lines: list[str] = []
    stack: list[tuple[Any, str, str]] = [(expr, indent, "")]
    while stack:
        n, pad, label = stack.pop()
        if isinstance(n, (P.And, P.Or, P.AtLeast)):
            head = {"And": "all of", "Or": "any of"}.get(type(n).__name__, f"at least {getattr(n, 'n', 0)} of")
            lines.append(f"{pad}{label}{head}")
            stack.extend((i, pad + "  ", "") for i in reversed(n.items))
        elif isinstance(n, P.Not):
            lines.append(f"{pad}{label}not")
            stack.append((n.item, pad + "  ", ""))
        elif isinstance(n, P.IfThenElse):
            lines.append(f"{pad}{label}if")
            stack.extend([(n.otherwise, pad + "  ", "else: "), (n.then, pad + "  ", "then: "),
                          (n.cond, pad + "  ", "when: ")])
        else:
            lines.append(f"{pad}{label}{_leaf(n)}")
    return "\n".join(lines)


def format_plan(plan: P.Plan) -> str:
    """A plan as readable text: the trial's settings, then each criterion and its resolved expression."""
    out = [f"plan {plan.trial_id or '(no id)'}" + (f": {plan.title}" if plan.title else "")]
    if plan.anchors:
        out.append(f"  anchors: {', '.join(plan.anchors)}")
    if plan.lab_recency is not None:
        out.append(f"  labs {_window(plan.lab_recency)}")
    if plan.fact_recency is not None:
        out.append(f"  facts {_window(plan.fact_recency)}")
    if plan.diseases:
        out.append(f"  disease: {_names(plan.diseases)}" + (f"; defining {', '.join(plan.defining)}"
                                                             if plan.defining else ""))
    for r in plan.reference_ranges:
        out.append(f"  default reference range of {r.analyte}: {_num(r.low)} to {_num(r.high)} {r.unit}")

    def crit(c: P.Criterion, pad: str) -> None:
        out.append(f"{pad}{c.kind} {c.id}" + (f" {c.text!r}" if c.text else "") + f" (line {c.line})"
                   + (" [draft]" if c.drafted else ""))
        out.append(format_expr(c.expr, pad + "  "))

    for c in plan.criteria:
        crit(c, "")
    for co in plan.cohorts:
        out.append(f"cohort {co.id}" + (f" {co.title!r}" if co.title else ""))
        for c in co.criteria:
            crit(c, "  ")
    return "\n".join(out)
