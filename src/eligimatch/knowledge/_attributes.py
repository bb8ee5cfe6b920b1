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
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from eligimatch.errors import CatalogError
from eligimatch.knowledge._staging import normalize_stage, normalize_tnm

__all__ = ["AttributeCatalog", "AttributeDef"]


def _key(text: str) -> str:
    return "".join(ch for ch in str(text).casefold() if ch.isalnum() or ch == "+")


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


@dataclass(frozen=True)
class AttributeCatalog:
    attributes: tuple[AttributeDef, ...] = ()
    others: tuple[AttributeName, ...] = ()
    _by_id: dict[str, AttributeDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.attributes})

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
        text = resources.files("eligimatch").joinpath("catalog", "attributes.toml").read_text(encoding="utf-8")
        return cls.from_toml(text)

    @classmethod
    def from_toml(cls, source: str | Path) -> AttributeCatalog:
        text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"attribute catalog is not valid TOML: {exc}") from None
        out = []
        others = []
        for aid, entry in data.items():
            kind = entry.get("kind", "coded") if isinstance(entry, dict) else "coded"
            if kind not in KINDS:
                raise CatalogError(f"attribute {aid!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
            if kind != "coded":
                if not entry.get("name"):
                    raise CatalogError(f"attribute {aid!r} needs a name (a one-line description)")
                others.append(AttributeName(id=aid, kind=kind, name=str(entry["name"])))
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("values"), list) or not entry["values"]:
                raise CatalogError(f"attribute {aid!r} must be a table with a non-empty list of values")
            synonyms = entry.get("synonyms", {})
            if not isinstance(synonyms, dict):
                raise CatalogError(f"attribute {aid!r}: synonyms must be a table of synonym = value")
            out.append(AttributeDef(id=aid, name=str(entry.get("name", aid)),
                                    values=tuple(str(v) for v in entry["values"]),
                                    normalizer=entry.get("normalizer"),
                                    descriptors=tuple(str(v) for v in entry.get("descriptors", ())),
                                    synonyms={str(k): str(v) for k, v in synonyms.items()}))
        return cls(tuple(out), tuple(others))

    def get(self, name: str) -> AttributeDef | None:
        return self._by_id.get(name)

    def __iter__(self) -> Iterator[AttributeDef]:
        return iter(self.attributes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_id
