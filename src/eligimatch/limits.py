"""Bounds on what a criteria text may hold (see :mod:`eligimatch.parser`).

A module of its own so that ``import eligimatch`` does not import the parser
(and lark) before a trial is compiled.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    """Bounds on what a criteria text may hold.  Each is configurable."""

    max_chars: int = 1_000_000    # characters in the text (a 10 MB file fails before it is read further)
    max_depth: int = 64           # nesting of parentheses, `not`s and sub-expressions
    max_criteria: int = 2_000     # criteria in the file, cohorts included
    max_number_length: int = 40   # characters in one number (a 10,000-digit number is refused)


DEFAULT_LIMITS = Limits()
