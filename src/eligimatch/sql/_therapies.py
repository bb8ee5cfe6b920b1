"""Therapies, doses and stable doses in SQL: ``therapy X …`` with every timing (ever, within, ongoing,
started, washout complete with half-lives), ``dose of X …`` in the catalog's equivalents summed per day,
``stable dose of X …``, as :mod:`eligimatch.engine._history` and :mod:`eligimatch.engine._doses` decide them.

Not expressed yet: each function raises :class:`~eligimatch.errors.SqlNotExpressibleError`, so a trial that
uses one compiles with that criterion reported as not expressible on the SQL backend, never with an answer
that could differ from the row engine's.
"""

from __future__ import annotations

from typing import Any

from eligimatch.sql._context import Ctx, not_expressible

__all__ = ["dose", "stable_dose", "therapy"]

_WHY = "therapies and doses are not expressed in SQL yet (issue 16); evaluate this criterion with the row engine"


def therapy(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)


def dose(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)


def stable_dose(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)
