"""ClinicalTrials.gov records: load any of the three formats and draft criteria from them.

* :func:`load_record` reads API v2 JSON, legacy XML or classic JSON into a
  :class:`RegistryRecord` with the criteria split into numbered, nested items;
"""

from __future__ import annotations

from .load import load_record
from .model import Age, Intervention, Item, RegistryRecord

__all__ = ["Age", "Intervention", "Item", "RegistryRecord", "load_record"]
