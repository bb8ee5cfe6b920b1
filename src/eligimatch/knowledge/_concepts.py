"""A generic catalog of clinical concepts (conditions, procedures) with a hierarchy.

A :class:`ConceptCatalog` holds :class:`Concept` entries, each with an id
(``snake_case``), a display name, synonyms, parent ids and codes.  It answers
three questions:

* :meth:`ConceptCatalog.resolve` -- which concept does a name, synonym or code
  written in a criteria text or a patient record denote?
* :meth:`ConceptCatalog.is_a` -- is one concept a kind of another (transitive,
  reflexive)?
* :meth:`ConceptCatalog.suggest` -- which ids look like a misspelt name?

Two catalogs ship with eligimatch (``catalog/conditions.toml`` and
``catalog/procedures.toml``); :meth:`ConceptCatalog.extended` and
:meth:`ConceptCatalog.from_toml` let a user add their own.  The file format and
its rules are described in ``docs/catalogs.md``.

Name matching
=============

Names are compared after :func:`normalize_name`: accents removed
(``Sjögren`` = ``Sjogren``), case folded, a possessive ``'s`` dropped
(``Sjögren's syndrome`` = ``Sjogren syndrome``), and every character that is
not a letter or digit removed (spaces, ``_``, ``-``, apostrophes, brackets).
So an id ``systemic_lupus_erythematosus``, the name ``Systemic lupus
erythematosus`` and ``systemic-lupus  erythematosus`` are the same key.  If a
key is not found, a plural of its last word is tried once (``autoimmune
diseases`` -> ``autoimmune disease``).  Synonyms must be at least three
characters long once normalised: two-letter abbreviations (``SS``, ``MS``,
``RA``) are ambiguous and are refused.

Codes
=====

Codes are written ``SYSTEM:CODE`` with ``SYSTEM`` one of ``ICD10CM``,
``SNOMED`` or ``CPT``.  An ICD-10-CM code may also be a range of categories,
``ICD10CM:C00-C96``.  A patient's ICD-10-CM code resolves to the concept
holding the *longest catalog code that is a prefix of it* (``M32.14`` finds
``M32.14`` if present, else ``M32.1``, else ``M32``), and failing that to the
*narrowest range* containing its category.  SNOMED CT and CPT codes match
exactly.  A bare code without a system is recognised by its shape (letter +
digits: ICD-10-CM; five characters of digits: CPT; six or more digits:
SNOMED CT).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from eligimatch.errors import CatalogError
from eligimatch.knowledge._catalog_files import read_catalog
from eligimatch.knowledge._concept_codes import CODE_SYSTEMS, CodeIndex
from eligimatch.knowledge._entries import (
    CATALOG_DIR,
    KeyIndex,
    ancestor_closure,
    as_tuple,
    check_named_entry,
    entry_table,
    str_tuple,
    suggest_ids,
)
from eligimatch.knowledge._names import normalize_name

__all__ = ["Concept", "ConceptCatalog", "normalize_name", "CODE_SYSTEMS"]

# The name index, the did-you-mean and the hierarchy closure are shared with the drug catalog
# (eligimatch.knowledge._entries); the codes live in eligimatch.knowledge._concept_codes.


# --------------------------------------------------------------------------- concepts


@dataclass(frozen=True, slots=True)
class Concept:
    """One condition or procedure.

    ``parents`` are ids of broader concepts; ``codes`` are ``SYSTEM:CODE``
    strings (``ICD10CM:M32.14``, ``ICD10CM:C00-C96``, ``SNOMED:55464009``,
    ``CPT:90935``).  A code listed here means "this concept, or something
    narrower that the catalog has no more specific entry for".
    """

    id: str
    name: str
    synonyms: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("synonyms", "parents", "codes"):
            as_tuple(self, name)


_CONCEPT_FIELDS = {f.name for f in fields(Concept)}


def _breadth(code: str) -> tuple[int, int]:
    """How much an ICD-10-CM catalog code covers, for ordering: a range by its span of categories, then a
    code by how short it is (``I60-I69`` is broader than ``I67``, which is broader than ``I67.7``)."""
    value = code.split(":", 1)[1]
    if "-" in value:
        lo, hi = value.split("-")
        span = (ord(hi[0]) - ord(lo[0])) * 100 + int(hi[1:3], 36) - int(lo[1:3], 36)
        return (1, span)
    return (0, -len(value.replace(".", "")))


class ConceptCatalog:
    """An immutable, validated set of :class:`Concept` entries with a hierarchy.

    Build it with :meth:`from_toml`, :meth:`conditions`, :meth:`procedures`, or
    directly ``ConceptCatalog(concepts, kind="condition")``.  Invalid content
    (duplicate ids, unknown parents, cycles, colliding names, malformed codes)
    raises :class:`~eligimatch.errors.CatalogError` naming the entry.
    """

    __slots__ = (
        "_kind",
        "_source",
        "_concepts",
        "_index",
        "_codes",
        "_ancestors",
        "_descendants",
    )

    def __init__(self, concepts: Iterable[Concept], *, kind: str = "concept", source: str = "<concepts>"):
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError("kind must be a non-empty string such as 'condition' or 'procedure'")
        self._kind = kind.strip()
        self._source = source
        self._concepts: dict[str, Concept] = {}
        self._index = KeyIndex()
        self._codes = CodeIndex()
        for position, concept in enumerate(concepts, 1):
            self._add(concept, position)
        self._codes.check_ranges(self._fail)
        parents = {cid: c.parents for cid, c in self._concepts.items()}
        self._ancestors = ancestor_closure(parents, self._fail, self._kind)
        descendants: dict[str, set[str]] = {cid: set() for cid in self._concepts}
        for cid, anc in self._ancestors.items():
            for a in anc:
                descendants[a].add(cid)
        self._descendants = {cid: frozenset(ds) for cid, ds in descendants.items()}
        self._check_code_hierarchy()

    # ----------------------------------------------------------------- building

    def _check_code_hierarchy(self) -> None:
        """Refuse a concept with an ICD-10-CM code inside another concept's code unless that concept is among
        its ancestors.  Every record coded inside ``D50-D64`` is ``anemia`` by the catalog's own codes; were
        autoimmune haemolytic anaemia (``D59.1``) not below ``anemia``, a record coded ``D59.1`` would only
        *overlap* anemia (UNKNOWN) while the same record blurred to its parent code ``D59`` would *be* anemia
        (TRUE): less information, a firmer answer.  With the parents agreeing with the codes, a code and its
        parent code never disagree (the long soundness run found the seed: docs/reliability.md)."""
        missing = [c for c in self._codes.containments() if c[0] not in self._ancestors[c[2]]]
        if missing:  # the narrowest code first: its concept is the one to add (it may lie below the others)
            outer, outer_code, inner, inner_code = min(missing, key=lambda c: (c[2], _breadth(c[1])))
            raise self._fail(
                f"entry {inner!r}: its code {inner_code} lies inside {outer_code}, a code of {outer!r}, "
                f"but {outer!r} is not among its ancestors: add {outer!r} (or a concept below it) to its "
                f"parents, or give it a code outside {outer_code}")

    def _fail(self, message: str) -> CatalogError:
        return CatalogError(f"{self._source}: {self._kind} catalog: {message}")

    def _add(self, concept: Concept, position: int) -> None:
        if not isinstance(concept, Concept):
            raise self._fail(f"entry #{position} is not a Concept: {concept!r}")
        cid = concept.id
        label = f"entry #{position} ({cid!r})" if isinstance(cid, str) else f"entry #{position}"

        def fail(message: str) -> CatalogError:
            return self._fail(f"{label}: {message}")

        check_named_entry(concept, self._index, ("synonyms", "parents", "codes"), self._concepts.__contains__,
                          fail)
        for code in concept.codes:
            self._codes.add(cid, code, fail)
        self._concepts[cid] = concept

    # ----------------------------------------------------------------- loading

    @classmethod
    def from_toml(cls, path_or_text: "str | os.PathLike[str] | bytes", *, kind: str) -> "ConceptCatalog":
        """Load a catalog from a TOML file path or TOML text.

        The file holds an optional ``[catalog]`` table (``kind``, ``version``,
        ``description``) and an array of ``[[concept]]`` tables with keys
        ``id``, ``name``, ``synonyms``, ``parents``, ``codes``,
        ``description``.  ``kind`` (``"condition"``, ``"procedure"``) is used
        in messages and must match ``[catalog].kind`` when that is given.
        """
        data, source = read_catalog(path_or_text, kind)

        def fail(message: str) -> CatalogError:
            return CatalogError(f"{source}: {kind} catalog: {message}")

        unknown = set(data) - {"catalog", "concept"}
        if unknown:
            raise fail(f"unknown top-level key(s) {sorted(unknown)}; expected [catalog] and [[concept]]")
        header = data.get("catalog", {})
        if not isinstance(header, dict):
            raise fail("[catalog] must be a table")
        declared = header.get("kind")
        if declared is not None and declared != kind:
            raise fail(f"file declares kind {declared!r} but was loaded as {kind!r}")
        entries = data.get("concept", [])
        if not isinstance(entries, list):
            raise fail("concepts must be written as [[concept]] tables")
        concepts = []
        for position, entry in enumerate(entries, 1):
            concepts.append(_concept_from_table(entry, position, fail))
        return cls(concepts, kind=kind, source=source)

    @classmethod
    def conditions(cls) -> "ConceptCatalog":
        """The shipped conditions catalog (loaded once, then shared: it is immutable)."""
        return _shipped_concepts("condition")

    @classmethod
    def procedures(cls) -> "ConceptCatalog":
        """The shipped procedures catalog (loaded once, then shared)."""
        return _shipped_concepts("procedure")

    def extended(
        self, concepts: "Iterable[Concept] | ConceptCatalog", *, replace: bool = False
    ) -> "ConceptCatalog":
        """A new catalog with ``concepts`` added; this one is unchanged.

        A new concept whose id already exists raises CatalogError, unless
        ``replace=True``, in which case it replaces the existing entry (keep
        the old synonyms and codes yourself if you still want them).
        """
        merged = dict(self._concepts)
        seen: set[str] = set()
        for concept in concepts:
            if not isinstance(concept, Concept):
                raise self._fail(f"cannot extend with {concept!r}: not a Concept")
            if concept.id in seen:
                raise self._fail(f"duplicate id {concept.id!r} among the added concepts")
            seen.add(concept.id)
            if concept.id in merged and not replace:
                raise self._fail(
                    f"id {concept.id!r} already exists; pass replace=True to replace the existing entry"
                )
            merged[concept.id] = concept
        source = self._source if self._source.endswith("(extended)") else f"{self._source} (extended)"
        return type(self)(merged.values(), kind=self._kind, source=source)

    # ----------------------------------------------------------------- queries

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def source(self) -> str:
        return self._source

    def resolve(self, name_or_code: str) -> Concept | None:
        """The concept a name, synonym, id or code denotes, or None.

        Names are matched after :func:`normalize_name`.  Codes:
        ``"ICD10CM:M32.14"``, ``"M32.14"``, ``"SNOMED:55464009"``,
        ``"55464009"``, ``"CPT:90935"`` (system names are case-insensitive and
        ``ICD-10-CM``, ``ICD10``, ``SNOMED CT``, ``SCTID`` are accepted).
        """
        if not isinstance(name_or_code, str):
            raise TypeError(f"expected a name or code string, got {name_or_code!r}")
        text = name_or_code.strip()
        if not text:
            return None
        hit = self._index.get(text)
        if hit is not None:
            return self._concepts[hit]
        cid = self._codes.resolve(text)
        return self._concepts[cid] if cid is not None else None

    def get(self, concept_id: str) -> Concept | None:
        """The concept with this exact id, or None."""
        return self._concepts.get(concept_id) if isinstance(concept_id, str) else None

    def __getitem__(self, concept_id: str) -> Concept:
        try:
            return self._concepts[concept_id]
        except (KeyError, TypeError):
            raise self._unknown(concept_id) from None

    def _unknown(self, concept_id: Any) -> KeyError:
        hint = ""
        if isinstance(concept_id, str):
            sugg = self.suggest(concept_id)
            if sugg:
                hint = f"; did you mean {', '.join(sugg)}?"
        return KeyError(f"unknown {self._kind} id {concept_id!r}{hint}")

    def is_a(self, concept_id: str, ancestor_id: str) -> bool:
        """True if ``concept_id`` is ``ancestor_id`` or (transitively) below it.

        Both must be ids of this catalog (resolve names first); an unknown id
        raises KeyError.
        """
        if ancestor_id not in self._concepts:
            raise self._unknown(ancestor_id)
        return ancestor_id in self.ancestors(concept_id)

    def overlaps(self, concept_id: str, other_id: str) -> bool:
        """True if the two concepts share a descendant (either counts as its own descendant).

        In a polyhierarchy a record can be the wanted thing without being its descendant: one is an ancestor
        of the other ("leukemia" and B-ALL), or some concept lies under both ("gastrointestinal disease" and
        "autoimmune disease" share inflammatory bowel disease and coeliac disease; ``anemia`` (D50-D64) and
        ``autoimmune_disease`` share autoimmune haemolytic anaemia, D59.1, so a record coded D59 may be an
        autoimmune disease).  The code system's hierarchy is in the parents: a concept whose code lies inside
        another's has it as an ancestor (checked at load).  KeyError for an unknown id.
        """
        self.descendants(concept_id), self.descendants(other_id)  # KeyError for an unknown id
        return not self._descendants[concept_id].isdisjoint(self._descendants[other_id])

    def kind_of(self, record_id: str, wanted_id: str) -> bool | None:
        """Three-valued "is a record of ``record_id`` a ``wanted_id``?": True when it is the wanted concept or
        below it; None when the two overlap (:meth:`overlaps`: the record may be it); False otherwise."""
        if self.is_a(record_id, wanted_id):
            return True
        return None if self.overlaps(record_id, wanted_id) else False

    def ancestors(self, concept_id: str) -> frozenset[str]:
        """Ids of the concept and all its ancestors.  KeyError for an unknown id."""
        try:
            return self._ancestors[concept_id]
        except (KeyError, TypeError):
            raise self._unknown(concept_id) from None

    def descendants(self, concept_id: str) -> frozenset[str]:
        """Ids of the concept and everything (transitively) below it."""
        try:
            return self._descendants[concept_id]
        except (KeyError, TypeError):
            raise self._unknown(concept_id) from None

    def children(self, concept_id: str) -> tuple[str, ...]:
        """Ids of the concepts that name ``concept_id`` as a direct parent."""
        self.ancestors(concept_id)  # raises for an unknown id
        return tuple(cid for cid, c in self._concepts.items() if concept_id in c.parents)

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Up to ``n`` ids whose id, name or synonym looks like ``name``, best first."""
        return suggest_ids(self._index, name, n)

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    def __len__(self) -> int:
        return len(self._concepts)

    def __contains__(self, concept_id: object) -> bool:
        return isinstance(concept_id, str) and concept_id in self._concepts

    def __repr__(self) -> str:
        return f"<ConceptCatalog kind={self._kind!r} concepts={len(self)} source={self._source!r}>"


def _concept_from_table(entry: Any, position: int, fail: Callable[[str], CatalogError]) -> Concept:
    common, efail = entry_table("concept", _CONCEPT_FIELDS, entry, position, fail)
    return Concept(
        parents=str_tuple(entry.get("parents", []), "'parents'", efail),
        codes=str_tuple(entry.get("codes", []), "'codes'", efail),
        **common,
    )


@functools.lru_cache(maxsize=None)
def _shipped_concepts(kind: str) -> ConceptCatalog:
    filename = {"condition": "conditions.toml", "procedure": "procedures.toml"}[kind]
    return ConceptCatalog.from_toml(CATALOG_DIR / filename, kind=kind)
