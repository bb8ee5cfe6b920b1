"""The catalogs a trial is checked and evaluated against, bundled.

``Catalogs.default()`` is what ships with eligimatch; a site adds its own vocabulary without code
with :meth:`Catalogs.load` (site catalog files, TOML: :mod:`eligimatch.knowledge._sitecatalog`, docs/catalogs.md;
``--catalog FILE`` on the command line), or from Python with :meth:`Catalogs.extended` or
``dataclasses.replace(Catalogs.default(), drugs=my_drugs)``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from eligimatch.knowledge._analytes import AnalyteCatalog
from eligimatch.knowledge._attributes import AttributeCatalog
from eligimatch.knowledge._concepts import ConceptCatalog
from eligimatch.knowledge._drugs import DrugCatalog
from eligimatch.knowledge._facts import FactCatalog

__all__ = ["Catalogs"]


@dataclass(frozen=True)
class Catalogs:
    """The vocabularies a trial is compiled and a patient evaluated against: facts, analytes (labs and
    vitals), conditions, procedures, drugs, and the attributes a ``where`` may test (with the values of the
    coded ones).

        >>> cats = Catalogs.load(["examples/catalogs/breast-cancer.toml"])
        >>> cats.facts.resolve("menopausal status").id
        'menopausal_status'
        >>> Catalogs.default().facts.resolve("menopausal status") is None
        True
    """

    facts: FactCatalog
    analytes: AnalyteCatalog
    conditions: ConceptCatalog
    procedures: ConceptCatalog
    drugs: DrugCatalog
    attributes: AttributeCatalog = field(default_factory=AttributeCatalog.default)

    @classmethod
    @functools.cache
    def default(cls) -> Catalogs:
        return cls(
            facts=FactCatalog.default(),
            analytes=AnalyteCatalog.default(),
            conditions=ConceptCatalog.conditions(),
            procedures=ConceptCatalog.procedures(),
            drugs=DrugCatalog.default(),
            attributes=AttributeCatalog.default(),
        )

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike[str]], base: Catalogs | None = None) -> Catalogs:
        """``base`` (default: the bundled catalogs) with each site catalog file added, in order.

        A site catalog (TOML) has sections ``facts``, ``analytes``, ``conditions``, ``procedures``,
        ``drugs`` and ``attributes`` in the shape of the bundled files; an entry replaces the one of the same id, or is
        added.  A mistake raises :class:`~eligimatch.errors.CatalogError` naming the file, the section and
        the entry.  See :mod:`eligimatch.knowledge._sitecatalog` and docs/catalogs.md.
        """
        from eligimatch.knowledge._sitecatalog import load_site_catalogs

        return load_site_catalogs(paths, base)

    def extended(self, **extra: Any) -> Catalogs:
        """A new bundle where each named catalog is extended with the given entries."""
        changes = {name: getattr(self, name).extended(items) for name, items in extra.items()}
        return replace(self, **changes)
