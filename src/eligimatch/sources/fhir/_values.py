"""Small FHIR readers: codings of a CodeableConcept, dates, units of a Quantity, verification status, and the
status rules of each resource type (docs/fhir.md)."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from eligimatch.sources._codes import SYSTEMS as _SYSTEMS

__all__ = ["VERIFICATION_CODES"]

# Status rules (docs/fhir.md).
_OBS_USED = {"final", "amended", "corrected"}
_COND_CLINICAL = {
    "active": "active",
    "recurrence": "active",
    "relapse": "active",
    "inactive": "inactive",
    "remission": "remission",
    "resolved": "resolved",
}
_MED_IGNORED = {"entered-in-error", "not-taken", "cancelled"}
_MED_NOT_YET = {"intended", "draft"}
_MED_ORDER_INTENTS = {"order", "original-order", "reflex-order", "filler-order", "instance-order"}
_ADMIN_USED = {"completed", "in-progress", "on-hold", "stopped"}
_PROC_USED = {"completed", "in-progress"}

# Days in one FHIR timing period unit; months and years have no fixed length.
_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0}
# HL7 v3 GTSAbbreviation timing codes with a fixed number of administrations a day.
_TIMING_CODES = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "Q4H": 6.0, "Q6H": 4.0, "Q8H": 3.0,
                 "AM": 1.0, "PM": 1.0}

# Why a resource type is not mapped (the report says so for each resource of that type).
_TYPE_REASONS = {
    "Encounter": "visits are not part of an eligimatch profile",
    "Claim": "billing record",
    "ExplanationOfBenefit": "billing record",
    "Coverage": "insurance record",
    "Organization": "not patient data",
    "Practitioner": "not patient data",
    "PractitionerRole": "not patient data",
    "Location": "not patient data",
    "Provenance": "audit record",
    "Immunization": "vaccinations are not mapped: the drug catalog has no CVX vaccine codes",
    "DiagnosticReport": "a report: its results are mapped from their own Observation resources",
    "DocumentReference": "a document: free text is not read",
    "AllergyIntolerance": "allergies are not part of an eligimatch profile",
    "CarePlan": "plans are not part of an eligimatch profile",
    "CareTeam": "not patient data",
    "Goal": "plans are not part of an eligimatch profile",
    "ImagingStudy": "images are not read",
    "Device": "devices are not part of an eligimatch profile",
    "SupplyDelivery": "supplies are not part of an eligimatch profile",
    "Medication": "a medication definition: mapped only through the records that reference it",
}

_REF_TAIL = re.compile(r"(?:^|/)([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def _codings(cc: Any) -> list[tuple[str | None, str, str | None]]:
    """(eligimatch system name or the raw system, code, display) of a CodeableConcept's codings."""
    out = []
    for c in getattr(cc, "coding", None) or ():
        if c.code is None:
            continue
        system = _SYSTEMS.get(c.system or "", c.system)
        out.append((system, str(c.code).strip(), c.display))
    return out


_VERIFICATION_ORDER = ("entered-in-error", "refuted", "unconfirmed", "provisional", "differential", "confirmed")
#: the codes of the R4 value set condition-ver-status (http://hl7.org/fhir/R4/valueset-condition-ver-status.html)
VERIFICATION_CODES = frozenset(_VERIFICATION_ORDER)
_UNCERTAIN = ("unconfirmed", "provisional", "differential")


def _verification(cc: Any) -> str | None:
    """A Condition's verificationStatus, from every coding and from the text: a "refuted" or
    "entered-in-error" anywhere wins over the other codings (a second coding, or only the text), then an
    uncertain one (unconfirmed, provisional, differential), then a *coded* value outside the R4 value set
    (it may mean anything: it is returned as given, and never read as confirmed); "confirmed" only when
    nothing else is said.  A text alone that is none of the codes is returned as given (unrecognised)."""
    if cc is None:
        return None
    codes = [code.strip().lower().replace(" ", "-").replace("_", "-") for _, code, _ in _codings(cc)]
    found = list(codes)
    text = getattr(cc, "text", None)
    if text and text.strip():
        found.append(text.strip().lower().replace(" ", "-").replace("_", "-"))
    for code in _VERIFICATION_ORDER[:-1]:
        if code in found:
            return code
    unrecognised = [code for code in codes if code not in VERIFICATION_CODES]
    if unrecognised:
        return unrecognised[0]
    if "confirmed" in found:
        return "confirmed"
    return found[0] if found else None


def _abated(c: Any) -> bool:
    """Whether a Condition carries an abatement of any type (R4: dateTime, Age, Period, Range, string)."""
    return any(getattr(c, attr, None) is not None for attr in
               ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString"))


def _code_labels(cc: Any) -> tuple[str, ...]:
    labels = []
    for system, code, _ in _codings(cc):
        labels.append(f"{system or 'no system'}:{code}")
    if not labels and getattr(cc, "text", None):
        labels.append(f"text {cc.text!r}")
    return tuple(labels)


def _names(cc: Any) -> list[str]:
    """Human names of a CodeableConcept: its text, then the codings' displays."""
    out = []
    text = getattr(cc, "text", None)
    if text and text.strip():
        out.append(text.strip())
    for _, _, display in _codings(cc):
        if display and display.strip() and display.strip() not in out:
            out.append(display.strip())
    return out


def _first_name(cc: Any) -> str | None:
    names = _names(cc)
    return names[0] if names else None


#: ResearchSubject.status values of a patient who takes or took part in the study.
_STUDY_TAKING_PART = frozenset({"on-study", "on-study-intervention", "on-study-observation", "follow-up", "off-study",
                                "withdrawn"})


def _fhir_date(value: Any) -> tuple[Any, str | None]:
    """A FHIR date/dateTime -> (date or partial date text, note).

    A timestamp gives the calendar date *as written in it* (its own offset),
    never converted to UTC or to the machine's zone: 2024-03-01T23:30:00-05:00
    is 2024-03-01.
    """
    if value is None:
        return None, None
    if isinstance(value, _dt.datetime):
        return value.date(), None
    if isinstance(value, _dt.date):
        return value, None
    if isinstance(value, str):
        m = re.match(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value.strip())
        if m:
            return m.group(0), None
    return None, f"date {value!r} not understood"


def _exact_date(value: Any) -> tuple[_dt.date | None, str | None]:
    """Like :func:`_fhir_date` but only a full date; a partial one gives None and a note."""
    d, note = _fhir_date(value)
    if d is None or isinstance(d, _dt.date):
        return d, note
    return None, f"date {d} is known only to the {'year' if len(d) == 4 else 'month'}: taken as undated"


def _unit_of(q: Any) -> tuple[str | None, str | None]:
    """(UCUM code if the quantity gives one, the unit text): ``code`` is preferred over ``unit``."""
    code = q.code if q.code and (q.system is None or _SYSTEMS.get(q.system) == "UCUM") else None
    return code, q.unit


def _period_days(unit: str | None) -> float | None:
    return _PERIOD_DAYS.get(unit or "")
