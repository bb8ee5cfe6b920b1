"""ClinicalTrials.gov records: load any of the three formats and draft criteria from them.

* :func:`load_record` reads API v2 JSON, legacy XML or classic JSON into a
  :class:`RegistryRecord` with the criteria split into numbered, nested items;
* :func:`draft_trial` drafts a criteria file from it (``eligimatch draft``);
* :func:`extract` reads the constraints of one criterion sentence.

See docs/drafting.md.
"""

from __future__ import annotations

from .draft import Draft, DraftedItem, draft_trial
from .extract import Constraint, extract
from .load import load_record
from .model import Age, Intervention, Item, RegistryRecord

__all__ = ["Age", "Constraint", "Draft", "DraftedItem", "Intervention", "Item", "RegistryRecord", "draft_trial",
           "extract", "load_record"]
