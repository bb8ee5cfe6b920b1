"""The entries of the drug catalog -- :class:`Drug` and :class:`DrugClass` -- and reading them from TOML.

A drug catalog file holds an optional ``[catalog]`` table, ``[[class]]`` tables (``id``, ``name``,
``synonyms``, ``parents``, ``description``) and ``[[drug]]`` tables (``id``, ``name``, ``synonyms``,
``classes``, ``targets``, ``half_life_days``, ``half_life_source``, ``prednisone_equivalent_mg``,
``rxnorm``, ``conditional_classes``, ``description``); :func:`drug_items_from_toml` reads one into entries,
each table checked on its own (the catalog, :class:`~eligimatch.knowledge._drugs.DrugCatalog`, then
checks how they fit together).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from eligimatch.errors import CatalogError
from eligimatch.knowledge._catalog_files import read_catalog
from eligimatch.knowledge._entries import as_tuple, entry_table, str_tuple

__all__ = [
    "Drug", "DrugClass", "PREDNISONE_REFERENCE_MG", "CORTICOSTEROID_CLASS", "INVESTIGATIONAL_CLASS",
    "positive_number", "drug_items_from_toml",
]

#: Equivalences are expressed as "mg of this drug equivalent to 5 mg prednisone".
PREDNISONE_REFERENCE_MG = 5.0
#: Class id a drug must belong to (transitively) to carry a prednisone equivalence.
CORTICOSTEROID_CLASS = "corticosteroid"
#: Class of a product not approved anywhere: a record of it names no drug the catalog knows.
INVESTIGATIONAL_CLASS = "investigational_agent"
@dataclass(frozen=True, slots=True)
class DrugClass:
    """A class of drugs; ``parents`` are ids of broader classes."""

    id: str
    name: str
    synonyms: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        as_tuple(self, "synonyms")
        as_tuple(self, "parents")


@dataclass(frozen=True, slots=True)
class Drug:
    """A drug (ingredient or product).

    ``classes`` are direct class ids; ``targets`` lowercase target names
    (``"cd19"``, ``"bcma"``, ``"bt-001"``); ``half_life_days`` the terminal
    elimination half-life, with ``half_life_source`` naming where it comes
    from; ``prednisone_equivalent_mg`` the dose of this drug equivalent to
    5 mg prednisone (corticosteroids only); ``rxnorm`` RxNorm ingredient CUIs.
    """

    id: str
    name: str
    synonyms: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    half_life_days: float | None = None
    prednisone_equivalent_mg: float | None = None
    rxnorm: tuple[str, ...] = ()
    half_life_source: str = ""
    description: str = ""
    #: ``((class_id, (condition_id, ...)), ...)``: the drug is in ``class_id`` (and its ancestors) only when
    #: given for one of the conditions (condition-catalog concept ids, or their descendants).
    conditional_classes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        for name in ("synonyms", "classes", "targets", "rxnorm"):
            as_tuple(self, name)
        cc = self.conditional_classes
        if isinstance(cc, dict):
            cc = cc.items()
        object.__setattr__(self, "conditional_classes", tuple(
            (k, (v,) if isinstance(v, str) else tuple(v)) for k, v in cc))


_CLASS_FIELDS = {f.name for f in fields(DrugClass)}
_DRUG_FIELDS = {f.name for f in fields(Drug)}


def positive_number(value: Any) -> bool:
    """A finite number above zero (not a bool)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def drug_items_from_toml(path_or_text: "str | os.PathLike[str] | bytes") -> tuple[list[Drug | DrugClass], str]:
    """The entries of a drug catalog file or TOML text, in file order (classes first), and its source label."""
    data, source = read_catalog(path_or_text, "drug")

    def fail(message: str) -> CatalogError:
        return CatalogError(f"{source}: drug catalog: {message}")

    unknown = set(data) - {"catalog", "class", "drug"}
    if unknown:
        raise fail(f"unknown top-level key(s) {sorted(unknown)}; expected [catalog], [[class]] and [[drug]]")
    header = data.get("catalog", {})
    if not isinstance(header, dict):
        raise fail("[catalog] must be a table")
    if header.get("kind", "drug") != "drug":
        raise fail(f"file declares kind {header.get('kind')!r}, expected 'drug'")
    items: list[Drug | DrugClass] = []
    for kind, allowed in (("class", _CLASS_FIELDS), ("drug", _DRUG_FIELDS)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise fail(f"{kind} entries must be written as [[{kind}]] tables")
        for position, entry in enumerate(entries, 1):
            items.append(_item_from_table(kind, allowed, entry, position, fail))
    return items, source


def _item_from_table(
    kind: str, allowed: set[str], entry: Any, position: int, fail: Callable[[str], CatalogError]
) -> Drug | DrugClass:
    common, efail = entry_table(kind, allowed, entry, position, fail, ("description", "half_life_source"))
    if kind == "class":
        return DrugClass(parents=str_tuple(entry.get("parents", []), "'parents'", efail), **common)
    for key in ("half_life_days", "prednisone_equivalent_mg"):
        if key in entry and not positive_number(entry[key]):
            raise efail(f"{key!r} must be a positive number, got {entry[key]!r}")
    rxnorm = entry.get("rxnorm", [])
    if isinstance(rxnorm, list):
        rxnorm = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in rxnorm]
    return Drug(
        classes=str_tuple(entry.get("classes", []), "'classes'", efail),
        targets=str_tuple(entry.get("targets", []), "'targets'", efail),
        half_life_days=float(entry["half_life_days"]) if "half_life_days" in entry else None,
        prednisone_equivalent_mg=(
            float(entry["prednisone_equivalent_mg"]) if "prednisone_equivalent_mg" in entry else None
        ),
        rxnorm=str_tuple(rxnorm, "'rxnorm'", efail),
        conditional_classes=_conditional_from_table(entry.get("conditional_classes", {}), efail),
        half_life_source=entry.get("half_life_source", "").strip(),
        **common,
    )


def _conditional_from_table(value: Any, efail: Callable[[str], CatalogError]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``conditional_classes = { class_id = "condition_id" | ["condition_id", ...] }``."""
    if not isinstance(value, dict):
        raise efail("'conditional_classes' must be a table: class id = condition concept id(s)")
    out = []
    for cid, conditions in value.items():
        label = f"'conditional_classes.{cid}'"
        out.append((cid, str_tuple([conditions] if isinstance(conditions, str) else conditions, label, efail)))
    return tuple(out)
