"""Named catalog entries: what the concept catalogs and the drug catalog share.

A named entry (a :class:`~eligimatch.knowledge._concepts.Concept`, a
:class:`~eligimatch.knowledge._drugs.Drug` or :class:`~eligimatch.knowledge._drugs.DrugClass`) has a
snake_case id, a display name, synonyms and a description; an entry is found by any of them, compared
after :func:`~eligimatch.knowledge._names.normalize_name`.  This module holds, once:

* :class:`KeyIndex` -- normalised name -> entry id, refusing two entries under one key, with the plural
  and bracket fallbacks of a lookup; :func:`suggest_ids` -- the did-you-mean over such an index;
* :func:`check_named_entry` -- the checks every named entry passes when a catalog is built (id shape,
  duplicate id, name, description, list fields, synonym length), indexing its id, name and synonyms;
* :func:`entry_table` -- the first reading of one ``[[kind]]`` TOML table (a table, known keys, id and
  name, string fields), giving the fields every named entry has;
* :func:`ancestor_closure` -- the reflexive-transitive closure of a parent relation, refusing unknown
  parents and cycles;
* :func:`str_tuple`, :func:`as_tuple` -- list fields, from TOML and on frozen dataclasses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from eligimatch.errors import CatalogError
from eligimatch.knowledge._names import normalize_name

__all__ = [
    "CATALOG_DIR", "MIN_SYNONYM_KEY_LENGTH", "ID_RE", "KeyIndex", "suggest_ids", "check_named_entry",
    "entry_table", "ancestor_closure", "str_tuple", "as_tuple",
]

#: The folder of the shipped catalog files.
CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog"

#: Shortest synonym, in letters and digits: two-letter abbreviations (SS, MS, RA) are ambiguous.
MIN_SYNONYM_KEY_LENGTH = 3
#: The shape of an entry id: snake_case starting with a letter.
ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def _plural_fallbacks(key: str) -> list[str]:
    out = []
    if key.endswith("ies") and len(key) > 4:
        out.append(key[:-3] + "y")
    if key.endswith("s") and len(key) > 3:
        out.append(key[:-1])
    return out


class KeyIndex:
    """Normalised name -> entry id, refusing collisions between entries."""

    __slots__ = ("_map", "_where")

    def __init__(self) -> None:
        self._map: dict[str, str] = {}
        self._where: dict[str, str] = {}

    def add(self, text: str, entry_id: str, what: str, fail: Callable[[str], Exception]) -> None:
        key = normalize_name(text)
        if not key:
            raise fail(f"{what} {text!r} has no letters or digits")
        other = self._map.get(key)
        if other is not None and other != entry_id:
            raise fail(
                f"{what} {text!r} of {entry_id!r} collides with {self._where[key]} of {other!r} "
                f"(both read as {key!r})"
            )
        if other is None:
            self._map[key] = entry_id
            self._where[key] = f"{what} {text!r}"

    def get(self, text: str) -> str | None:
        """The id a name denotes; failing that, a plural of its last word, or the name without brackets."""
        hit = self._get(normalize_name(text))
        if hit is None and _BRACKETED.search(text):
            # "Systemic Sclerosis (SSc)", "cerebrovascular accident [CVA]"
            hit = self._get(normalize_name(_BRACKETED.sub(" ", text)))
        return hit

    def _get(self, key: str) -> str | None:
        if not key:
            return None
        hit = self._map.get(key)
        if hit is None:
            for alt in _plural_fallbacks(key):
                hit = self._map.get(alt)
                if hit is not None:
                    break
        return hit

    def keys(self) -> Iterable[tuple[str, str]]:
        return self._map.items()


def suggest_ids(index: KeyIndex, name: str, n: int, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` entry ids whose id, name or synonym looks like ``name``, best first."""
    if not isinstance(name, str) or n <= 0:
        return []
    key = normalize_name(name)
    if not key:
        return []
    best: dict[str, float] = {}
    for cand, entry_id in index.keys():
        score = difflib.SequenceMatcher(None, key, cand, autojunk=False).ratio()
        if len(key) >= 3 and len(cand) >= 3:
            if cand.startswith(key):
                score = max(score, 0.95)  # a prefix of a name: "ritux" -> rituximab
            elif key in cand or cand in key:
                score = max(score, 0.85)
        if score >= cutoff and score > best.get(entry_id, 0.0):
            best[entry_id] = score
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return [entry_id for entry_id, _ in ranked[:n]]


class NamedEntry(Protocol):
    """What :func:`check_named_entry` reads of an entry."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def synonyms(self) -> tuple[str, ...]: ...
    @property
    def description(self) -> str: ...


def check_named_entry(
    entry: NamedEntry,
    index: KeyIndex,
    list_fields: Iterable[str],
    taken: Callable[[str], bool],
    fail: Callable[[str], CatalogError],
    *,
    duplicate_note: str = "",
) -> None:
    """Check the fields every named entry has and index its id, name and synonyms.

    ``list_fields``: the entry's tuple fields (each must hold non-empty strings); ``taken``: whether an id is already
    in the catalog; ``duplicate_note`` is added to the message of a duplicate id.
    """
    eid = entry.id
    if not isinstance(eid, str) or not ID_RE.match(eid):
        raise fail("id must be snake_case: lowercase letters, digits and single underscores, "
                   "starting with a letter")
    if taken(eid):
        raise fail(f"duplicate id {eid!r}{duplicate_note}")
    if not isinstance(entry.name, str) or not entry.name.strip():
        raise fail("name must be a non-empty string")
    if not isinstance(entry.description, str):
        raise fail("description must be a string")
    for field in list_fields:
        for v in getattr(entry, field):
            if not isinstance(v, str) or not v.strip():
                raise fail(f"{field} must contain non-empty strings, got {v!r}")
    index.add(eid, eid, "id", fail)
    index.add(entry.name, eid, "name", fail)
    for syn in entry.synonyms:
        if len(normalize_name(syn)) < MIN_SYNONYM_KEY_LENGTH:
            raise fail(
                f"synonym {syn!r} is shorter than {MIN_SYNONYM_KEY_LENGTH} letters/digits; "
                "short abbreviations are ambiguous, write the name out"
            )
        index.add(syn, eid, "synonym", fail)


def entry_table(
    kind: str,
    allowed: Collection[str],
    entry: Any,
    position: int,
    fail: Callable[[str], CatalogError],
    string_fields: Iterable[str] = ("description",),
) -> tuple[dict[str, Any], Callable[[str], CatalogError]]:
    """First reading of the ``position``-th ``[[kind]]`` table of a catalog file.

    Checks it is a table with only ``allowed`` keys, a non-empty ``id`` and ``name``, and strings in
    ``string_fields``; returns the fields every named entry has (``id``, ``name``, ``synonyms``,
    ``description``) and the failure function that names this entry.
    """
    label = f"[[{kind}]] #{position}"
    if not isinstance(entry, dict):
        raise fail(f"{label} must be a table")
    if isinstance(entry.get("id"), str):
        label += f" ({entry['id']!r})"

    def efail(message: str) -> CatalogError:
        return fail(f"{label}: {message}")

    unknown = set(entry) - set(allowed)
    if unknown:
        raise efail(f"unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}")
    for required in ("id", "name"):
        if not isinstance(entry.get(required), str) or not entry[required].strip():
            raise efail(f"{required!r} is required and must be a non-empty string")
    for key in string_fields:
        if key in entry and not isinstance(entry[key], str):
            raise efail(f"{key!r} must be a string")
    common = dict(
        id=entry["id"].strip(),
        name=entry["name"].strip(),
        synonyms=str_tuple(entry.get("synonyms", []), "'synonyms'", efail),
        description=entry.get("description", "").strip(),
    )
    return common, efail


def ancestor_closure(
    parents: Mapping[str, tuple[str, ...]], fail: Callable[[str], Exception], noun: str
) -> dict[str, frozenset[str]]:
    """Reflexive-transitive closure of ``parents``; refuses unknown parents and cycles."""
    for child, ps in parents.items():
        for p in ps:
            if p not in parents:
                raise fail(f"{noun} {child!r} names an unknown parent {p!r}")
            if p == child:
                raise fail(f"{noun} {child!r} names itself as a parent")
    closure: dict[str, frozenset[str]] = {}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, path: list[str]) -> frozenset[str]:
        if state.get(node) == 2:
            return closure[node]
        if state.get(node) == 1:
            cycle = path[path.index(node):] + [node]
            raise fail(f"{noun} hierarchy has a cycle: {' -> '.join(cycle)}")
        state[node] = 1
        path.append(node)
        acc = {node}
        for p in parents[node]:
            acc |= visit(p, path)
        path.pop()
        state[node] = 2
        closure[node] = frozenset(acc)
        return closure[node]

    for node in parents:
        visit(node, [])
    return closure


def str_tuple(value: Any, field: str, fail: Callable[[str], Exception]) -> tuple[str, ...]:
    """A TOML list of non-empty strings as a tuple of stripped strings."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise fail(f"{field} must be a list of strings, got {value!r}")
    for v in value:
        if not isinstance(v, str) or not v.strip():
            raise fail(f"{field} must contain non-empty strings, got {v!r}")
    return tuple(v.strip() for v in value)


def as_tuple(obj: Any, name: str) -> None:
    """Coerce a list field of a frozen dataclass to a tuple; refuse a bare string."""
    value = getattr(obj, name)
    if isinstance(value, str):
        raise TypeError(f"{type(obj).__name__}.{name} must be a sequence of str, not a str ({value!r})")
    if not isinstance(value, tuple):
        object.__setattr__(obj, name, tuple(value))
