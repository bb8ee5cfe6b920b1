"""ClinicalTrials.gov records: load any of the three formats and draft criteria from them.

* :func:`load_record` reads API v2 JSON, legacy XML or classic JSON into a
  :class:`RegistryRecord` with the criteria split into numbered, nested items;
* :func:`draft_trial` drafts a criteria file from it (``eligimatch draft``);
* :func:`extract` reads the constraints of one criterion sentence.

See docs/drafting.md.
"""

from __future__ import annotations

from eligimatch.ctgov.draft import Draft, DraftedItem, draft_trial
from eligimatch.ctgov.extract import Constraint, extract
from eligimatch.ctgov.load import load_record
from eligimatch.ctgov.model import Age, Intervention, Item, RegistryRecord

__all__ = ["Age", "Constraint", "Draft", "DraftedItem", "Intervention", "Item", "RegistryRecord", "draft_trial",
           "extract", "load_record"]
