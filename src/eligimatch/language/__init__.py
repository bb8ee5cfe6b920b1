"""The criteria language: grammar, parser, typed AST, formatter, lint, plan summary.

* :func:`parse` reads criteria text into the typed AST (:mod:`eligimatch.language.ast`), with
  located errors (:class:`~eligimatch.errors.CriteriaSyntaxError`, ``CriteriaLimitError``);
* :func:`format_text` gives a file's canonical form (``eligimatch fmt``), :func:`render_trial` and
  :func:`render_expr` print an AST back as criteria text;
* :func:`lint` reviews a compiled trial for contradictions and dead branches (``eligimatch lint``),
  :func:`coverage` summarises what a compiled trial reads (``eligimatch coverage``);
* :func:`grammar_text` and :func:`grammar_path` give the shipped Lark grammar.

The parser, formatter and lint load Lark on first use: ``import eligimatch`` does not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from eligimatch.language import ast
from eligimatch.language._render import render_expr, render_trial

if TYPE_CHECKING:  # the names below are loaded on first use (they import Lark, or the engine)
    from eligimatch._limits import Limits
    from eligimatch.language._coverage import CriterionCoverage, TrialCoverage, coverage
    from eligimatch.language._fmt import format_text
    from eligimatch.language._lint import CODES as LINT_CODES
    from eligimatch.language._lint import Finding, lint
    from eligimatch.language._parser import grammar_path, grammar_text

__all__ = ["ast", "parse", "format_text", "render_trial", "render_expr", "lint", "Finding", "LINT_CODES",
           "coverage", "TrialCoverage", "CriterionCoverage", "grammar_text", "grammar_path"]

_LAZY = {
    "format_text": ("eligimatch.language._fmt", "format_text"),
    "lint": ("eligimatch.language._lint", "lint"),
    "Finding": ("eligimatch.language._lint", "Finding"),
    "LINT_CODES": ("eligimatch.language._lint", "CODES"),
    "coverage": ("eligimatch.language._coverage", "coverage"),
    "TrialCoverage": ("eligimatch.language._coverage", "TrialCoverage"),
    "CriterionCoverage": ("eligimatch.language._coverage", "CriterionCoverage"),
    "grammar_text": ("eligimatch.language._parser", "grammar_text"),
    "grammar_path": ("eligimatch.language._parser", "grammar_path"),
}


def parse(text: str, *, filename: str = "<criteria>", limits: Limits | None = None) -> ast.TrialAst:
    """Read criteria text into its typed AST (no catalog lookups: :func:`eligimatch.compile_trial` checks it).

    :raises CriteriaSyntaxError: the text does not follow the grammar (line, column, caret, expected).
    :raises CriteriaLimitError: the text is over a size, depth or count limit.

    >>> trial = parse('inclusion:\\n - I1 "Adult": age >= 18 years\\n')
    >>> trial.criteria[0].id, type(trial.criteria[0].expr).__name__
    ('I1', 'Compare')
    """
    from eligimatch._limits import DEFAULT_LIMITS
    from eligimatch.language._parser import parse as parse_tree
    from eligimatch.language._transform import to_ast

    tree = parse_tree(text, filename=filename, limits=limits or DEFAULT_LIMITS)
    return to_ast(tree, text, filename)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
