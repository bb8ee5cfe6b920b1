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

    max_chars: int = 1_000_000
    max_depth: int = 64
    max_criteria: int = 2_000


DEFAULT_LIMITS = Limits()
