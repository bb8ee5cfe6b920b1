"""Code systems and the codes every source reads the same way.

* :data:`SYSTEMS` / :func:`system_name`: a code system's canonical URL, HL7 OID or OMOP ``vocabulary_id`` -> the
  name eligimatch codes use (``LOINC``, ``SNOMED``, ``ICD10CM``, ``RXNORM``...).
* The LOINC codes read into facts rather than observations (ECOG, Karnofsky, pregnancy status) and their answers.
* SNOMED CT routes of administration, the salts an RxNorm ingredient name may carry, and the ingredients of an RxNorm
  clinical drug name.
* :func:`number`: a finite float from what a source gives (never a bool, never NaN).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

__all__ = [
    "CPT", "ECOG_ANSWERS", "ECOG_LOINC", "ICD10CM", "KARNOFSKY_LOINC", "LOINC", "PREGNANCY_ANSWERS", "PREGNANCY_LOINC",
    "ROUTES", "RXNORM", "SALTS", "SNOMED", "SYSTEMS", "UCUM", "UNKNOWN_ANSWERS", "clinical_drug_ingredients", "number",
    "system_name",
]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"

#: Canonical URL or HL7 OID -> the system name used in eligimatch codes.
SYSTEMS = {
    LOINC: "LOINC",
    "urn:oid:2.16.840.1.113883.6.1": "LOINC",
    SNOMED: "SNOMED",
    "urn:oid:2.16.840.1.113883.6.96": "SNOMED",
    ICD10CM: "ICD10CM",
    "urn:oid:2.16.840.1.113883.6.90": "ICD10CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD10",  # WHO ICD-10
    "urn:oid:2.16.840.1.113883.6.3": "ICD10",
    "http://hl7.org/fhir/sid/icd-9-cm": "ICD9CM",
    "urn:oid:2.16.840.1.113883.6.103": "ICD9CM",
    "urn:oid:2.16.840.1.113883.6.43.1": "ICDO3",  # ICD-O-3 morphology
    "http://terminology.hl7.org/CodeSystem/icd-o-3": "ICDO3",
    "http://www.whocc.no/atc": "ATC",
    "http://cancerstaging.org": "AJCC",
    RXNORM: "RXNORM",
    "urn:oid:2.16.840.1.113883.6.88": "RXNORM",
    CPT: "CPT",
    "urn:oid:2.16.840.1.113883.6.12": "CPT",
    UCUM: "UCUM",
    "urn:oid:2.16.840.1.113883.6.8": "UCUM",
}

#: OMOP ``vocabulary_id`` -> eligimatch system name (the vocabularies the catalogs and terminologies use).
OMOP_VOCABULARIES = {"SNOMED": "SNOMED", "RxNorm": "RXNORM", "RxNorm Extension": "RXNORM_EXTENSION",
                     "LOINC": "LOINC", "ICD10CM": "ICD10CM", "ICD10": "ICD10", "ICD9CM": "ICD9CM", "CPT4": "CPT",
                     "ATC": "ATC", "UCUM": "UCUM", "ICDO3": "ICDO3", "CVX": "CVX", "NDC": "NDC", "HCPCS": "HCPCS"}


def system_name(system: str | None) -> str | None:
    """The eligimatch name of a code system given by URL, OID or OMOP vocabulary id; the input when unknown."""
    if system is None:
        return None
    return SYSTEMS.get(system) or OMOP_VOCABULARIES.get(system) or system


# LOINC codes read into facts rather than observations.
ECOG_LOINC = "89247-1"  # ECOG Performance Status score
KARNOFSKY_LOINC = "89243-0"  # Karnofsky Performance Status score
PREGNANCY_LOINC = "82810-3"  # Pregnancy status

#: LOINC answer list LL529-9 (ECOG performance status).
ECOG_ANSWERS = {"LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5}
#: Answers of 82810-3: LOINC LA codes and the SNOMED CT findings used by US Core / IPS.
PREGNANCY_ANSWERS: dict[tuple[str | None, str], bool] = {
    ("LOINC", "LA15173-0"): True,  # Pregnant
    ("LOINC", "LA26683-5"): False,  # Not pregnant
    ("SNOMED", "77386006"): True,  # Patient currently pregnant
    ("SNOMED", "60001007"): False,  # Not pregnant
}
UNKNOWN_ANSWERS: set[tuple[str | None, str]] = {("LOINC", "LA4489-6"), ("SNOMED", "261665006")}  # Unknown

#: SNOMED CT route of administration (qualifier values) -> Therapy.route.
ROUTES = {
    "26643006": "oral",
    "47625008": "intravenous",
    "447694001": "inhaled",  # respiratory tract route
    "6064005": "topical",
    "54485002": "ocular",  # ophthalmic route
    "46713006": "intranasal",  # nasal route
    "12130007": "intra_articular",
    "34206005": "subcutaneous",
    "78421000": "intramuscular",
}

SALTS = frozenset({
    "hydrochloride", "dihydrochloride", "sulfate", "sodium", "potassium", "calcium", "magnesium", "acetate",
    "phosphate", "citrate", "maleate", "tartrate", "succinate", "mesylate", "besylate", "fumarate", "bromide",
    "chloride", "hyclate", "monohydrate",
})
_LEADING_QUANTITY = re.compile(r"^(?:\d+(?:\.\d+)?\s+[A-Z][A-Z_]*\s+)+")


def number(value: Any) -> float | None:
    """A finite float, or None (booleans, text that is not a number, NaN and infinities are not numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value) if isinstance(value, (int, float, Decimal, str)) else None
    except (ValueError, OverflowError):
        return None
    return f if f is not None and math.isfinite(f) else None


def clinical_drug_ingredients(name: str) -> list[str]:
    """The ingredient names of an RxNorm clinical drug name, or [].

    ``"Methotrexate 2.5 MG Oral Tablet"`` -> ``["Methotrexate"]``;
    ``"24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"`` ->
    ``["Metformin hydrochloride"]``; ``"Acetaminophen 325 MG / Oxycodone
    Hydrochloride 5 MG Oral Tablet"`` -> both.  Packs (``{...} Pack``) give [].
    """
    text = name.strip()
    if not text or text.startswith("{") or "[" in text.split(" ")[0]:
        return []
    text = _LEADING_QUANTITY.sub("", text)
    parts: list[str] = []
    for chunk in text.split(" / "):
        words = []
        for word in chunk.split():
            if word[0].isdigit():
                break
            words.append(word)
        else:
            if len(parts) == 0 and " / " not in text:
                return []  # no strength: not a clinical drug name
        if not words:
            return []
        parts.append(" ".join(words))
    return parts
