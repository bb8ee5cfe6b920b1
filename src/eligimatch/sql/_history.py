"""The history kinds (conditions, procedures, therapies, doses, stable doses, study participation) in SQL.

Not expressed yet: each raises :class:`~eligimatch.errors.SqlNotExpressibleError`, so a trial that uses
one compiles with that criterion reported as not expressible on the SQL backend (and no verdict column),
never with an answer that could differ from the row engine's.  The canonical tables already hold what
they need (``conditions``/``procedures`` with ``concept_id`` and partial dates, ``record_attributes``,
``therapies`` with doses and ``therapy_classes``, ``studies``, the completeness flags of ``patients``);
the hierarchy closures and drug expansions are in the plan's reference records (``ConceptRef.covers``,
``DrugRef.drugs``/``classes``).  Kept in its own module so that the history kinds can be built apart.
"""

from __future__ import annotations

from typing import Any

from eligimatch.sql._context import Ctx, not_expressible

__all__ = ["condition", "procedure", "therapy", "dose", "stable_dose", "participation"]

_WHY = "the history kinds are not expressed in SQL yet (issue 16); evaluate this criterion with the row engine"


def condition(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)


def procedure(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)


def therapy(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)


def dose(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)


def stable_dose(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)


def participation(ctx: Ctx, n: Any) -> str:
    raise not_expressible(n, _WHY)
