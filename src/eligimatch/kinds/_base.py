"""The registry of the kinds of criterion, and the protocol each kind implements.

A *kind* (threshold, condition, therapy, dose, ...) is one module of :mod:`eligimatch.kinds` that registers a
:class:`Kind`: the plan node types it owns, the AST node types it binds, and its phases:

* ``bind(binder, ast_node) -> plan node``: names resolved through the binder's helpers
  (:class:`eligimatch.plan._bind._Binder`); the only phase that looks names up;
* ``compile_row(compiler, plan_node) -> closure``: the row evaluator (``closure(ctx) -> (truth, causes,
  missing, evidence)``), built from the plan node alone;
* ``render(plan_node) -> str``: one line of the plan's text form;
* ``needs(plan_node) -> tuple[str, ...]``: the data it reads, for coverage reports.

Every dispatch goes through :func:`for_node` / :func:`for_syntax`, which RAISE for a type no kind registered:
a new node type is never silently skipped.  Backends other than the row engine (SQL) keep their own
registries keyed by the plan node types; kind modules hold no SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eligimatch.errors import PlanError
from eligimatch.plan import _nodes as P

__all__ = ["Kind", "register", "for_node", "for_syntax", "kinds", "Fn"]

Fn = Callable[[Any], tuple]  # closure(ctx) -> (Truth, CauseFlag, missing, evidence)


@dataclass(frozen=True)
class Kind:
    """One kind of criterion and its phases (see the module's docstring)."""

    name: str
    nodes: tuple[type, ...]
    compile_row: Callable[[Any, Any], Fn]
    render: Callable[[Any], str]
    needs: Callable[[Any], tuple[str, ...]]
    syntax: tuple[type, ...] = ()
    bind: Callable[[Any, Any], Any] | None = None


_BY_NODE: dict[type, Kind] = {}
_BY_SYNTAX: dict[type, Kind] = {}
_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind.  Its node types become plan nodes (serialisable by :func:`eligimatch.plan.to_dict`)."""
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise PlanError(f"a kind named {kind.name!r} is already registered")
    if kind.syntax and kind.bind is None:
        raise PlanError(f"kind {kind.name!r} names AST types but has no binder")
    for t in kind.nodes:
        other = _BY_NODE.get(t)
        if other is not None and other.name != kind.name:
            raise PlanError(f"plan node {t.__name__} belongs to kind {other.name!r} already")
    for t in kind.syntax:
        other = _BY_SYNTAX.get(t)
        if other is not None and other.name != kind.name:
            raise PlanError(f"AST node {t.__name__} is bound by kind {other.name!r} already")
    _KINDS[kind.name] = kind
    for t in kind.nodes:
        _BY_NODE[t] = kind
        P.NODE_TYPES.setdefault(t.__name__, t)
    for t in kind.syntax:
        _BY_SYNTAX[t] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind (tests that add a toy kind take it away again)."""
    kind = _KINDS.pop(name)
    for t in kind.nodes:
        _BY_NODE.pop(t, None)
        if P.NODE_TYPES.get(t.__name__) is t:
            del P.NODE_TYPES[t.__name__]
    for t in kind.syntax:
        _BY_SYNTAX.pop(t, None)


def for_node(node: Any) -> Kind:
    """The kind of a plan node; :class:`~eligimatch.errors.PlanError` for a type no kind registered."""
    kind = _BY_NODE.get(type(node))
    if kind is None:
        raise PlanError(f"no kind of criterion handles plan node {type(node).__name__}")
    return kind


def for_syntax(node: Any) -> Kind:
    """The kind that binds an AST node; :class:`~eligimatch.errors.PlanError` for a type no kind binds."""
    kind = _BY_SYNTAX.get(type(node))
    if kind is None:
        raise PlanError(f"no kind of criterion binds AST node {type(node).__name__}")
    return kind


def kinds() -> tuple[Kind, ...]:
    return tuple(_KINDS.values())


def syntax_types() -> tuple[type, ...]:
    return tuple(_BY_SYNTAX)
