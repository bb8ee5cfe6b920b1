"""Drugs, drug classes and targets, and the questions eligibility criteria ask about them.

A :class:`DrugCatalog` holds :class:`DrugClass` entries (a hierarchy:
``cytotoxic_chemotherapy`` is an ``anticancer_therapy``) and :class:`Drug`
entries (each in one or more classes, with molecular targets, a terminal
half-life and, for corticosteroids, a prednisone equivalence).

Selectors
=========

A criterion names a *selector*: a drug id (``rituximab``), a class id
(``monoclonal_antibody``) or a target (``target:cd19``, ``cd19_targeted``,
``cd19_targeted_therapy``, ``anti-cd19``).  :meth:`DrugCatalog.matches` decides
whether a patient's medication record (a drug name and/or class names)
matches it:

* a record naming a catalog drug matches the drug's id, every class it belongs
  to (transitively), and every target it has;
* a record naming only a class matches that class and its ancestors -- a
  record "monoclonal antibody" matches ``biologic`` (monoclonal_antibody is a
  child of biologic) but not ``rituximab`` nor ``anticancer_therapy``;
* :meth:`DrugCatalog.match_status` gives the three-valued answer: ``None``
  when a class-only record *could* match (a record "monoclonal antibody"
  against ``rituximab`` or ``target:cd20``); ``matches`` is ``match_status is
  True``.

Routes (systemic, inhaled, topical ...) and indications (prophylaxis,
lymphodepletion) are properties of the patient's record, not of the drug: the
catalog has a ``corticosteroid`` class, not a ``systemic_corticosteroid`` one.

Indication-dependent classes
============================

Some drugs are in a class only when given for a given condition: methotrexate
is ``cytotoxic_chemotherapy`` when given for a malignancy, not when given for
rheumatoid arthritis (in an oncology protocol "prior chemotherapy" means
anticancer treatment).  A drug declares these in ``conditional_classes``
(``{ cytotoxic_chemotherapy = "malignancy" }``: class id -> condition concept
id(s) of the condition catalog).  :meth:`DrugCatalog.match_status` answers
None (undecided) for such a membership; :meth:`DrugCatalog.conditions_for`
names the conditions that would make it TRUE, and the engine decides it from
the record's indication (TRUE under one of them, FALSE when the recorded
indication is under none, UNKNOWN when no indication is recorded).

Names are matched as in :mod:`eligimatch.knowledge._concepts` (accents, case, spaces,
hyphens, apostrophes ignored); RxNorm ingredient codes are accepted as
``RXNORM:121191`` or a bare ``121191``.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

from eligimatch.errors import CatalogError
from eligimatch.knowledge._drug_entries import (
    CORTICOSTEROID_CLASS,
    INVESTIGATIONAL_CLASS,
    PREDNISONE_REFERENCE_MG,
    Drug,
    DrugClass,
    drug_items_from_toml,
    positive_number,
)
from eligimatch.knowledge._drug_selectors import RXCUI_RE, TARGET_PREFIX, TARGET_RE, rxcui, target_of
from eligimatch.knowledge._entries import (
    CATALOG_DIR,
    ID_RE,
    KeyIndex,
    ancestor_closure,
    check_named_entry,
    suggest_ids,
)
from eligimatch.knowledge._names import normalize_name

__all__ = [
    "Drug", "DrugClass", "DrugCatalog", "PREDNISONE_REFERENCE_MG", "CORTICOSTEROID_CLASS", "TARGET_PREFIX",
    "INVESTIGATIONAL_CLASS",
]

# The entries and their TOML form live in eligimatch.knowledge._drug_entries, the RxNorm-code and
# target-selector syntax in eligimatch.knowledge._drug_selectors, the name index shared with the concept
# catalogs in eligimatch.knowledge._entries.


class DrugCatalog:
    """An immutable, validated catalog of drug classes and drugs.

    Build it with :meth:`default`, :meth:`from_toml` or
    ``DrugCatalog([DrugClass(...), Drug(...), ...])``.  Invalid content raises
    :class:`~eligimatch.errors.CatalogError` naming the entry.
    """

    __slots__ = (
        "_source",
        "_classes",
        "_drugs",
        "_index",
        "_rxnorm",
        "_class_ancestors",
        "_drug_facts",
        "_conditional",
        "_targets",
        "_target_classes",
    )

    def __init__(self, items: Iterable[Drug | DrugClass], *, source: str = "<drugs>"):
        self._source = source
        self._classes: dict[str, DrugClass] = {}
        self._drugs: dict[str, Drug] = {}
        self._index = KeyIndex()
        self._rxnorm: dict[str, str] = {}
        self._targets: dict[str, str] = {}  # normalised key -> canonical spelling
        pending: list[tuple[int, Drug]] = []
        for position, item in enumerate(items, 1):
            if isinstance(item, DrugClass):
                self._add_class(item, position)
            elif isinstance(item, Drug):
                self._check_entry(item, position, "drug")
                pending.append((position, item))
                self._drugs[item.id] = item
            else:
                raise self._fail(f"entry #{position} is neither a Drug nor a DrugClass: {item!r}")
        for cls in self._classes.values():
            for p in cls.parents:
                if p in self._drugs:
                    raise self._fail(f"class {cls.id!r} names the drug {p!r} as a parent; parents must be classes")
        self._class_ancestors = ancestor_closure(
            {cid: c.parents for cid, c in self._classes.items()}, self._fail, "drug class"
        )
        self._drug_facts: dict[str, frozenset[str]] = {}
        # drug id -> {fact (class id) the drug has only for some indications -> those condition ids}
        self._conditional: dict[str, dict[str, frozenset[str]]] = {}
        for position, drug in pending:
            self._finish_drug(drug, position)
        self._target_classes = {
            canonical: DrugClass(
                id=TARGET_PREFIX + canonical,
                name=f"{canonical.upper()}-targeted therapy",
                description=f"Synthetic class: every drug whose targets include {canonical!r}.",
            )
            for canonical in self._targets.values()
        }

    # ----------------------------------------------------------------- building

    def _fail(self, message: str) -> CatalogError:
        return CatalogError(f"{self._source}: drug catalog: {message}")

    def _entry_fail(self, position: int, kind: str, entry_id: Any) -> Callable[[str], CatalogError]:
        label = f"{kind} #{position}" + (f" ({entry_id!r})" if isinstance(entry_id, str) else "")
        return lambda message: self._fail(f"{label}: {message}")

    def _check_entry(self, item: Drug | DrugClass, position: int, kind: str) -> None:
        fail = self._entry_fail(position, kind, item.id)
        list_fields = ("synonyms", "parents") if kind == "class" else ("synonyms", "classes", "targets", "rxnorm")
        check_named_entry(item, self._index, list_fields, self.__contains__, fail,
                          duplicate_note=" (drug and class ids share one namespace)")

    def _add_class(self, cls: DrugClass, position: int) -> None:
        self._check_entry(cls, position, "class")
        self._classes[cls.id] = cls

    def _finish_drug(self, drug: Drug, position: int) -> None:
        fail = self._entry_fail(position, "drug", drug.id)
        facts: set[str] = {drug.id}
        for cid in drug.classes:
            if cid not in self._classes:
                what = "a drug, not a class" if cid in self._drugs else "unknown"
                hint = self._suggest_classes(cid)
                raise fail(f"class {cid!r} is {what}{hint}")
            facts |= self._class_ancestors[cid]
        for target in drug.targets:
            if not TARGET_RE.match(target):
                raise fail(f"target {target!r} must be lowercase letters/digits, words joined by '-' (e.g. 'cd19', 'bt-001')")
            key = normalize_name(target)
            known = self._targets.setdefault(key, target)
            if known != target:
                raise fail(f"target {target!r} is spelt {known!r} elsewhere in the catalog; use one spelling")
            facts.add(TARGET_PREFIX + target)
        hl = drug.half_life_days
        if hl is not None:
            if not positive_number(hl):
                raise fail(f"half_life_days must be a positive number of days, got {hl!r}")
            if not isinstance(drug.half_life_source, str) or not drug.half_life_source.strip():
                raise fail("half_life_days needs a half_life_source (label section, publication)")
        pe = drug.prednisone_equivalent_mg
        if pe is not None:
            if not positive_number(pe):
                raise fail(f"prednisone_equivalent_mg must be a positive number of mg, got {pe!r}")
            if CORTICOSTEROID_CLASS not in facts:
                raise fail(f"prednisone_equivalent_mg is only meaningful for drugs in class {CORTICOSTEROID_CLASS!r}")
        for cui in drug.rxnorm:
            if not RXCUI_RE.match(cui):
                raise fail(f"rxnorm {cui!r} must be an RxNorm concept id (digits only)")
            other = self._rxnorm.get(cui)
            if other is not None:
                raise fail(f"rxnorm {cui!r} is also held by {other!r}")
            self._rxnorm[cui] = drug.id
        self._drug_facts[drug.id] = frozenset(facts)
        conditional: dict[str, set[str]] = {}
        for cid, conditions in drug.conditional_classes:
            if not isinstance(cid, str) or cid not in self._classes:
                what = "a drug, not a class" if cid in self._drugs else "unknown"
                hint = self._suggest_classes(cid) if isinstance(cid, str) else ""
                raise fail(f"conditional class {cid!r} is {what}{hint}")
            if cid in facts:
                raise fail(f"conditional class {cid!r} is also one of the drug's classes (unconditionally)")
            if not conditions or not all(isinstance(c, str) and ID_RE.match(c) for c in conditions):
                raise fail(f"conditional class {cid!r} must name condition concept ids (snake_case), "
                           f"got {list(conditions)!r}")
            for fact in self._class_ancestors[cid] - facts:
                conditional.setdefault(fact, set()).update(conditions)
        if conditional:
            self._conditional[drug.id] = {k: frozenset(v) for k, v in conditional.items()}

    def _suggest_classes(self, name: str) -> str:
        sugg = [s for s in self.suggest(name, 6) if s in self._classes][:3]
        return f"; did you mean {', '.join(sugg)}?" if sugg else ""

    # ----------------------------------------------------------------- loading

    @classmethod
    def default(cls) -> "DrugCatalog":
        """The shipped drug catalog (loaded once, then shared: it is immutable)."""
        return _shipped_drugs()

    @classmethod
    def from_toml(cls, path_or_text: "str | os.PathLike[str] | bytes") -> "DrugCatalog":
        """Load a catalog from a TOML file path or TOML text.

        The file holds an optional ``[catalog]`` table, ``[[class]]`` tables
        (``id``, ``name``, ``synonyms``, ``parents``, ``description``) and
        ``[[drug]]`` tables (``id``, ``name``, ``synonyms``, ``classes``,
        ``targets``, ``half_life_days``, ``half_life_source``,
        ``prednisone_equivalent_mg``, ``rxnorm``, ``description``).
        """
        items, source = drug_items_from_toml(path_or_text)
        return cls(items, source=source)

    def extended(self, items: "Iterable[Drug | DrugClass] | DrugCatalog", *, replace: bool = False) -> "DrugCatalog":
        """A new catalog with ``items`` added; this one is unchanged.

        An item whose id already exists raises CatalogError unless
        ``replace=True`` (then it replaces the existing entry, which must be of
        the same kind).
        """
        if isinstance(items, DrugCatalog):
            items = [*items.classes, *items.drugs]
        merged: dict[str, Drug | DrugClass] = {**self._classes, **self._drugs}
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, (Drug, DrugClass)):
                raise self._fail(f"cannot extend with {item!r}: not a Drug or DrugClass")
            if item.id in seen:
                raise self._fail(f"duplicate id {item.id!r} among the added items")
            seen.add(item.id)
            old = merged.get(item.id)
            if old is not None:
                if not replace:
                    raise self._fail(f"id {item.id!r} already exists; pass replace=True to replace it")
                if type(old) is not type(item):
                    raise self._fail(f"cannot replace {type(old).__name__} {item.id!r} with a {type(item).__name__}")
            merged[item.id] = item
        ordered = [v for v in merged.values() if isinstance(v, DrugClass)] + [
            v for v in merged.values() if isinstance(v, Drug)
        ]
        source = self._source if self._source.endswith("(extended)") else f"{self._source} (extended)"
        return DrugCatalog(ordered, source=source)

    # ----------------------------------------------------------------- lookups

    @property
    def source(self) -> str:
        return self._source

    @property
    def drugs(self) -> tuple[Drug, ...]:
        return tuple(self._drugs.values())

    @property
    def classes(self) -> tuple[DrugClass, ...]:
        return tuple(self._classes.values())

    @property
    def targets(self) -> tuple[str, ...]:
        """Every target some drug of the catalog has, as spelt in the catalog."""
        return tuple(sorted(self._targets.values()))

    def get(self, entry_id: str) -> Drug | DrugClass | None:
        """The drug or class with this exact id, or None."""
        if not isinstance(entry_id, str):
            return None
        return self._drugs.get(entry_id) or self._classes.get(entry_id)

    def __contains__(self, entry_id: object) -> bool:
        return isinstance(entry_id, str) and (entry_id in self._drugs or entry_id in self._classes)

    def __len__(self) -> int:
        return len(self._drugs) + len(self._classes)

    def __repr__(self) -> str:
        return f"<DrugCatalog drugs={len(self._drugs)} classes={len(self._classes)} source={self._source!r}>"

    def resolve(self, name_or_code: str) -> Drug | DrugClass | None:
        """The drug or class a name, synonym, id, RxNorm code or target selector denotes.

        Target selectors (``"target:cd19"``, ``"cd19_targeted"``,
        ``"CD19-targeted therapy"``, ``"anti-CD19"``) give a synthetic
        :class:`DrugClass` with id ``"target:<target>"``; only targets that
        some catalog drug has are recognised.  Returns None when nothing
        matches.
        """
        if not isinstance(name_or_code, str):
            raise TypeError(f"expected a drug name or code string, got {name_or_code!r}")
        text = name_or_code.strip()
        if not text:
            return None
        hit = self._index.get(text)
        if hit is not None:
            return self._drugs.get(hit) or self._classes[hit]
        cui = rxcui(text)
        if cui is not None:
            drug_id = self._rxnorm.get(cui)
            return self._drugs[drug_id] if drug_id is not None else None
        target = target_of(text, self._targets)
        if target is not None:
            return self._target_classes[target]
        return None

    def _unknown(self, name: Any, what: str) -> KeyError:
        hint = ""
        if isinstance(name, str):
            sugg = self.suggest(name)
            if sugg:
                hint = f"; did you mean {', '.join(sugg)}?"
        return KeyError(f"unknown {what} {name!r}{hint}")

    def _facts_of_entry(self, entry: Drug | DrugClass) -> frozenset[str]:
        if isinstance(entry, Drug):
            return self._drug_facts[entry.id]
        if entry.id.startswith(TARGET_PREFIX):
            return frozenset({entry.id})
        return self._class_ancestors[entry.id]

    def classes_of(self, drug_id: str) -> frozenset[str]:
        """Every class of a drug (transitively) plus ``"target:<t>"`` for each target.

        ``drug_id`` may also be any name, synonym or RxNorm code that resolves
        to a drug.  For a class id the class and its ancestors are returned.
        KeyError if nothing resolves.
        """
        entry = self.get(drug_id) if isinstance(drug_id, str) else None
        if entry is None and isinstance(drug_id, str):
            entry = self.resolve(drug_id)
        if entry is None:
            raise self._unknown(drug_id, "drug")
        facts = self._facts_of_entry(entry)
        return facts - {entry.id} if isinstance(entry, Drug) else facts

    def class_ancestors(self, class_id: str) -> frozenset[str]:
        """A class id and all its ancestor class ids.  KeyError if unknown."""
        try:
            return self._class_ancestors[class_id]
        except (KeyError, TypeError):
            raise self._unknown(class_id, "drug class") from None

    def is_a(self, entry_id: str, class_id: str) -> bool:
        """True if drug or class ``entry_id`` belongs (transitively) to class or target ``class_id``."""
        selector = self._selector(class_id)
        return selector.id in self._facts_of_entry(self._selector(entry_id))

    def _selector(self, selector_id: str) -> Drug | DrugClass:
        entry = self.get(selector_id) if isinstance(selector_id, str) else None
        if entry is None and isinstance(selector_id, str):
            entry = self.resolve(selector_id)
        if entry is None:
            raise self._unknown(selector_id, "drug, drug class or target selector")
        return entry

    # ----------------------------------------------------------------- matching

    def match_status(
        self, record_drug: str | None, record_classes: Iterable[str], selector_id: str
    ) -> bool | None:
        """Three-valued version of :meth:`matches`.

        True: the record certainly matches; False: it certainly does not;
        None: the record names no catalog drug and some catalog drug that
        fits everything the record says would match (e.g. a record
        "corticosteroid" against selector ``prednisone``), or it names
        nothing the catalog knows.  Raises KeyError for an unknown selector.

        A record whose drug the catalog does not know -- a drug name that
        resolves to nothing, or an investigational agent that names no catalog
        drug -- is never False: what the catalog does not know about it (its
        other classes, its targets) could make it one.  The classes the record
        lists can prove that it *is* the selector, never that it is not
        (``{"drug": "XYZ-123", "investigational": true}`` against
        ``monoclonal_antibody`` is None).
        """
        selector = self._selector(selector_id)
        if isinstance(record_classes, str):
            record_classes = [record_classes]
        named_drug: Drug | None = None
        facts: set[str] = set()
        record_class_ids: list[str] = []
        unknown_drug = False  # the record names a drug the catalog does not know
        names = ([record_drug] if record_drug is not None else []) + list(record_classes)
        for position, name in enumerate(names):
            if not isinstance(name, str):
                raise TypeError(f"record drug and classes must be strings, got {name!r}")
            entry = self.resolve(name)
            if entry is None:
                if position == 0 and record_drug is not None:
                    unknown_drug = True
                continue
            facts |= self._facts_of_entry(entry)
            if isinstance(entry, Drug):
                named_drug = named_drug or entry
            else:
                record_class_ids.append(entry.id)
        if selector.id in facts:
            return True
        if named_drug is not None:
            # in the selector class only for some indications: the caller decides it (conditions_for)
            return None if selector.id in self._conditional.get(named_drug.id, {}) else False
        if unknown_drug or INVESTIGATIONAL_CLASS in record_class_ids:
            return None  # a drug the catalog does not know: its own classes cannot rule the others out
        if not facts:
            return None  # nothing in the record is known to the catalog
        # Only classes named: could a catalog drug that has all of them match?
        for drug_id, drug_facts in self._drug_facts.items():
            if facts <= drug_facts and (selector.id in drug_facts
                                        or selector.id in self._conditional.get(drug_id, {})):
                return None
        # ... or is a named class broader than the selector class, or do they share a subclass (N5)?
        if isinstance(selector, DrugClass) and selector.id in self._class_ancestors:
            broader = self._class_ancestors[selector.id]
            if any(cid in broader for cid in record_class_ids):
                return None
            if record_class_ids and any(selector.id in anc and all(r in anc for r in record_class_ids)
                                        for anc in self._class_ancestors.values()):
                return None
        return False

    def conditions_for(self, drug_id: str, selector_id: str) -> frozenset[str]:
        """The condition concept ids for which drug ``drug_id`` is a ``selector_id`` (its
        ``conditional_classes``); empty when the membership does not depend on the indication (it always
        or never holds).  Raises KeyError for an unknown selector or drug."""
        drug = self._selector(drug_id)
        selector = self._selector(selector_id)
        if not isinstance(drug, Drug) or selector.id in self._drug_facts[drug.id]:
            return frozenset()
        return self._conditional.get(drug.id, {}).get(selector.id, frozenset())

    def matches(self, record_drug: str | None, record_classes: Iterable[str], selector_id: str) -> bool:
        """Does a medication record (a drug name and/or class names) match a selector?

        ``selector_id`` is a drug id, a class id or a target selector (any
        name :meth:`resolve` understands).  Only a certain match counts; see
        :meth:`match_status` for the undecided case.  Raises KeyError for an
        unknown selector.
        """
        return self.match_status(record_drug, record_classes, selector_id) is True

    # ----------------------------------------------------------------- doses

    def prednisone_equivalent(self, drug_id: str, dose_mg: float) -> float | None:
        """``dose_mg`` of a corticosteroid expressed as mg of prednisone.

        ``methylprednisolone`` 16 mg -> 20.0; ``dexamethasone`` 10.5 mg ->
        70.0.  None when the drug is unknown, is not a corticosteroid, or has
        no equivalence in the catalog (inhaled-only steroids, fludrocortisone).
        """
        if isinstance(dose_mg, bool) or not isinstance(dose_mg, (int, float)) or not math.isfinite(dose_mg) or dose_mg < 0:
            raise ValueError(f"dose_mg must be a finite, non-negative number of mg, got {dose_mg!r}")
        entry = self.get(drug_id) if isinstance(drug_id, str) else None
        if entry is None and isinstance(drug_id, str):
            entry = self.resolve(drug_id)
        if not isinstance(entry, Drug) or entry.prednisone_equivalent_mg is None:
            return None
        return float(dose_mg) * PREDNISONE_REFERENCE_MG / entry.prednisone_equivalent_mg

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Up to ``n`` drug or class ids whose id, name or synonym looks like ``name``."""
        return suggest_ids(self._index, name, n)


@functools.lru_cache(maxsize=None)
def _shipped_drugs() -> DrugCatalog:
    return DrugCatalog.from_toml(CATALOG_DIR / "drugs.toml")
