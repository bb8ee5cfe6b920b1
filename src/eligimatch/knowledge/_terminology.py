"""Terminologies: resolving a code through its hierarchy when the catalogs do not list it.

The catalogs (``catalog/*.toml``) list, for each concept, the codes that mean it
"or something narrower" (ICD-10-CM categories and ranges, SNOMED CT concepts with
the descendants public value sets such as mCODE and IPS use, RxNorm ingredients,
LOINC codes).  A code they do not list may still be *below* one they do: a
SNOMED CT "viral sinusitis" is a sinusitis, an RxNorm clinical drug "Naproxen
500 MG Oral Tablet" contains the ingredient naproxen.  A :class:`Terminology`
answers "what is this code below?", nearest first, and the importer resolves the
first ancestor the catalog knows (and says so in the report).

* :class:`Icd10cm` -- ICD-10-CM (CDC, public domain) through the
  ``simple-icd-10-cm`` package (``pip install 'eligimatch[terminology]'``): whether
  a code exists, its dotted form, its ancestors (subcategories, category, block,
  chapter).  The catalog's own ICD-10-CM resolution (longest prefix, then
  ranges such as ``C00-C96``) needs no package; this one refuses codes that do
  not exist (``C50.999``) instead of reading them by prefix.
* :class:`OmopVocabulary` -- a site's OMOP CDM vocabulary (tables CONCEPT,
  CONCEPT_ANCESTOR, CONCEPT_RELATIONSHIP), through any DB-API connection
  (DuckDB, PostgreSQL, SQLite...): every SNOMED CT, RxNorm, LOINC or ICD-10-CM
  code resolves through its real ancestors, and a non-standard code through its
  "Maps to" standard concept.

Resolution through a hierarchy only ever goes *up*: a record coded below a catalog
concept is that concept.  Never down: a record coded *above* the concept a
criterion wants (an ancestor: "neoplasm of prostate" for "prostate cancer")
is not that concept, and the importer does not make it one.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eligimatch.errors import EligimatchError

__all__ = ["Ancestor", "Icd10cm", "OmopVocabulary", "Terminologies", "Terminology", "default_terminology"]


@dataclass(frozen=True)
class Ancestor:
    """A code above another: ``system`` (eligimatch name: SNOMED, RXNORM...), ``code``, its name,
    how many levels up, and its class (``Ingredient`` for an RxNorm ingredient, when known)."""

    system: str
    code: str
    name: str = ""
    levels: int = 1
    concept_class: str = ""

    @property
    def label(self) -> str:
        return f"{self.system}:{self.code}" + (f" {self.name}" if self.name else "")


class Terminology(Protocol):
    """What the importer asks of a terminology."""

    def known(self, system: str, code: str) -> bool | None:
        """Whether the code exists (None: this terminology does not cover the system)."""

    def ancestors(self, system: str, code: str) -> list[Ancestor]:
        """The codes above ``code``, nearest first (empty when unknown)."""


# --------------------------------------------------------------------------- ICD-10-CM

_ICD_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")


class Icd10cm:
    """ICD-10-CM through ``simple_icd_10_cm`` (CDC's public-domain release)."""

    def __init__(self) -> None:
        self._module: Any = None  # loaded on first use: reading the release takes seconds

    @property
    def _icd(self) -> Any:
        if self._module is None:
            try:
                with warnings.catch_warnings():  # the package reads its data with a deprecated importlib API
                    warnings.simplefilter("ignore", DeprecationWarning)
                    import simple_icd_10_cm as icd

                    icd.is_valid_item("A00")  # loads the data now, inside the filter
            except ImportError:
                raise EligimatchError("ICD-10-CM needs the optional dependency simple-icd-10-cm: "
                                      "pip install 'eligimatch[terminology]'") from None
            self._module = icd
        return self._module

    @staticmethod
    def available() -> bool:
        return importlib.util.find_spec("simple_icd_10_cm") is not None

    def normalize(self, code: str) -> str | None:
        """The dotted form of a valid code (``C50911`` -> ``C50.911``), or None."""
        text = code.strip().upper()
        if not _ICD_RE.match(text) or not self._icd.is_valid_item(text):
            return None
        return self._icd.add_dot(text) if "." not in text and len(text) > 3 else text

    def known(self, system: str, code: str) -> bool | None:
        if system != "ICD10CM":
            return None
        return self.normalize(code) is not None

    def description(self, code: str) -> str:
        norm = self.normalize(code)
        return self._icd.get_description(norm) if norm else ""

    def ancestors(self, system: str, code: str) -> list[Ancestor]:
        if system != "ICD10CM":
            return []
        norm = self.normalize(code)
        if norm is None:
            return []
        out: list[Ancestor] = []
        for level, anc in enumerate(self._icd.get_ancestors(norm), 1):
            if self._icd.is_chapter(anc) or any(a.code == anc for a in out):
                continue
            out.append(Ancestor("ICD10CM", anc, self._icd.get_description(anc), level,
                                "block" if self._icd.is_block(anc) else "category"))
        return out

    def in_range(self, code: str, low: str, high: str) -> bool:
        """Whether a valid code's category lies in ``low``..``high`` (``C00``..``C80``)."""
        norm = self.normalize(code)
        return norm is not None and low <= norm[:3] <= high


# --------------------------------------------------------------------------- OMOP vocabulary

# eligimatch system name <-> OMOP vocabulary_id
_OMOP_VOCABULARIES = {"SNOMED": "SNOMED", "RXNORM": "RxNorm", "LOINC": "LOINC", "ICD10CM": "ICD10CM",
                      "CPT": "CPT4", "ICD10": "ICD10", "ICD9CM": "ICD9CM", "ATC": "ATC"}
_FROM_OMOP = {v: k for k, v in _OMOP_VOCABULARIES.items()}


class OmopVocabulary:
    """A site's OMOP vocabulary as a :class:`Terminology`.

    ``connection`` is a DB-API connection whose tables CONCEPT and
    CONCEPT_ANCESTOR (and CONCEPT_RELATIONSHIP, for non-standard codes) follow
    the OMOP CDM; ``schema`` prefixes the table names (``"vocab"`` ->
    ``vocab.concept``).  Queries use the connection's parameter style
    (``paramstyle``: ``"qmark"``, the default, for DuckDB and SQLite; ``"format"`` for psycopg).
    Answers are cached per code.
    """

    def __init__(self, connection: Any, *, schema: str | None = None, paramstyle: str | None = None):
        if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema):
            raise ValueError(f"schema must be a plain SQL name, got {schema!r}")
        self._con = connection
        self._prefix = f"{schema}." if schema else ""
        style = paramstyle or "qmark"
        if style not in ("qmark", "format", "pyformat"):
            raise ValueError(f"paramstyle must be qmark, format or pyformat, got {style!r}")
        self._mark = "?" if style == "qmark" else "%s"
        self._cache: dict[tuple[str, str, str], Any] = {}

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        cur = self._con.cursor()
        try:
            cur.execute(sql.replace("?", self._mark).replace("{p}", self._prefix), list(params))
            return list(cur.fetchall())
        finally:
            close = getattr(cur, "close", None)
            if close is not None:
                close()

    def _concept(self, system: str, code: str) -> tuple[int, str, str] | None:
        vocab = _OMOP_VOCABULARIES.get(system)
        if vocab is None:
            return None
        key = ("concept", system, code)
        if key not in self._cache:
            rows = self._query("SELECT concept_id, standard_concept, concept_name FROM {p}concept "
                               "WHERE vocabulary_id = ? AND concept_code = ?", (vocab, code))
            self._cache[key] = (int(rows[0][0]), rows[0][1] or "", rows[0][2] or "") if rows else None
        return self._cache[key]

    def known(self, system: str, code: str) -> bool | None:
        if system not in _OMOP_VOCABULARIES:
            return None
        return self._concept(system, code) is not None

    def standard(self, system: str, code: str) -> list[Ancestor]:
        """The standard concepts a non-standard code "Maps to" (an ICD-10-CM code to SNOMED CT)."""
        concept = self._concept(system, code)
        if concept is None:
            return []
        rows = self._query(
            "SELECT c.vocabulary_id, c.concept_code, c.concept_name, c.concept_class_id "
            "FROM {p}concept_relationship r JOIN {p}concept c ON c.concept_id = r.concept_id_2 "
            "WHERE r.concept_id_1 = ? AND r.relationship_id = 'Maps to' AND r.invalid_reason IS NULL",
            (concept[0],))
        return [Ancestor(_FROM_OMOP.get(v, v), str(c), n or "", 0, k or "") for v, c, n, k in rows
                if not (v == _OMOP_VOCABULARIES[system] and str(c) == code)]

    def ancestors(self, system: str, code: str) -> list[Ancestor]:
        key = ("ancestors", system, code)
        if key in self._cache:
            return list(self._cache[key])
        concept = self._concept(system, code)
        out: list[Ancestor] = []
        if concept is not None:
            starts = [(concept[0], 0)]
            if concept[1] != "S":  # a non-standard code: climb from what it maps to
                for m in self.standard(system, code):
                    target = self._concept(m.system, m.code)
                    if target is not None:
                        out.append(Ancestor(m.system, m.code, m.name, 1, m.concept_class))
                        starts.append((target[0], 1))
            seen = {(a.system, a.code) for a in out}
            for start, offset in starts:
                rows = self._query(
                    "SELECT c.vocabulary_id, c.concept_code, c.concept_name, c.concept_class_id, "
                    "a.min_levels_of_separation FROM {p}concept_ancestor a "
                    "JOIN {p}concept c ON c.concept_id = a.ancestor_concept_id "
                    "WHERE a.descendant_concept_id = ? AND a.ancestor_concept_id <> a.descendant_concept_id",
                    (start,))
                for v, c, n, k, lv in rows:
                    anc = Ancestor(_FROM_OMOP.get(v, v), str(c), n or "", int(lv or 0) + offset, k or "")
                    if (anc.system, anc.code) not in seen:
                        seen.add((anc.system, anc.code))
                        out.append(anc)
        out.sort(key=lambda a: (a.levels, a.system, a.code))
        self._cache[key] = tuple(out)
        return out


# --------------------------------------------------------------------------- several at once


class Terminologies:
    """Several terminologies asked in turn (a code is known if any knows it)."""

    def __init__(self, terminologies: Iterable[Any]):
        self.terminologies = tuple(terminologies)

    def known(self, system: str, code: str) -> bool | None:
        answers = [t.known(system, code) for t in self.terminologies]
        if any(a is True for a in answers):
            return True
        return False if any(a is False for a in answers) else None

    def ancestors(self, system: str, code: str) -> list[Ancestor]:
        out: list[Ancestor] = []
        seen: set[tuple[str, str]] = set()
        for t in self.terminologies:
            for a in t.ancestors(system, code):
                if (a.system, a.code) not in seen:
                    seen.add((a.system, a.code))
                    out.append(a)
        out.sort(key=lambda a: a.levels)
        return out


@functools.cache
def default_terminology() -> Terminologies:
    """What ships with eligimatch: ICD-10-CM when ``simple-icd-10-cm`` is installed (built once)."""
    return Terminologies([Icd10cm()] if Icd10cm.available() else [])
