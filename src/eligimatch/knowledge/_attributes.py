"""Attribute vocabularies: the declared values of condition attributes such as a cancer's stage.

``catalog/attributes.toml`` declares, for some attributes, the values a criterion may name and how a
recorded value is read: ``"Stage IIB"``, ``"2B"`` and ``"IIB"`` are the one stage ``IIB``.  The
checker refuses a ``where`` test naming an undeclared value (with a did-you-mean); the evaluator
reads the patient's value through the same vocabulary, and a value it cannot place never decides.
Every attribute name a ``where`` may test is declared there too: ``kind = "coded"`` (the default, with
its values), ``"yesno"`` (``symptomatic``), ``"ordered"`` (a graded number: ``grade >= 2``) or
``"text"`` (open values compared as written).  Only coded attributes have a value vocabulary; the
others keep their plain comparison, and a name declared nowhere is a compile error.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eligimatch.errors import CatalogError
from eligimatch.knowledge._catalog_files import Entry, bundled_catalog_text, read_catalog, validate_entry
from eligimatch.knowledge._names import ATTRIBUTE_VALUE_SYMBOLS, normalize_name
from eligimatch.knowledge._staging import normalize_stage, normalize_tnm

__all__ = ["AttributeCatalog", "AttributeDef"]


def _key(text: str) -> str:
    return normalize_name(str(text), ATTRIBUTE_VALUE_SYMBOLS)


_NORMALIZERS: dict[str, Callable[[str], str | None]] = {
    "stage": normalize_stage,
    "t": lambda v: normalize_tnm("t", v),
    "n": lambda v: normalize_tnm("n", v),
    "m": lambda v: normalize_tnm("m", v),
}


@dataclass(frozen=True)
class AttributeDef:
    id: str
    name: str
    values: tuple[str, ...]
    normalizer: str | None = None
    # other declared words of another scale (a stage's extent: locally_advanced, metastatic); a value of
    # one scale compared with the other's is UNKNOWN (stage IIB may or may not be "locally advanced")
    descriptors: tuple[str, ...] = ()
    synonyms: dict[str, str] = field(default_factory=dict)
    _index: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.normalizer is not None and self.normalizer not in _NORMALIZERS:
            raise CatalogError(f"attribute {self.id!r}: unknown normalizer {self.normalizer!r}; "
                               f"expected one of {', '.join(_NORMALIZERS)}")
        index = {_key(v): v for v in self.values + self.descriptors}
        for synonym, value in self.synonyms.items():
            if value not in self.values + self.descriptors:
                raise CatalogError(f"attribute {self.id!r}: synonym {synonym!r} names {value!r}, not a declared value")
            index[_key(synonym)] = value
        object.__setattr__(self, "_index", index)

    def normalize(self, value: Any) -> str | None:
        """The declared value a recorded or written value is, or None."""
        if isinstance(value, bool) or value is None:
            return None
        text = str(value).strip()
        hit = self._index.get(_key(text))
        if hit is not None:
            return hit
        if self.normalizer is not None:
            norm = _NORMALIZERS[self.normalizer](text)
            if norm is not None:
                return self._index.get(_key(norm))
        return None

    def suggest(self, value: str) -> list[str]:
        return difflib.get_close_matches(str(value), list(self.values + self.descriptors), n=3, cutoff=0.5)

    def scale(self, value: str) -> int:
        """0 for a declared value, 1 for a descriptor (values of different scales do not compare)."""
        return 1 if value in self.descriptors else 0


KINDS = ("coded", "yesno", "ordered", "text")


@dataclass(frozen=True)
class AttributeName:
    """A declared attribute name without a value vocabulary (yes/no, ordered or free text)."""

    id: str
    kind: str
    name: str


class _AttributeEntry(Entry):
    """One ``[ID]`` table of catalog/attributes.toml."""

    kind: str = "coded"  # one of KINDS: checked by the catalog, which names them
    name: str | None = None
    values: list[str] = []
    normalizer: str | None = None
    descriptors: list[str] = []
    synonyms: dict[str, str] = {}


@dataclass(frozen=True)
class AttributeCatalog:
    attributes: tuple[AttributeDef, ...] = ()
    others: tuple[AttributeName, ...] = ()
    _by_id: dict[str, AttributeDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.attributes})

    def __hash__(self) -> int:
        # the attributes hold dicts (synonyms), so the generated hash would fail; equal catalogs declare the
        # same names, and Catalogs (which holds this one) stays hashable
        return hash((tuple(a.id for a in self.attributes), self.others))

    def names(self) -> list[str]:
        """Every declared attribute name, coded or not."""
        return [a.id for a in self.attributes] + [o.id for o in self.others]

    def declared(self, name: str) -> bool:
        return name in self._by_id or any(o.id == name for o in self.others)

    def kind(self, name: str) -> str | None:
        if name in self._by_id:
            return "coded"
        return next((o.kind for o in self.others if o.id == name), None)

    @classmethod
    @functools.cache
    def default(cls) -> AttributeCatalog:
        return cls.from_toml(bundled_catalog_text("attributes"))

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str] | bytes) -> AttributeCatalog:
        """The catalog of a TOML file or text (:func:`~eligimatch.knowledge._catalog_files.read_catalog`)."""
        data, where = read_catalog(source, "attribute")
        out = []
        others = []
        for aid, table in data.items():
            entry = validate_entry(_AttributeEntry, table, f"{where}: attribute {aid!r}")
            if entry.kind not in KINDS:
                raise CatalogError(f"attribute {aid!r}: kind {entry.kind!r} is not one of {', '.join(KINDS)}")
            if entry.kind != "coded":
                if not entry.name:
                    raise CatalogError(f"attribute {aid!r} needs a name (a one-line description)")
                others.append(AttributeName(id=aid, kind=entry.kind, name=entry.name))
                continue
            if not entry.values:
                raise CatalogError(f"attribute {aid!r} must be a table with a non-empty list of values")
            out.append(AttributeDef(id=aid, name=entry.name if entry.name is not None else aid,
                                    values=tuple(entry.values), normalizer=entry.normalizer,
                                    descriptors=tuple(entry.descriptors), synonyms=dict(entry.synonyms)))
        return cls(tuple(out), tuple(others))

    def get(self, name: str) -> AttributeDef | None:
        return self._by_id.get(name)

    def extended(self, other: AttributeCatalog) -> AttributeCatalog:
        """This catalog with ``other``'s attributes: one of the same name replaces the declared one whole
        (its kind, values and synonyms: restate what you keep), any other is added.

            >>> site = AttributeCatalog.from_toml('[resectable]\\nkind = "yesno"\\nname = "Resectable"\\n')
            >>> AttributeCatalog.default().extended(site).kind("resectable")
            'yesno'
        """
        names = set(other.names())
        return AttributeCatalog(
            tuple(a for a in self.attributes if a.id not in names) + other.attributes,
            tuple(o for o in self.others if o.id not in names) + other.others)

    def __iter__(self) -> Iterator[AttributeDef]:
        return iter(self.attributes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_id
