"""The catalogs a trial is checked and evaluated against, bundled.

``Catalogs.default()`` is what ships with eligimatch; a site extends any part
with ``dataclasses.replace(Catalogs.default(), drugs=my_drugs)`` or
:meth:`Catalogs.extended`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

from .analytes import AnalyteCatalog
from .concepts import ConceptCatalog
from .drugs import DrugCatalog
from .facts import FactCatalog

__all__ = ["Catalogs"]


@dataclass(frozen=True)
class Catalogs:
    facts: FactCatalog
    analytes: AnalyteCatalog
    conditions: ConceptCatalog
    procedures: ConceptCatalog
    drugs: DrugCatalog

    @classmethod
    @functools.cache
    def default(cls) -> Catalogs:
        return cls(
            facts=FactCatalog.default(),
            analytes=AnalyteCatalog.default(),
            conditions=ConceptCatalog.conditions(),
            procedures=ConceptCatalog.procedures(),
            drugs=DrugCatalog.default(),
        )

    def extended(self, **extra: Any) -> Catalogs:
        """A new bundle where each named catalog is extended with the given entries."""
        changes = {name: getattr(self, name).extended(items) for name, items in extra.items()}
        return replace(self, **changes)
