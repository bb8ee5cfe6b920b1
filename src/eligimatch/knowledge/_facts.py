"""The fact catalog: names of the free facts a profile holds, with their types.

Criteria may name a fact only if the catalog knows it; a misspelt fact is a
compile-time error with a did-you-mean, never a silently UNKNOWN criterion.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from eligimatch.errors import CatalogError
from eligimatch.knowledge._catalog_files import Entry, bundled_catalog_text, read_catalog, validate_entry
from eligimatch.knowledge._names import normalize_name

__all__ = ["FactDef", "FactCatalog"]

_TYPES = ("bool", "number", "duration", "enum")


@dataclass(frozen=True, slots=True)
class FactDef:
    id: str
    name: str
    type: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = False
    values: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    description: str = ""
    ordered: bool = False  # an enum whose values are listed lowest first: `her2_ihc >= 2+` compares by rank
    value_synonyms: tuple[tuple[str, str], ...] = ()  # (recorded spelling, declared value), e.g. reactive -> positive

    def canonical_value(self, recorded: object) -> str | None:
        """The declared value (of ``values``) a recorded value of this enum fact means, or None.

        Matched ignoring case, and spaces, ``_`` and ``-`` between letters or digits ("Positive",
        "POSITIVE" are ``positive``; "Non-Reactive" is "non reactive"; "2+" stays unlike "2"),
        and through the declared ``value_synonyms`` ("reactive" is ``positive``).  Anything else
        -- an undeclared word, true/false, a number -- means nothing: None, never a guess.
        """
        if not isinstance(recorded, str):
            return None
        key = _value_key(recorded)
        if not key:
            return None
        for v in self.values:
            if _value_key(v) == key:
                return v
        for spelling, v in self.value_synonyms:
            if _value_key(spelling) == key:
                return v
        return None

    def allowed_text(self) -> str:
        """The declared values and their synonyms, for a message: ``positive (or reactive), negative``."""
        parts = []
        for v in self.values:
            syn = [s for s, target in self.value_synonyms if target == v]
            parts.append(v + (f" (or {', '.join(syn)})" if syn else ""))
        return ", ".join(parts)


def _norm(name: str) -> str:
    return normalize_name(name)


_JOINERS = re.compile(r"(?<=\w)[\s_\-]+(?=\w)")


def _value_key(value: str) -> str:
    """The matching key of an enum value: case-folded, separators between words dropped, symbols kept."""
    return _JOINERS.sub("", value.casefold().strip())


def _value_synonyms(fid: str, entry: dict) -> tuple[tuple[str, str], ...]:
    """``value_synonyms = { reactive = "positive" }``: each target must be a declared value."""
    raw = entry.get("value_synonyms", {})
    if not isinstance(raw, dict):
        raise CatalogError(f"fact '{fid}': value_synonyms must be a table of spelling = value")
    values = tuple(entry.get("values", ()))
    out = []
    for spelling, target in raw.items():
        if target not in values:
            raise CatalogError(f"fact '{fid}': value synonym {spelling!r} names {target!r}, which is not one of "
                               f"its values ({', '.join(map(str, values))})")
        if any(_value_key(str(spelling)) == _value_key(str(v)) for v in values if v != target):
            raise CatalogError(f"fact '{fid}': value synonym {spelling!r} is also the value of another")
        out.append((str(spelling), str(target)))
    return tuple(out)


class _FactEntry(Entry):
    """One ``[ID]`` table of a fact catalog (catalog/facts.toml, a site catalog's ``[facts.ID]``)."""

    name: str | None = None
    type: str = "bool"  # one of _TYPES: checked by the catalog, which names the types
    unit: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    integer: bool = False
    values: list[str] = []
    ordered: bool = False
    synonyms: list[str] = []
    description: str = ""
    value_synonyms: dict[str, str] = {}


@dataclass(frozen=True)
class FactCatalog:
    """The facts criteria may name (``ecog``, ``pregnant``, ``er``...), with their types, units and values.

    The bundled catalog is ``catalog/facts.toml`` (:meth:`default`); a site adds its own with a site
    catalog file (docs/catalogs.md) or :meth:`extended`.

        >>> FactCatalog.default().resolve("ECOG").type
        'number'
    """

    facts: tuple[FactDef, ...]
    _index: dict[str, FactDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, FactDef] = {}
        for f in self.facts:
            if f.type not in _TYPES:
                raise CatalogError(f"fact '{f.id}': type must be one of {', '.join(_TYPES)}, not {f.type!r}")
            for key in (f.id, *f.synonyms):
                k = _norm(key)
                if k in index and index[k].id != f.id:
                    raise CatalogError(f"fact name '{key}' is used by both '{index[k].id}' and '{f.id}'")
                index[k] = f
        object.__setattr__(self, "_index", index)

    @classmethod
    @functools.cache
    def default(cls) -> FactCatalog:
        return cls.from_toml(bundled_catalog_text("facts"))

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str] | bytes) -> FactCatalog:
        """The catalog of a TOML file or text (:func:`~eligimatch.knowledge._catalog_files.read_catalog`)."""
        data, where = read_catalog(source, "fact")
        facts = []
        for fid, table in data.items():
            entry = validate_entry(_FactEntry, table, f"{where}: fact '{fid}'")
            facts.append(FactDef(
                id=fid, name=entry.name if entry.name is not None else fid, type=entry.type, unit=entry.unit,
                min=entry.min, max=entry.max, integer=entry.integer, values=tuple(entry.values), ordered=entry.ordered,
                synonyms=tuple(entry.synonyms), description=entry.description,
                value_synonyms=_value_synonyms(fid, table),
            ))
        return cls(tuple(facts))

    def extended(self, facts: Iterable[FactDef] | FactCatalog) -> FactCatalog:
        extra = facts.facts if isinstance(facts, FactCatalog) else tuple(facts)
        ids = {f.id for f in extra}
        return FactCatalog(tuple(f for f in self.facts if f.id not in ids) + extra)

    def resolve(self, name: str) -> FactDef | None:
        return self._index.get(_norm(name))

    def suggest(self, name: str, n: int = 3) -> list[str]:
        return difflib.get_close_matches(name, [f.id for f in self.facts], n=n, cutoff=0.6)

    def __iter__(self) -> Iterator[FactDef]:
        return iter(self.facts)

    def __len__(self) -> int:
        return len(self.facts)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.resolve(name) is not None
