"""Conditions in SQL: ``condition X [except Y] [where …]`` with every timing (present now, ever, within,
diagnosed within), as :func:`eligimatch.engine._history.eval_condition` decides them.

Not expressed yet: :func:`condition` raises :class:`~eligimatch.errors.SqlNotExpressibleError`, so a trial
that uses one compiles with that criterion reported as not expressible on the SQL backend, never with an
answer that could differ from the row engine's.
"""

from __future__ import annotations

from typing import Any

from eligimatch.sql._context import Ctx, not_expressible

__all__ = ["condition"]

_WHY = "conditions are not expressed in SQL yet (issue 16); evaluate this criterion with the row engine"


def condition(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)
