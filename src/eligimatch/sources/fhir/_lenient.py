"""Reading real FHIR leniently: what an invalid resource is, and what can be kept of it.

Real exports are not clean R4: a DSTU2 or STU3 resource among R4 ones, a template's
placeholder date (``"YYYY-MM-DD"``), a Patient whose ``name.family`` is a list, an
extension with a broken date.  :mod:`eligimatch.sources.fhir._bundle` validates each resource on its
own; this module decides, for a resource that fails, *why* (so the mapping report
can say so) and whether the failure lies only in elements eligimatch never reads,
in which case those elements are dropped and the rest is used, with a note.

Nothing that eligimatch reads is ever repaired or guessed: a failure in an element
that is read (a status, a code, a value, a date, the subject) quarantines the
resource, and a resource in the shape of an older FHIR version is quarantined
whatever its errors, because even the elements R4 shares with it may be read wrong.

``dataAbsentReason`` (the element, or the ``data-absent-reason`` extension on a
primitive ``_x`` or complex element) marks a value as absent: a value that also
carries it is not used (:func:`absent_elements`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["DAR_URL", "READ_ELEMENTS", "absent_elements", "drop", "droppable", "older_version", "placeholder"]

DAR_URL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

# Resource types of DSTU2/STU3 that R4 renamed or removed -> what R4 has instead.
_OLD_TYPES = {
    "MedicationOrder": ("DSTU2", "MedicationRequest"),
    "DiagnosticOrder": ("DSTU2", "ServiceRequest"),
    "ProcedureRequest": ("STU3", "ServiceRequest"),
    "ReferralRequest": ("STU3", "ServiceRequest"),
    "DeviceUseRequest": ("DSTU2", "DeviceRequest"),
    "Order": ("DSTU2", "Task"),
    "OrderResponse": ("DSTU2", "Task"),
    "ProcessRequest": ("STU3", "Task"),
    "ProcessResponse": ("STU3", "Task"),
    "EligibilityRequest": ("STU3", "CoverageEligibilityRequest"),
    "EligibilityResponse": ("STU3", "CoverageEligibilityResponse"),
    "BodySite": ("STU3", "BodyStructure"),
    "Sequence": ("STU3", "MolecularSequence"),
    "DataElement": ("STU3", "StructureDefinition"),
    "DeviceComponent": ("STU3", "DeviceDefinition"),
}

#: The elements eligimatch reads, per resource type.  An invalid element outside these may be
#: dropped (with a note); an invalid element among them quarantines the resource.
READ_ELEMENTS: dict[str, frozenset[str]] = {
    "Patient": frozenset({"birthDate", "gender", "deceasedBoolean", "deceasedDateTime"}),
    "Observation": frozenset({
        "status", "code", "subject", "focus", "effectiveDateTime", "effectivePeriod", "effectiveInstant",
        "effectiveTiming", "valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger",
        "valueRange", "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod",
        "dataAbsentReason", "component", "referenceRange", "hasMember", "method", "bodySite", "interpretation",
        "derivedFrom"}),
    "Condition": frozenset({
        "code", "subject", "clinicalStatus", "verificationStatus", "onsetDateTime", "onsetPeriod", "onsetAge",
        "onsetRange", "onsetString", "abatementDateTime", "abatementPeriod", "abatementAge", "abatementRange",
        "abatementString", "bodySite", "stage", "extension", "category", "evidence", "recordedDate"}),
    "Procedure": frozenset({
        "status", "code", "subject", "performedDateTime", "performedPeriod", "performedString", "performedAge",
        "performedRange", "bodySite", "reasonReference", "reasonCode", "category"}),
    "MedicationStatement": frozenset({
        "status", "subject", "medicationCodeableConcept", "medicationReference", "effectiveDateTime",
        "effectivePeriod", "dosage", "contained", "reasonCode", "reasonReference"}),
    "MedicationRequest": frozenset({
        "status", "intent", "subject", "medicationCodeableConcept", "medicationReference", "authoredOn",
        "dosageInstruction", "doNotPerform", "contained", "reasonCode", "reasonReference"}),
    "MedicationAdministration": frozenset({
        "status", "subject", "medicationCodeableConcept", "medicationReference", "effectiveDateTime",
        "effectivePeriod", "dosage", "contained", "reasonCode", "reasonReference"}),
    "ResearchSubject": frozenset({"status", "study", "individual", "period"}),
    "Medication": frozenset({"code", "ingredient"}),
}
# Never dropped, whatever the type: they change the meaning of everything else.
_NEVER_DROPPED = frozenset({"resourceType", "id", "modifierExtension", "implicitRules"})

_PLACEHOLDER = re.compile(r"^[YMDhms]{2,4}(?:[-/:T ][YMDhms]{1,4})*$")


def older_version(raw: dict) -> str | None:
    """Why ``raw`` looks like DSTU2 or STU3 rather than R4, or None.

    Only shapes that R4 cannot have are used as evidence, so an R4 resource is never
    called old; a resource that validates in R4 is never asked.
    """
    rtype = raw.get("resourceType")
    if rtype in _OLD_TYPES:
        version, r4 = _OLD_TYPES[rtype]
        return f"{rtype} is a {version} resource type (R4: {r4})"
    signs = []
    if rtype in ("Observation", "Condition", "Procedure", "MedicationRequest", "DiagnosticReport", "CarePlan",
                 "MedicationStatement", "MedicationAdministration") and "context" in raw:
        signs.append(f"{rtype}.context (STU3; R4: encounter)")
    if rtype in ("Condition", "MedicationStatement", "Procedure", "Observation") and "patient" in raw:
        signs.append(f"{rtype}.patient (DSTU2; R4: subject)")
    requester = raw.get("requester")
    if isinstance(requester, dict) and "agent" in requester:
        signs.append(f"{rtype}.requester.agent (STU3; R4: requester is a Reference)")
    if rtype == "Condition":
        for el in ("clinicalStatus", "verificationStatus"):
            if isinstance(raw.get(el), str):
                signs.append(f"Condition.{el} as a plain code {raw[el]!r} (DSTU2/STU3; R4: a CodeableConcept)")
        if "dateRecorded" in raw:
            signs.append("Condition.dateRecorded (DSTU2; R4: recordedDate)")
        if isinstance(raw.get("category"), dict):
            signs.append("Condition.category as one object (DSTU2; R4: a list)")
    if rtype == "Observation" and isinstance(raw.get("category"), dict):
        signs.append("Observation.category as one object (DSTU2; R4: a list)")
    if rtype == "Immunization" and ("wasNotGiven" in raw or "notGiven" in raw):
        signs.append("Immunization.wasNotGiven/notGiven (DSTU2/STU3; R4: status)")
    if rtype == "Encounter" and isinstance(raw.get("class"), str):
        signs.append("Encounter.class as a plain code (DSTU2; R4: a Coding)")
    if rtype == "Patient":
        for name in raw.get("name") or ():
            if isinstance(name, dict) and isinstance(name.get("family"), list):
                signs.append("Patient.name.family as a list (DSTU2; R4: a string)")
                break
    if rtype in ("MedicationStatement",) and "wasNotTaken" in raw:
        signs.append("MedicationStatement.wasNotTaken (DSTU2)")
    if rtype == "MedicationRequest" and "dateWritten" in raw:
        signs.append("MedicationRequest.dateWritten (DSTU2; R4: authoredOn)")
    if not signs:
        return None
    return "in the shape of an older FHIR version: " + "; ".join(signs)


def placeholder(value: Any) -> bool:
    """Whether a value is a template's placeholder date such as ``"YYYY-MM-DD"``."""
    return isinstance(value, str) and bool(_PLACEHOLDER.match(value.strip()))


def _top(loc: tuple) -> tuple:
    """The part of an error location that can be dropped: the element, or one extension of it."""
    if not loc:
        return ()
    if loc[0] == "extension" and len(loc) > 1 and isinstance(loc[1], int):
        return loc[:2]
    return loc[:1]


def droppable(rtype: str, raw: dict, locs: Iterable[tuple]) -> list[tuple] | None:
    """The elements to drop so that the errors at ``locs`` go, or None when one of them is read.

    An extension (``extension[i]``) may be dropped when eligimatch does not read its URL,
    even on a type whose extensions are read (mCODE histology is read on Condition).
    """
    read = READ_ELEMENTS.get(rtype, frozenset())
    out: list[tuple] = []
    for loc in locs:
        top = _top(tuple(loc))
        if not top or top[0] in _NEVER_DROPPED or str(top[0]).startswith("_"):
            return None
        if top[0] == "extension" and len(top) == 2:
            ext = (raw.get("extension") or [None] * (top[1] + 1))[top[1]] if isinstance(raw.get("extension"),
                                                                                         list) else None
            url = ext.get("url") if isinstance(ext, dict) else None
            if url in _READ_EXTENSIONS:
                return None
        elif top[0] in read:
            return None
        if top not in out:
            out.append(top)
    return out


#: Extension URLs eligimatch reads (an error inside one quarantines the resource).
_READ_EXTENSIONS = frozenset({
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
    "http://hl7.org/fhir/StructureDefinition/condition-related",
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality",
    DAR_URL,
})


def drop(raw: dict, tops: list[tuple]) -> dict:
    """A copy of ``raw`` without the elements ``tops`` (``("name",)`` or ``("extension", 2)``)."""
    out = dict(raw)
    ext_drop = sorted((t[1] for t in tops if len(t) == 2), reverse=True)
    for t in tops:
        if len(t) == 1:
            out.pop(t[0], None)
    if ext_drop and isinstance(out.get("extension"), list):
        exts = list(out["extension"])
        for i in ext_drop:
            if 0 <= i < len(exts):
                del exts[i]
        if exts:
            out["extension"] = exts
        else:
            del out["extension"]
    return out


def _has_dar(node: Any) -> str | None:
    """The data-absent-reason code of an element's extensions (or ``"?"``), or None."""
    if not isinstance(node, dict):
        return None
    for ext in node.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == DAR_URL:
            return str(ext.get("valueCode") or "?")
    return None


def absent_elements(raw: dict) -> dict[str, str]:
    """Top-level elements of ``raw`` marked absent: ``{element: reason code}``.

    A primitive is marked by its ``_element`` sibling's data-absent-reason extension, a
    complex element by its own extension (or one on a primitive inside it, such as
    ``valueQuantity._value``); an Observation's ``dataAbsentReason`` marks its value[x].
    """
    out: dict[str, str] = {}
    for key, node in raw.items():
        if key.startswith("_") and len(key) > 1:
            reason = _has_dar(node)
            if reason:
                out[key[1:]] = reason
        elif isinstance(node, dict) and key not in ("meta", "text"):
            reason = _has_dar(node) or next((r for k, v in node.items() if k.startswith("_")
                                             for r in [_has_dar(v)] if r), None)
            if reason:
                out[key] = reason
    dar = raw.get("dataAbsentReason")
    if isinstance(dar, dict):
        code = next((c.get("code") for c in dar.get("coding") or () if isinstance(c, dict) and c.get("code")),
                    None) or dar.get("text") or "?"
        for key in raw:
            if key.startswith("value") and key != "value":
                out[key] = str(code)
    return out
