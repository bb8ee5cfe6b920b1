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

import difflib
import functools
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from eligimatch.errors import CatalogError

__all__ = ["Concept", "ConceptCatalog", "normalize_name", "CODE_SYSTEMS"]

#: Code systems a concept code may use, as written in catalogs.
CODE_SYSTEMS = ("ICD10CM", "SNOMED", "CPT")

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog"

# --------------------------------------------------------------------------- names

_POSSESSIVE = re.compile(r"['\u2019\u02bc`\u00b4]s(?![^\W_])")  # "Bowen's_disease" too: '_' ends a word here


def normalize_name(text: str) -> str:
    """The key under which a name is compared (see the module docstring)."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = _POSSESSIVE.sub("", t.casefold())
    return "".join(c for c in t if c.isalnum())


def _plural_fallbacks(key: str) -> list[str]:
    out = []
    if key.endswith("ies") and len(key) > 4:
        out.append(key[:-3] + "y")
    if key.endswith("s") and len(key) > 3:
        out.append(key[:-1])
    return out


_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")

MIN_SYNONYM_KEY_LENGTH = 3
_ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


class _KeyIndex:
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


def _suggest(index: _KeyIndex, name: str, n: int, cutoff: float = 0.6) -> list[str]:
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


# --------------------------------------------------------------------------- codes

_SYSTEM_ALIASES = {
    "ICD10CM": "ICD10CM",
    "ICD10": "ICD10CM",
    "SNOMED": "SNOMED",
    "SNOMEDCT": "SNOMED",
    "SCT": "SNOMED",
    "SCTID": "SNOMED",
    "CPT": "CPT",
    "CPT4": "CPT",
}
_ICD_CODE_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
_ICD_RANGE_RE = re.compile(r"^([A-Z][0-9][0-9A-Z])-([A-Z][0-9][0-9A-Z])$")
_ICD_LOOKUP_RE = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
_SNOMED_RE = re.compile(r"^[1-9][0-9]{5,17}$")
_CPT_RE = re.compile(r"^[0-9]{4}[0-9FTU]$")


def _split_code(text: str) -> tuple[str | None, str]:
    """``"icd-10-cm: m32.14"`` -> ``("ICD10CM", "M32.14")``; unknown system -> (None, code)."""
    system, _, code = text.partition(":")
    sys_key = re.sub(r"[^A-Z0-9]", "", system.upper())
    return _SYSTEM_ALIASES.get(sys_key), code.strip().upper()


def _guess_system(code: str) -> str | None:
    """The code system a bare code belongs to, judged by its shape."""
    c = code.strip().upper()
    if _ICD_CODE_RE.match(c) or _ICD_LOOKUP_RE.match(c):
        return "ICD10CM"
    if _CPT_RE.match(c):
        return "CPT"
    if _SNOMED_RE.match(c):
        return "SNOMED"
    return None


# --------------------------------------------------------------------------- hierarchy


def _ancestor_closure(
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


# --------------------------------------------------------------------------- TOML


def _read_toml(path_or_text: Any, what: str) -> tuple[dict[str, Any], str]:
    """Parse TOML from a path (str/PathLike) or TOML text; returns (data, source label).

    A ``str`` is taken as TOML text when it contains a newline, ``=`` or
    starts with ``[``; otherwise as a file path.
    """
    if isinstance(path_or_text, bytes):
        path_or_text = path_or_text.decode("utf-8")
    if isinstance(path_or_text, os.PathLike) or (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and "=" not in path_or_text
        and not path_or_text.lstrip().startswith("[")
    ):
        path = Path(path_or_text)
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CatalogError(f"{what} catalog file not found: {source}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"cannot read {what} catalog {source}: {exc}") from None
    elif isinstance(path_or_text, str):
        text, source = path_or_text, "<text>"
    else:
        raise TypeError(f"expected a path or TOML text, got {type(path_or_text).__name__}")
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: {what} catalog is not valid TOML: {exc}") from None


def _str_tuple(value: Any, field: str, fail: Callable[[str], Exception]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise fail(f"{field} must be a list of strings, got {value!r}")
    for v in value:
        if not isinstance(v, str) or not v.strip():
            raise fail(f"{field} must contain non-empty strings, got {v!r}")
    return tuple(v.strip() for v in value)


def _as_tuple(obj: Any, name: str) -> None:
    """Coerce a list field of a frozen dataclass to a tuple; refuse a bare string."""
    value = getattr(obj, name)
    if isinstance(value, str):
        raise TypeError(f"{type(obj).__name__}.{name} must be a sequence of str, not a str ({value!r})")
    if not isinstance(value, tuple):
        object.__setattr__(obj, name, tuple(value))


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
            _as_tuple(self, name)


_CONCEPT_FIELDS = {f.name for f in fields(Concept)}


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
        "_icd",
        "_icd_ranges",
        "_exact_codes",
        "_ancestors",
        "_descendants",
    )

    def __init__(self, concepts: Iterable[Concept], *, kind: str = "concept", source: str = "<concepts>"):
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError("kind must be a non-empty string such as 'condition' or 'procedure'")
        self._kind = kind.strip()
        self._source = source
        self._concepts: dict[str, Concept] = {}
        self._index = _KeyIndex()
        self._icd: dict[str, str] = {}
        self._icd_ranges: list[tuple[str, str, str]] = []
        self._exact_codes: dict[tuple[str, str], str] = {}
        for position, concept in enumerate(concepts, 1):
            self._add(concept, position)
        self._check_ranges()
        parents = {cid: c.parents for cid, c in self._concepts.items()}
        self._ancestors = _ancestor_closure(parents, self._fail, self._kind)
        descendants: dict[str, set[str]] = {cid: set() for cid in self._concepts}
        for cid, anc in self._ancestors.items():
            for a in anc:
                descendants[a].add(cid)
        self._descendants = {cid: frozenset(ds) for cid, ds in descendants.items()}

    # ----------------------------------------------------------------- building

    def _fail(self, message: str) -> CatalogError:
        return CatalogError(f"{self._source}: {self._kind} catalog: {message}")

    def _add(self, concept: Concept, position: int) -> None:
        if not isinstance(concept, Concept):
            raise self._fail(f"entry #{position} is not a Concept: {concept!r}")
        cid = concept.id
        label = f"entry #{position} ({cid!r})" if isinstance(cid, str) else f"entry #{position}"

        def fail(message: str) -> CatalogError:
            return self._fail(f"{label}: {message}")

        if not isinstance(cid, str) or not _ID_RE.match(cid):
            raise fail("id must be snake_case: lowercase letters, digits and single underscores, "
                       "starting with a letter")
        if cid in self._concepts:
            raise fail(f"duplicate id {cid!r}")
        if not isinstance(concept.name, str) or not concept.name.strip():
            raise fail("name must be a non-empty string")
        if not isinstance(concept.description, str):
            raise fail("description must be a string")
        for field in ("synonyms", "parents", "codes"):
            for v in getattr(concept, field):
                if not isinstance(v, str) or not v.strip():
                    raise fail(f"{field} must contain non-empty strings, got {v!r}")
        self._index.add(cid, cid, "id", fail)
        self._index.add(concept.name, cid, "name", fail)
        for syn in concept.synonyms:
            if len(normalize_name(syn)) < MIN_SYNONYM_KEY_LENGTH:
                raise fail(
                    f"synonym {syn!r} is shorter than {MIN_SYNONYM_KEY_LENGTH} letters/digits; "
                    "short abbreviations are ambiguous, write the name out"
                )
            self._index.add(syn, cid, "synonym", fail)
        for code in concept.codes:
            self._add_code(cid, code, fail)
        self._concepts[cid] = concept

    def _add_code(self, cid: str, code: str, fail: Callable[[str], CatalogError]) -> None:
        system, _, value = code.partition(":")
        if system not in CODE_SYSTEMS or not value:
            raise fail(f"code {code!r} must be written SYSTEM:CODE with SYSTEM one of {', '.join(CODE_SYSTEMS)}")
        if system == "ICD10CM":
            rng = _ICD_RANGE_RE.match(value)
            if rng:
                lo, hi = rng.groups()
                if lo > hi:
                    raise fail(f"code range {code!r} is empty ({lo} sorts after {hi})")
                for other_lo, other_hi, other in self._icd_ranges:
                    if (other_lo, other_hi) == (lo, hi):
                        raise fail(f"code range {code!r} is also held by {other!r}")
                self._icd_ranges.append((lo, hi, cid))
                return
            if not _ICD_CODE_RE.match(value):
                raise fail(f"code {code!r} is not an ICD-10-CM code (e.g. M32, M32.14) or range (e.g. C00-C96)")
            key = value.replace(".", "")
            holder = self._icd.get(key)
            if holder is not None:
                raise fail(f"code {code!r} is also held by {holder!r}")
            self._icd[key] = cid
            return
        pattern = _SNOMED_RE if system == "SNOMED" else _CPT_RE
        if not pattern.match(value):
            raise fail(f"code {code!r} is not a valid {system} code")
        holder = self._exact_codes.get((system, value))
        if holder is not None:
            raise fail(f"code {code!r} is also held by {holder!r}")
        self._exact_codes[(system, value)] = cid

    def _check_ranges(self) -> None:
        ranges = self._icd_ranges
        for i, (lo1, hi1, c1) in enumerate(ranges):
            for lo2, hi2, c2 in ranges[i + 1:]:
                overlap = lo1 <= hi2 and lo2 <= hi1
                nested = (lo1 <= lo2 and hi2 <= hi1) or (lo2 <= lo1 and hi1 <= hi2)
                if overlap and not nested:
                    raise self._fail(
                        f"ICD-10-CM ranges {lo1}-{hi1} ({c1!r}) and {lo2}-{hi2} ({c2!r}) overlap "
                        "without one containing the other"
                    )

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
        data, source = _read_toml(path_or_text, kind)

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
        if ":" in text:
            system, code = _split_code(text)
        else:
            code = text.upper()
            system = _guess_system(code)
        if system is None or not code:
            return None
        cid = self._resolve_code(system, code)
        return self._concepts[cid] if cid is not None else None

    def _resolve_code(self, system: str, code: str) -> str | None:
        if system != "ICD10CM":
            return self._exact_codes.get((system, code))
        key = code.replace(".", "")
        if not _ICD_LOOKUP_RE.match(key):
            return None
        for length in range(len(key), 2, -1):
            cid = self._icd.get(key[:length])
            if cid is not None:
                return cid
        category = key[:3]
        containing = [(lo, hi, cid) for lo, hi, cid in self._icd_ranges if lo <= category <= hi]
        if not containing:
            return None
        # Ranges are nested or disjoint (checked at load): the innermost has the
        # greatest start, and among equal starts the smallest end.
        containing.sort(key=lambda r: (r[0], _negate(r[1])), reverse=True)
        return containing[0][2]

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
        "autoimmune disease" share inflammatory bowel disease and coeliac disease).  KeyError for an
        unknown id.
        """
        return not self.descendants(concept_id).isdisjoint(self.descendants(other_id))

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
        return _suggest(self._index, name, n)

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    def __len__(self) -> int:
        return len(self._concepts)

    def __contains__(self, concept_id: object) -> bool:
        return isinstance(concept_id, str) and concept_id in self._concepts

    def __repr__(self) -> str:
        return f"<ConceptCatalog kind={self._kind!r} concepts={len(self)} source={self._source!r}>"


def _negate(category: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in category)


def _concept_from_table(entry: Any, position: int, fail: Callable[[str], CatalogError]) -> Concept:
    label = f"[[concept]] #{position}"
    if not isinstance(entry, dict):
        raise fail(f"{label} must be a table")
    if isinstance(entry.get("id"), str):
        label += f" ({entry['id']!r})"

    def efail(message: str) -> CatalogError:
        return fail(f"{label}: {message}")

    unknown = set(entry) - _CONCEPT_FIELDS
    if unknown:
        raise efail(f"unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(_CONCEPT_FIELDS))}")
    for required in ("id", "name"):
        if not isinstance(entry.get(required), str) or not entry[required].strip():
            raise efail(f"{required!r} is required and must be a non-empty string")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise efail("'description' must be a string")
    return Concept(
        id=entry["id"].strip(),
        name=entry["name"].strip(),
        synonyms=_str_tuple(entry.get("synonyms", []), "'synonyms'", efail),
        parents=_str_tuple(entry.get("parents", []), "'parents'", efail),
        codes=_str_tuple(entry.get("codes", []), "'codes'", efail),
        description=description.strip(),
    )


@functools.lru_cache(maxsize=None)
def _shipped_concepts(kind: str) -> ConceptCatalog:
    filename = {"condition": "conditions.toml", "procedure": "procedures.toml"}[kind]
    return ConceptCatalog.from_toml(CATALOG_DIR / filename, kind=kind)
