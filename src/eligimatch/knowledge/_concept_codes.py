"""Codes of the concept catalogs: ICD-10-CM (codes and ranges of categories), SNOMED CT and CPT.

A :class:`CodeIndex` holds the codes a :class:`~eligimatch.knowledge._concepts.ConceptCatalog` lists
(``SYSTEM:CODE``, ``SYSTEM`` one of :data:`CODE_SYSTEMS`; an ICD-10-CM entry may be a range of categories
``ICD10CM:C00-C96``) and finds the concept a patient's code denotes:

* ICD-10-CM: the concept holding the *longest catalog code that is a prefix of it* (``M32.14`` finds
  ``M32.14`` if present, else ``M32.1``, else ``M32``), failing that the *narrowest range* containing its
  category (ranges are nested or disjoint, checked at load);
* SNOMED CT and CPT: exact codes.

A code is written ``SYSTEM:CODE`` (system names are case-insensitive; ``ICD-10-CM``, ``ICD10``,
``SNOMED CT``, ``SCTID`` are accepted) or bare, its system then judged by its shape (letter + digits:
ICD-10-CM; five characters of digits: CPT; six or more digits: SNOMED CT).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from eligimatch.errors import CatalogError

__all__ = ["CODE_SYSTEMS", "CodeIndex", "split_code", "guess_system"]

#: Code systems a concept code may use, as written in catalogs.
CODE_SYSTEMS = ("ICD10CM", "SNOMED", "CPT")

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


def _icd_text(key: str) -> str:
    """An ICD-10-CM code as the index keys it (no dot) written back: ``D591`` -> ``ICD10CM:D59.1``."""
    return f"ICD10CM:{key[:3]}.{key[3:]}" if len(key) > 3 else f"ICD10CM:{key}"


def split_code(text: str) -> tuple[str | None, str]:
    """``"icd-10-cm: m32.14"`` -> ``("ICD10CM", "M32.14")``; unknown system -> (None, code)."""
    system, _, code = text.partition(":")
    sys_key = re.sub(r"[^A-Z0-9]", "", system.upper())
    return _SYSTEM_ALIASES.get(sys_key), code.strip().upper()


def guess_system(code: str) -> str | None:
    """The code system a bare code belongs to, judged by its shape."""
    c = code.strip().upper()
    if _ICD_CODE_RE.match(c) or _ICD_LOOKUP_RE.match(c):
        return "ICD10CM"
    if _CPT_RE.match(c):
        return "CPT"
    if _SNOMED_RE.match(c):
        return "SNOMED"
    return None


class CodeIndex:
    """The codes of one concept catalog: catalog code -> concept id, and patient code -> concept id."""

    __slots__ = ("_icd", "_icd_ranges", "_exact_codes")

    def __init__(self) -> None:
        self._icd: dict[str, str] = {}  # ICD-10-CM code without its dot -> concept id
        self._icd_ranges: list[tuple[str, str, str]] = []  # (first category, last category, concept id)
        self._exact_codes: dict[tuple[str, str], str] = {}  # (system, code) -> concept id

    def add(self, cid: str, code: str, fail: Callable[[str], CatalogError]) -> None:
        """Record catalog code ``code`` (``SYSTEM:CODE``) of concept ``cid``; refuses a malformed code or
        one another concept holds."""
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

    def check_ranges(self, fail: Callable[[str], CatalogError]) -> None:
        """Refuse two ICD-10-CM ranges that overlap without one containing the other."""
        ranges = self._icd_ranges
        for i, (lo1, hi1, c1) in enumerate(ranges):
            for lo2, hi2, c2 in ranges[i + 1:]:
                overlap = lo1 <= hi2 and lo2 <= hi1
                nested = (lo1 <= lo2 and hi2 <= hi1) or (lo2 <= lo1 and hi1 <= hi2)
                if overlap and not nested:
                    raise fail(
                        f"ICD-10-CM ranges {lo1}-{hi1} ({c1!r}) and {lo2}-{hi2} ({c2!r}) overlap "
                        "without one containing the other"
                    )

    def containments(self) -> Iterator[tuple[str, str, str, str]]:
        """``(outer concept, its code, inner concept, its code)`` for each ICD-10-CM code of one concept that
        lies inside a code of another: a code below its code (``D59.1`` under ``D59``), a code or a narrower
        range inside its range (``D59.1`` and ``D55-D59`` inside ``D50-D64``).  The code system's own
        hierarchy: every record coded inside the outer code is, by the catalog's own codes, the outer concept
        (:class:`~eligimatch.knowledge._concepts.ConceptCatalog` requires its parents to say so)."""
        exact = list(self._icd.items())
        for key, cid in exact:
            for other_key, other in exact:
                if other != cid and len(other_key) > len(key) and other_key.startswith(key):
                    yield cid, _icd_text(key), other, _icd_text(other_key)
        for lo, hi, cid in self._icd_ranges:
            for other_key, other in exact:
                if other != cid and lo <= other_key[:3] <= hi:
                    yield cid, f"ICD10CM:{lo}-{hi}", other, _icd_text(other_key)
            for lo2, hi2, other in self._icd_ranges:
                if other != cid and lo <= lo2 and hi2 <= hi and (lo2, hi2) != (lo, hi):
                    yield cid, f"ICD10CM:{lo}-{hi}", other, f"ICD10CM:{lo2}-{hi2}"

    def resolve(self, text: str) -> str | None:
        """The concept id a written code (``SYSTEM:CODE`` or bare) denotes, or None."""
        if ":" in text:
            system, code = split_code(text)
        else:
            code = text.upper()
            system = guess_system(code)
        if system is None or not code:
            return None
        return self._resolve_code(system, code)

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


def _negate(category: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in category)
