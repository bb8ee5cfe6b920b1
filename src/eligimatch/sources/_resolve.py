"""Resolving what a source records to what the catalogs know: analytes, units, conditions, procedures, drugs.

Source-independent: a FHIR importer and an OMOP importer give the same :class:`Resolver` plain codes
(``(system, code, display)`` with eligimatch system names), names, and unit spellings, and get back catalog entries
or a reason why not.  The rules (docs/fhir.md, docs/omop.md):

* an analyte is named by a LOINC code the analyte catalog lists; a clinical score also by its name (a lab name
  does not say the specimen);
* a unit is used only when it can apply to the analyte (UCUM code first, then the unit text); a value without a
  unit is used only for a plain number (a score, INR) -- units are checked, not assumed;
* a condition or procedure code resolves when the catalog lists it, else through the terminology's ancestors
  (never downwards), else by the record's name (reported);
* a drug by its RxNorm code, the RxNorm ingredients above it, its name, or the ingredients in an RxNorm clinical
  drug name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from eligimatch.errors import UnitError
from eligimatch.sources._codes import SALTS, clinical_drug_ingredients
from eligimatch.sources._patient import ReferenceRange

__all__ = ["Coding", "Resolver", "short_error"]

#: ``(system, code, display)``: the system is an eligimatch name (``LOINC``, ``SNOMED``...) or the raw system.
Coding = tuple[str | None, str, str | None]


def short_error(exc: ValidationError) -> str:
    """A pydantic validation error on one line, for a report."""
    return "; ".join(re.sub(r"^Value error, ", "", e["msg"]) for e in exc.errors(include_url=False))


class Resolver:
    """The catalogs and a terminology, asked the way every source asks them."""

    def __init__(self, catalogs: Any, terminology: Any = None):
        from eligimatch.knowledge._terminology import default_terminology

        self.cat = catalogs
        self.terminology = terminology if terminology is not None else default_terminology()

    # ---- analytes and units
    def analytes_of(self, loincs: Iterable[str]) -> list[Any]:
        """The distinct catalog analytes the LOINC codes name."""
        found = {}
        for code in loincs:
            a = self.cat.analytes.resolve(f"LOINC:{code}")
            if a is not None:
                found[a.id] = a
        return list(found.values())

    def score_by_name(self, names: Iterable[str]) -> Any:
        """A clinical score named by a record's text or display (labs and vitals need a LOINC code:
        a lab name does not say the specimen, "creatinine" may be urine creatinine)."""
        for name in names:
            a = self.cat.analytes.resolve(name)
            if a is not None and a.kind == "score":
                return a
        return None

    @staticmethod
    def dimensionless(analyte: Any) -> bool:
        """Whether the analyte is a plain number (a score, INR): only then may a value come without a unit."""
        try:
            return bool(analyte.accepts("1"))
        except UnitError:
            return False

    def analyte_unit(self, analyte: Any, code: str | None, text: str | None) -> tuple[str | None, str | None]:
        """The unit to record for a value of ``analyte``, or a problem: the UCUM ``code`` first, then the ``text``."""
        tried: list[str] = []
        for candidate in (code, text):
            if not candidate or candidate in tried:
                continue
            tried.append(candidate)
            try:
                ok = analyte.accepts(candidate)
            except UnitError:
                continue  # unreadable: try the other spelling
            if ok:
                return candidate, None
            return None, (f"unit {candidate!r} cannot apply to {analyte.id} (measured in {analyte.unit}); "
                          "the value is not used")
        if not tried:
            if self.dimensionless(analyte):
                return None, None
            return None, f"no unit for {analyte.id} (measured in {analyte.unit}): units are checked, not assumed"
        return None, f"unit {' / '.join(map(repr, tried))} cannot be read; the value is not used"

    def reference_range(self, analyte: Any, bounds_in: dict[str, tuple[Any, str | None, str | None]],
                        unit: str | None) -> tuple[ReferenceRange | None, str | None]:
        """A result's own reference range from its bounds (``{"low": (value, unit code, unit text), ...}``),
        expressed in one unit (the high's, else the low's; converted when they differ); ``unit`` is the result's
        unit (the range records its unit only when it differs).  A bound without a value or with a unit that cannot
        apply makes the whole range unused (with the reason)."""
        from eligimatch.sources._codes import number

        bounds: dict[str, float] = {}
        units: dict[str, str | None] = {}
        for side in ("low", "high"):
            if side not in bounds_in:
                continue
            raw, code, text = bounds_in[side]
            v = number(raw)
            if v is None:
                return None, f"reference range {side} has no value: not used"
            u, problem = self.analyte_unit(analyte, code, text)
            if problem:
                return None, f"reference range {side}: {problem.replace('the value', 'the range')}"
            bounds[side], units[side] = v, u
        if not bounds:
            return None, None
        range_unit = units.get("high", units.get("low"))
        try:
            for side in bounds:
                if units[side] != range_unit:
                    bounds[side] *= analyte.factor_from(units[side] or analyte.unit, range_unit or analyte.unit)
        except UnitError as exc:
            return None, f"reference range units do not agree: {exc}"
        try:
            rr = ReferenceRange(low=bounds.get("low"), high=bounds.get("high"),
                                unit=range_unit if range_unit != unit else None)
        except ValidationError as exc:
            return None, f"reference range not used: {short_error(exc)}"
        return rr, None

    # ---- conditions and procedures
    def concept_of(self, codings: Sequence[Coding], names: Sequence[str], catalog: Any, systems: tuple[str, ...],
                   text: str | None = None) -> tuple[Any, str | None, str | None, str]:
        """(concept, code used, name to record, how) for a coded record.

        In order: a code the catalog lists (an ICD-10-CM code must exist in ICD-10-CM when
        the terminology is installed); a WHO ICD-10 code at its category, which ICD-10-CM
        shares; an ancestor of a code that the catalog lists (through the terminology, e.g. an
        OMOP vocabulary); the text or a name the catalog knows (reported).
        """
        hits = []
        notes = []
        for system, code, display in codings:
            if system == "ICD10CM" and self.terminology.known("ICD10CM", code) is False:
                notes.append(f"ICD10CM:{code} is not an ICD-10-CM code")
                continue
            if system in systems:
                concept = catalog.resolve(f"{system}:{code}")
                if concept is not None:
                    hits.append((concept, f"{system}:{code}", display))
        if hits:
            concept, code, display = hits[0]
            for other, other_code, other_display in hits[1:]:
                # the narrower of two codings of the same record
                if other.id != concept.id and catalog.is_a(other.id, concept.id):
                    concept, code, display = other, other_code, other_display
            name = text or display or concept.name
            return concept, code, name.strip(), ""
        if "ICD10CM" in systems:
            for system, code, display in codings:
                if system == "ICD10" and re.match(r"^[A-Z][0-9]{2}", code):
                    concept = catalog.resolve(f"ICD10CM:{code[:3]}")
                    if concept is not None:
                        # the record is named by the concept id: its code is not ICD-10-CM
                        return concept, None, concept.id, (
                            f" (WHO ICD-10 {code} read at its category {code[:3]}, which ICD-10-CM shares)")
        for system, code, display in codings:
            if system not in systems and system not in ("ICD10CM", "SNOMED"):
                continue
            found = self.by_ancestor(catalog, system, code)
            if found is not None:
                concept, anc = found
                # the record keeps its own code, and is named by the concept id so that it resolves there
                return concept, f"{system}:{code}", concept.id, (
                    f" ({system}:{code} is below {anc.label} in the terminology)")
        why = "none of its codes is in the catalog" if codings else "it has no code"
        if notes:
            why += "; " + "; ".join(notes)
        for name in names:
            concept = catalog.resolve(name)
            if concept is not None:
                return concept, None, name, f" (by its name {name!r}: {why})"
        return None, None, None, ""

    def by_ancestor(self, catalog: Any, system: str | None, code: str) -> tuple[Any, Any] | None:
        """The catalog concept of the nearest ancestor the catalog knows, or None when the
        nearest ones name different concepts (neither below the other: not guessed)."""
        if system is None:
            return None
        found: list[tuple[Any, Any]] = []
        level = None
        for anc in self.terminology.ancestors(system, code):
            if level is not None and anc.levels > level:
                break
            concept = catalog.resolve(f"{anc.system}:{anc.code}")
            if concept is not None:
                found.append((concept, anc))
                level = anc.levels
        if not found:
            return None
        best = found[0]
        for concept, anc in found[1:]:
            if concept.id == best[0].id or catalog.is_a(best[0].id, concept.id):
                continue
            if catalog.is_a(concept.id, best[0].id):
                best = (concept, anc)
            else:
                return None
        return best

    # ---- drugs
    def drugs_of(self, codings: Sequence[Coding], names: Sequence[str]) -> tuple[list[Any], str]:
        """Catalog drugs (or classes) a medication names, and how: RxNorm codes first, then the RxNorm
        ingredients above them in the terminology (all must be known), then names."""
        drugs = self.cat.drugs
        for system, code, _ in codings:
            if system == "RXNORM":
                hit = drugs.resolve(f"RXNORM:{code}")
                if hit is not None:
                    return [hit], ""
        for system, code, _ in codings:
            if system == "RXNORM":
                ingredients = [a for a in self.terminology.ancestors("RXNORM", code) if a.concept_class == "Ingredient"]
                hits = [drugs.resolve(f"RXNORM:{a.code}") for a in ingredients]
                if ingredients and all(h is not None for h in hits):
                    return hits, (" (ingredient" + ("s " if len(hits) > 1 else " ")
                                  + ", ".join(a.label for a in ingredients) + " in the terminology)")
        for name in names:
            hit = drugs.resolve(name)
            if hit is not None:
                return [hit], f" (by its name {name!r})"
            parts = clinical_drug_ingredients(name)
            if parts:
                hits = [h for h in (self.drug_by_ingredient(p) for p in parts) if h is not None]
                if len(hits) == len(parts):
                    return hits, f" (ingredient{'s' if len(hits) > 1 else ''} read from the name {name!r})"
        return [], ""

    def drug_by_ingredient(self, name: str) -> Any:
        """A catalog drug by an ingredient name, with a trailing salt dropped (``metformin hydrochloride``)."""
        hit = self.cat.drugs.resolve(name)
        if hit is None:
            words = name.split()
            if len(words) > 1 and words[-1].lower() in SALTS:
                hit = self.cat.drugs.resolve(" ".join(words[:-1]))
        return hit

    @staticmethod
    def dose_unit(code: str | None, text: str | None) -> str | None:
        """The first spelling of a dose unit eligimatch can read (UCUM code first), or None."""
        from eligimatch.knowledge._units import parse_unit

        for candidate in (code, text):
            if candidate:
                try:
                    parse_unit(candidate)
                    return candidate
                except UnitError:
                    continue
        return None
