"""Patients from FHIR R4: EHR exports and Synthea bundles become eligimatch profiles.

    from eligimatch.sources.fhir._bundle import patient_from_bundle
    imported = patient_from_bundle("synthea/Jane_Doe.json")
    imported.patient                 # an eligimatch.Patient
    print(imported.report.text())    # what was mapped, skipped, not mapped, and why

Entry points
============
* :func:`patient_from_bundle` -- one FHIR ``Bundle`` (a dict, JSON text, bytes
  or a file path) describing one patient.
* :func:`patient_from_ndjson` -- FHIR Bulk Data export files (NDJSON: one
  resource per line, usually one file per resource type).
* :func:`load_patient_file` -- any patient file: an eligimatch patient document,
  a FHIR Bundle or NDJSON, recognised by its content (:func:`sniff`).

Each returns (the first two) a :class:`FhirImport`: the :class:`~eligimatch.Patient`
and a :class:`MappingReport` in which *every* resource of the input appears,
with what became of it (mapped, skipped, not mapped, rejected) and why.

Parsing
=======
Resources are validated with the pydantic models of ``fhir.resources``
(``fhir.resources.R4B``: FHIR 4.3, whose clinical resources -- Patient,
Observation, Condition, Medication*, Procedure -- are those of R4 4.0.1).  It is an
optional dependency (``pip install 'eligimatch[fhir]'``), imported only when a
FHIR document is read, so ``import eligimatch`` stays fast.  Invalid FHIR raises
:class:`~eligimatch.errors.FhirError` naming the resource (type, id, position
in the bundle or line of the NDJSON file) and the path inside it.

The mapping rules, status rules and report are documented in ``docs/fhir.md``.
In short: a record is put into the profile only when its meaning is certain
(a final result, a confirmed diagnosis, a code the catalogs know, a unit that
applies to the analyte); everything else is listed in the report and left out,
so that what eligimatch does not understand stays *unknown* rather than
becoming a wrong yes or no.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eligimatch.errors import FhirError, PatientDataError, UnitError
from eligimatch.sources.fhir._lenient import READ_ELEMENTS, absent_elements, drop, droppable, older_version, placeholder
from eligimatch.sources.fhir._oncology import OncologyMixin
from eligimatch.sources._patient import (
    Completeness,
    Condition,
    Dose,
    Fact,
    Observation,
    Patient,
    Procedure,
    ReferenceRange,
    Source,
    StudyParticipation,
    Therapy,
    load_patient,
)
from eligimatch._safeio import InputError, loads_strict, read_bounded

__all__ = [
    "FhirImport",
    "MappingReport",
    "ReportLine",
    "patient_from_bundle",
    "patient_from_ndjson",
    "load_patient_file",
    "patient_from_fhir_data",
    "import_fhir_data",
    "sniff",
    "FHIR_FILE_LIMIT",
]

#: A FHIR file larger than this (bytes) is refused rather than read into memory.
FHIR_FILE_LIMIT = 256 * 1024 * 1024

# --------------------------------------------------------------------------- code systems

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"

# Canonical URL or HL7 OID -> the system name used in eligimatch codes.
_SYSTEMS = {
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

# LOINC codes read into facts rather than observations.
ECOG_LOINC = "89247-1"  # ECOG Performance Status score
KARNOFSKY_LOINC = "89243-0"  # Karnofsky Performance Status score
PREGNANCY_LOINC = "82810-3"  # Pregnancy status

# LOINC answer list LL529-9 (ECOG performance status).
_ECOG_ANSWERS = {"LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5}
# Answers of 82810-3: LOINC LA codes and the SNOMED CT findings used by US Core / IPS.
_PREGNANCY_ANSWERS = {
    ("LOINC", "LA15173-0"): True,  # Pregnant
    ("LOINC", "LA26683-5"): False,  # Not pregnant
    ("SNOMED", "77386006"): True,  # Patient currently pregnant
    ("SNOMED", "60001007"): False,  # Not pregnant
}
_UNKNOWN_ANSWERS = {("LOINC", "LA4489-6"), ("SNOMED", "261665006")}  # Unknown

# SNOMED CT route of administration (qualifier values) -> Therapy.route.
_ROUTES = {
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

# R4 resource types that R4B removed: valid R4, but fhir.resources.R4B has no model to validate them.
_R4_ONLY = frozenset({
    "MedicinalProduct", "MedicinalProductAuthorization", "MedicinalProductContraindication",
    "MedicinalProductIndication", "MedicinalProductIngredient", "MedicinalProductInteraction",
    "MedicinalProductManufactured", "MedicinalProductPackaged", "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect", "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
    "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification",
    "EffectEvidenceSynthesis", "RiskEvidenceSynthesis",
})

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

_SALTS = frozenset({
    "hydrochloride", "dihydrochloride", "sulfate", "sodium", "potassium", "calcium", "magnesium", "acetate",
    "phosphate", "citrate", "maleate", "tartrate", "succinate", "mesylate", "besylate", "fumarate", "bromide",
    "chloride", "hyclate", "monohydrate",
})
_LEADING_QUANTITY = re.compile(r"^(?:\d+(?:\.\d+)?\s+[A-Z][A-Z_]*\s+)+")
_REF_TAIL = re.compile(r"(?:^|/)([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")

OUTCOMES = ("mapped", "skipped", "unmapped", "rejected", "quarantined", "note")


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ReportLine:
    """What became of one resource (or one part of it).

    ``outcome`` is one of:

    * ``mapped`` -- put into the profile; ``target`` says where.
    * ``skipped`` -- understood but deliberately left out (a preliminary result,
      a refuted diagnosis, an entered-in-error medication, a duplicate...).
    * ``unmapped`` -- eligimatch has nothing it maps to (a resource type it does
      not use, a code the catalogs do not know); ``codes`` lists the codes.
    * ``rejected`` -- content that cannot be used safely (a unit that does not
      apply to the analyte, a value given as "< 0.5", an invalid record).
    * ``quarantined`` -- a resource that is not valid FHIR R4 (or is in the shape
      of an older FHIR version), set aside whole; ``reason`` gives the path and why.
    * ``note`` -- a caveat on something mapped (sex unknown, a partial date...).
    """

    outcome: str
    resource_type: str
    resource_id: str | None
    where: str
    reason: str
    index: int | None = None
    codes: tuple[str, ...] = ()
    target: str | None = None

    @property
    def label(self) -> str:
        """``Observation/abc`` (or just the type when the resource has no id)."""
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.resource_type

    def render(self) -> str:
        text = f"{self.where}: {self.label}: {self.reason}"
        if self.codes:
            text += f" [{', '.join(self.codes)}]"
        if self.target:
            text += f" -> {self.target}"
        return text


@dataclass(frozen=True)
class MappingReport:
    """Every resource of the input and what became of it; see :class:`ReportLine`."""

    lines: tuple[ReportLine, ...] = ()
    resources: int = 0

    def by_outcome(self, outcome: str) -> tuple[ReportLine, ...]:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}")
        return tuple(line for line in self.lines if line.outcome == outcome)

    @property
    def mapped(self) -> tuple[ReportLine, ...]:
        return self.by_outcome("mapped")

    @property
    def not_mapped(self) -> tuple[ReportLine, ...]:
        """Everything left out of the profile: skipped, unmapped, rejected and quarantined lines."""
        return tuple(line for line in self.lines if line.outcome in ("skipped", "unmapped", "rejected", "quarantined"))

    @property
    def quarantined(self) -> tuple[ReportLine, ...]:
        """Resources set aside because they are not valid FHIR R4 (path and reason in each line)."""
        return self.by_outcome("quarantined")

    @property
    def notes(self) -> tuple[ReportLine, ...]:
        return self.by_outcome("note")

    @property
    def unmapped_types(self) -> tuple[str, ...]:
        """Resource types none of whose resources were mapped (sorted)."""
        mapped = {line.resource_type for line in self.lines if line.outcome == "mapped"}
        return tuple(sorted({line.resource_type for line in self.lines} - mapped))

    def for_resource(self, resource_type: str, resource_id: str | None) -> tuple[ReportLine, ...]:
        return tuple(l for l in self.lines if l.resource_type == resource_type and l.resource_id == resource_id)

    def counts(self) -> dict[str, int]:
        out = {o: 0 for o in OUTCOMES}
        for line in self.lines:
            out[line.outcome] += 1
        return out

    def text(self, *, verbose: bool = False) -> str:
        """A readable report.  Resources of a type that is not mapped at all are
        grouped on one line per reason unless ``verbose``."""
        c = self.counts()
        out = [f"FHIR import: {self.resources} resource(s); {c['mapped']} record(s) mapped, {c['skipped']} skipped, "
               f"{c['unmapped']} not mapped, {c['rejected']} rejected, {c['quarantined']} quarantined, "
               f"{c['note']} note(s)."]
        titles = {"mapped": "Mapped", "skipped": "Skipped", "unmapped": "Not mapped", "rejected": "Rejected",
                  "quarantined": "Quarantined (not valid FHIR R4)", "note": "Notes"}
        whole_types = set(self.unmapped_types)
        for outcome in ("quarantined", "rejected", "skipped", "unmapped", "note", "mapped"):
            lines = self.by_outcome(outcome)
            if not lines:
                continue
            out.append(f"{titles[outcome]}:")
            grouped: dict[tuple[str, str], list[ReportLine]] = {}
            for line in lines:
                if not verbose and outcome == "unmapped" and line.resource_type in whole_types and not line.codes:
                    grouped.setdefault((line.resource_type, line.reason), []).append(line)
                else:
                    out.append("  " + line.render())
            for (rtype, reason), group in grouped.items():
                places = ", ".join(l.where for l in group[:5]) + (", ..." if len(group) > 5 else "")
                out.append(f"  {rtype}: {len(group)} resource(s) not mapped: {reason} ({places})")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True)
class FhirImport:
    """The result of reading FHIR: the patient profile and the mapping report."""

    patient: Patient
    report: MappingReport


# --------------------------------------------------------------------------- input


@dataclass
class _Item:
    """One resource of the input, before and after validation."""

    raw: dict
    where: str
    index: int | None
    file: str | None = None
    full_url: str | None = None
    model: Any = None
    rtype: str = ""
    rid: str | None = None
    usable: bool = True
    quarantine: str | None = None  # why the resource is set aside (lenient reading)
    notes: tuple[str, ...] = ()  # caveats found while validating (dropped elements, absent values)


def _fhir_models() -> Any:
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError:
        raise FhirError(
            "reading FHIR needs the optional dependency fhir.resources: pip install 'eligimatch[fhir]'"
        ) from None
    return get_fhir_model_class


def _json_loads(text: str | bytes, what: str) -> Any:
    """JSON text read strictly (:func:`eligimatch._safeio.loads_strict`): a byte-order mark is dropped,
    ``NaN``/``Infinity`` are refused, and so is an object that repeats a key (which value was meant cannot
    be told, D12), with the key's path."""
    try:
        return loads_strict(text, what)
    except InputError as exc:
        raise FhirError(str(exc), path=exc.path) from None


def _read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a FHIR file, bounded by the bytes *read* (:func:`eligimatch._safeio.read_bounded`):
    ``/dev/zero`` (which claims 0 bytes) is stopped at the limit and a named pipe or device is refused
    without waiting for it (D15)."""
    p = Path(path)
    try:
        return read_bounded(p, FHIR_FILE_LIMIT, "FHIR file")
    except InputError as exc:
        raise FhirError(str(exc)) from None
    except OSError as exc:
        raise FhirError(f"{p}: cannot read the file: {exc.strerror or exc}") from None


def sniff(data: bytes | str) -> str | None:
    """What a patient file holds: ``"bundle"`` (a FHIR Bundle), ``"ndjson"`` (FHIR
    resources one per line), ``"resource"`` (a single FHIR resource that is not a
    Bundle) or ``None`` (anything else, e.g. an eligimatch patient document).

    Looks at the content only (the first JSON value), never at the file name.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        return None
    first_line, _, rest = head.partition(b"\n")
    try:
        doc = json.loads(head)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        rt = doc.get("resourceType")
        if rt == "Bundle":
            return "bundle"
        return "resource" if isinstance(rt, str) else None
    # Not one JSON document: NDJSON if the first line is a FHIR resource.
    try:
        line = json.loads(first_line)
    except ValueError:
        return None
    if isinstance(line, dict) and isinstance(line.get("resourceType"), str) and rest.strip():
        return "ndjson"
    return None


_ENTRY_KEYS = frozenset({"fullUrl", "resource", "search", "request", "response", "link", "id", "extension",
                         "modifierExtension"})


def _bundle_items(bundle: Any, source: str = "bundle", strict: bool = False) -> tuple[list[_Item], list[str]]:
    """The resources of a Bundle, and notes on its envelope.

    Leniently (``strict=False``) a document that is a ``Bundle.entry`` wrapping a Bundle
    is unwrapped, and a Bundle inside an entry has its own entries read (both noted).
    """
    if isinstance(bundle, os.PathLike) or (isinstance(bundle, str) and not bundle.lstrip().startswith("{")):
        source = os.fspath(bundle)
        bundle = _json_loads(_read_file(bundle), source)
    elif isinstance(bundle, (str, bytes, bytearray)):
        bundle = _json_loads(bytes(bundle) if isinstance(bundle, bytearray) else bundle, source)
    if not isinstance(bundle, dict):
        raise FhirError(f"{source}: expected a FHIR Bundle (a JSON object), got {type(bundle).__name__}")
    notes: list[str] = []
    rt = bundle.get("resourceType")
    inner = bundle.get("resource")
    if (not strict and rt is None and isinstance(inner, dict) and inner.get("resourceType") == "Bundle"
            and set(bundle) <= _ENTRY_KEYS):
        notes.append("the document is a Bundle.entry wrapping a Bundle, not a Bundle: the wrapped Bundle is read")
        bundle, rt = inner, "Bundle"
    if rt != "Bundle":
        raise FhirError(f"{source}: expected a FHIR Bundle, got resourceType {rt!r}"
                        + ("; give NDJSON files to patient_from_ndjson" if rt is None else ""))
    items: list[_Item] = []
    _envelope_items(bundle, source, strict, "", None, items, notes, depth=0)
    return items, notes


def _envelope_items(bundle: dict, source: str, strict: bool, prefix: str, outer: int | None, items: list[_Item],
                    notes: list[str], depth: int) -> None:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FhirError(f"{source}: {prefix}Bundle.entry must be a list", path="Bundle.entry")
    # Validate the envelope (type, links, entry fullUrl/request/search...) without the resources.
    shell = dict(bundle)
    shell["entry"] = [({k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e) for e in entries]
    if not shell["entry"]:
        del shell["entry"]
    model_class = _fhir_models()
    try:
        model_class("Bundle").model_validate(shell)
    except ValidationError as exc:
        error = _validation_error(exc, "Bundle", bundle.get("id"), outer, f"{prefix}the Bundle" if prefix else
                                  "the Bundle", source)
        if strict:
            raise error from None
        # the envelope (links, search modes, fullUrls) holds no patient data: said, and the resources are read
        notes.append(f"{prefix + 'the' if prefix else 'the'} Bundle envelope is not valid FHIR R4 "
                     f"({_error_summary(error)}): its resources are read one by one")
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        where = f"{prefix}entry {i}"
        if (isinstance(resource, dict) and resource.get("resourceType") == "Bundle" and depth < 2
                and isinstance(resource.get("entry"), list)):
            notes.append(f"{where} is a Bundle ({resource.get('type', 'no type')}): its "
                         f"{len(resource['entry'])} entries are read as part of this input")
            _envelope_items(resource, source, strict, f"{where} > ", i if outer is None else outer, items, notes,
                            depth + 1)
            continue
        items.append(_Item(raw=resource, where=where, index=i if outer is None else outer,
                           file=None if source == "bundle" else source, full_url=full_url))


def _ndjson_items(paths: Any) -> list[_Item]:
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    return _ndjson_data_items((os.fspath(path), _read_file(path)) for path in paths)


def _ndjson_data_items(sources: Iterable[tuple[str, bytes]]) -> list[_Item]:
    items: list[_Item] = []
    for name, data in sources:
        for n, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{Path(name).name} line {n}"
            raw = _json_loads(line, f"{name} line {n}")
            if not isinstance(raw, dict):
                raise FhirError(f"{where}: expected a FHIR resource (a JSON object), got {type(raw).__name__}",
                                index=n, file=name)
            items.append(_Item(raw=raw, where=where, index=n, file=name))
    if not items:
        raise FhirError("no FHIR resources in the NDJSON input")
    return items


def _loc_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _validation_error(exc: ValidationError, rtype: str, rid: Any, index: int | None, where: str,
                      file: str | None) -> FhirError:
    errors = exc.errors(include_url=False)
    label = f"{rtype}/{rid if rid.isprintable() else repr(rid)}" if isinstance(rid, str) and rid else rtype
    lines = [f"invalid FHIR in {where} ({label}): {len(errors)} problem{'s' if len(errors) != 1 else ''}:"]
    if file:
        lines[0] = f"{file}: " + lines[0]
    first_path = None
    for err in errors:
        path = rtype + ("." + _loc_path(err["loc"]) if err["loc"] else "")
        first_path = first_path or path
        msg = re.sub(r"^Value error, ", "", str(err.get("msg", "invalid")))
        given = err.get("input")
        shown = "" if isinstance(given, (dict, list)) or given is None else f" (got {given!r:.60})"
        if placeholder(given):
            msg, shown = "a template's placeholder, not a date", f" (got {given!r})"
        lines.append(f"  {path}: {msg}{shown}")
    clean = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in errors]
    return FhirError("\n".join(lines), clean, resource_type=rtype, resource_id=rid if isinstance(rid, str) else None,
                     index=index, path=first_path, file=file)


#: The resource types eligimatch reads; ``validate="used"`` validates only these.
USED_TYPES = frozenset({"Patient", "Observation", "Condition", "Procedure", "MedicationStatement",
                        "MedicationRequest", "MedicationAdministration", "Medication"})


def _error_summary(error: FhirError, limit: int = 3) -> str:
    """The problems of a validation error on one line: ``path: why; path: why``."""
    problems = [line.strip() for line in str(error).splitlines()[1:]]
    if not problems:
        return str(error).split(": ", 1)[-1]
    shown = "; ".join(problems[:limit])
    return shown + (f"; and {len(problems) - limit} more" if len(problems) > limit else "")


def _set_aside(item: _Item, error: FhirError, strict: bool, reason: str) -> None:
    if strict:
        raise error
    item.quarantine = reason
    item.usable = False
    item.model = None


def _validate(items: list[_Item], validate: str = "all", strict: bool = False) -> None:
    """Validate each resource on its own.

    ``strict``: the first invalid resource raises :class:`FhirError` (all or nothing).
    Otherwise an invalid resource is quarantined (``item.quarantine`` says why) unless its
    only errors are in elements eligimatch does not read, which are then dropped (noted).
    """
    if validate not in ("all", "used"):
        raise ValueError(f"validate must be 'all' or 'used', got {validate!r}")
    model_class = _fhir_models()
    from fhir.resources.R4B.resource import Resource

    for item in items:
        raw = item.raw
        if raw is None:
            continue
        prefix = f"{item.file}: " if item.file else ""
        if not isinstance(raw, dict):
            _set_aside(item, FhirError(f"{prefix}{item.where}: the resource must be a JSON object", index=item.index,
                                       file=item.file), strict, "the resource is not a JSON object")
            continue
        rtype = raw.get("resourceType")
        rid = raw.get("id")
        item.rid = rid if isinstance(rid, str) else None
        if not isinstance(rtype, str) or not rtype:
            _set_aside(item, FhirError(f"{prefix}{item.where}: the resource has no resourceType (a string naming its "
                                       "type)", index=item.index, path="resourceType", file=item.file),
                       strict, "no resourceType: what this resource is cannot be told")
            continue
        item.rtype = rtype
        if rtype in _R4_ONLY:
            continue  # reported later as not mapped (and not validated)
        try:
            cls = model_class(rtype)
        except (ValueError, KeyError, AttributeError):
            cls = None
        if cls is None or not issubclass(cls, Resource) or rtype in ("Resource", "DomainResource"):
            old = older_version(raw)
            _set_aside(item, FhirError(f"{prefix}{item.where}: {rtype!r} is not a FHIR R4 resource type"
                                       + (f" ({old})" if old else ""), resource_type=rtype,
                                       resource_id=item.rid, index=item.index, path="resourceType", file=item.file),
                       strict, old or f"{rtype!r} is not a FHIR R4 resource type")
            continue
        if validate == "used" and rtype not in USED_TYPES:
            continue
        try:
            item.model = cls.model_validate(raw)
        except ValidationError as exc:
            error = _validation_error(exc, rtype, rid, item.index, item.where, item.file)
            old = older_version(raw)
            if strict:
                if old:
                    error = FhirError(f"{error}\n  (the resource is {old})", error.errors,
                                      resource_type=error.resource_type, resource_id=error.resource_id,
                                      index=error.index, path=error.path, file=error.file)
                raise error from None
            _salvage(item, cls, exc, error, old)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:  # a validator that raised outside pydantic
            _set_aside(item, FhirError(f"{prefix}invalid FHIR in {item.where} ({rtype}): {exc}", resource_type=rtype,
                                       resource_id=item.rid, index=item.index, file=item.file),
                       strict, f"invalid FHIR: {exc}")
            continue
        if item.model is not None:
            _absent_values(item)


def _salvage(item: _Item, cls: Any, exc: ValidationError, error: FhirError, old: str | None) -> None:
    """Keep a resource whose errors are all in elements eligimatch does not read; else quarantine it."""
    raw = item.raw
    summary = _error_summary(error)
    # A resource in an older version's shape is not read as R4, except the Patient's demographics
    # (birthDate, gender, deceased), which every FHIR version writes alike.
    if old and item.rtype != "Patient":
        _set_aside(item, error, False, f"{old}: not read as R4 ({summary})")
        return
    tops = droppable(item.rtype, raw, [tuple(e["loc"]) for e in exc.errors(include_url=False)])
    if tops:
        try:
            item.model = cls.model_validate(drop(raw, tops))
        except (ValidationError, ValueError, TypeError, KeyError):
            item.model = None
        if item.model is not None:
            shown = ", ".join(item.rtype + "." + _loc_path(t) for t in tops)
            item.notes += (f"invalid element(s) {shown} dropped: eligimatch does not read them ({summary})"
                           + (f"; the resource is {old}" if old else ""),)
            return
    _set_aside(item, error, False, f"invalid FHIR R4: {summary}" + (f" (the resource is {old})" if old else ""))


def _absent_values(item: _Item) -> None:
    """Values marked absent (data-absent-reason) are not used: the model's element is cleared."""
    absent = absent_elements(item.raw)
    if not absent:
        return
    read = READ_ELEMENTS.get(item.rtype, frozenset())
    update = {}
    for element, reason in absent.items():
        if element not in read:
            continue
        present = getattr(item.model, element, None) is not None
        if present:
            update[element] = None
            item.notes += (f"{element} is given with a data-absent-reason ({reason}): the value is not used",)
        else:
            item.notes += (f"{element} is absent (data-absent-reason: {reason})",)
    if update:
        item.model = item.model.model_copy(update=update)


# --------------------------------------------------------------------------- small readers


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value) if isinstance(value, (int, float, Decimal, str)) else None
    except (ValueError, OverflowError):
        return None
    return f if f is not None and math.isfinite(f) else None


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


# --------------------------------------------------------------------------- the mapper


@dataclass
class _FactCandidate:
    value: Any
    date: Any
    item: _Item
    label: str


class _Mapper(OncologyMixin):
    def __init__(self, items: list[_Item], catalogs: Any, complete: Completeness, patient_id: str | None,
                 input_notes: Iterable[str] = (), terminology: Any = None):
        from eligimatch.knowledge._terminology import default_terminology

        self.items = items
        self.catalogs_facts = catalogs.facts
        self.condition_items: list[_Item] = []  # the item of each of self.conditions
        self.terminology = terminology if terminology is not None else default_terminology()
        self.input_notes = tuple(input_notes)
        self.cat = catalogs
        self.complete = complete
        self.patient_id = patient_id
        self.lines: list[ReportLine] = []
        self.observations: list[Observation] = []
        self.conditions: list[Condition] = []
        self.therapies: list[Therapy] = []
        self.procedures: list[Procedure] = []
        self.studies: list[StudyParticipation] = []
        self.facts: dict[str, list[_FactCandidate]] = {}
        self.doubt: dict[str, int] = {"conditions": 0, "therapies": 0, "procedures": 0}
        self.by_url: dict[str, _Item] = {}
        self.by_key: dict[tuple[str, str], _Item] = {}
        self.patient_item: _Item | None = None
        self.medication_users: dict[int, list[str]] = {}
        self.conflicting: list[tuple[str, str]] = []

    # ---- report helpers
    def add(self, outcome: str, item: _Item, reason: str, codes: tuple[str, ...] = (), target: str | None = None,
            history: str | None = None) -> None:
        self.lines.append(ReportLine(outcome, item.rtype or "(no resourceType)", item.rid, item.where, reason,
                                     item.index, codes, target))
        if history and outcome in ("unmapped", "rejected"):
            self.doubt[history] += 1

    def doubtful(self, history: str) -> None:
        self.doubt[history] += 1

    def source(self, item: _Item) -> Source:
        return Source(type=item.rtype, id=item.rid or item.full_url)

    # ---- indexing, duplicates, the patient
    def index(self) -> None:
        groups: dict[tuple[str, str], list[_Item]] = {}
        for item in self.items:
            if item.raw is None:
                self.lines.append(ReportLine("skipped", "(no resource)", None, item.where,
                                             "the entry holds no resource (e.g. a deletion in a history bundle)",
                                             item.index))
                item.usable = False
                continue
            if item.quarantine is not None:
                self.add("quarantined", item, item.quarantine)
                self.doubtful_for(item, unknown_type=True)
            for note in item.notes:
                self.add("note", item, note)
            if item.rid:
                groups.setdefault((item.rtype, item.rid), []).append(item)
            if item.full_url:
                other = self.by_url.get(item.full_url)
                if other is not None:
                    self.add("note", item, f"fullUrl {item.full_url} is also the fullUrl of {other.where}")
                else:
                    self.by_url[item.full_url] = item
        for key, group in groups.items():
            self.by_key[key] = group[0]
            group = [g for g in group if g.quarantine is None]
            if len(group) <= 1:
                continue
            first = group[0]
            if all(g.raw == first.raw for g in group[1:]):
                for g in group[1:]:
                    g.usable = False
                    self.add("skipped", g, f"duplicate of {first.where} (same id, identical content)")
            else:
                self.conflicting.append(key)
                places = ", ".join(g.where for g in group)
                for g in group:
                    g.usable = False
                    self.add("rejected", g, f"{key[0]}/{key[1]} appears {len(group)} times with different "
                                            f"content ({places}); none of them is used")
                    self.doubtful_for(g)

    def doubtful_for(self, item: _Item, unknown_type: bool = False) -> None:
        """A record of a history could not be used: that history cannot be complete.  With
        ``unknown_type``, a resource whose type is not a known R4 type (a DSTU2 MedicationOrder,
        a misspelt type) could be a record of any history."""
        history = {"Condition": "conditions", "Procedure": "procedures", "MedicationStatement": "therapies",
                   "MedicationRequest": "therapies", "MedicationAdministration": "therapies",
                   "MedicationOrder": "therapies", "Medication": "therapies"}.get(item.rtype)
        if history:
            self.doubtful(history)
        elif unknown_type and item.model is None and item.rtype not in _TYPE_REASONS and item.rtype != "Patient":
            for h in self.doubt:
                self.doubtful(h)

    def find_patient(self) -> _Item:
        # identical copies of a Patient were marked unusable but the first (index())
        patients = [i for i in self.items if i.rtype == "Patient" and i.raw is not None and i.usable]
        for rtype, rid in self.conflicting:
            if rtype == "Patient":
                first = self.by_key[(rtype, rid)]
                raise FhirError(f"{first.where}: Patient/{rid} appears more than once with different content",
                                resource_type="Patient", resource_id=rid, index=first.index, file=first.file)
        if self.patient_id is not None:
            chosen = [p for p in patients if p.rid == self.patient_id]
            if not chosen:
                known = ", ".join(sorted(p.rid or "(no id)" for p in patients)) or "none"
                raise FhirError(f"no Patient with id {self.patient_id!r} in the input (Patients: {known})")
            for p in patients:
                if p is not chosen[0]:
                    p.usable = False
                    self.add("skipped", p, f"another patient (Patient/{self.patient_id} was selected)")
            return chosen[0]
        if not patients:
            set_aside = [i for i in self.items if i.rtype == "Patient" and i.quarantine is not None]
            if set_aside:
                first = set_aside[0]
                raise FhirError(f"the input holds no usable Patient: {first.where} (Patient/{first.rid}) is not valid "
                                f"FHIR R4: {first.quarantine}", resource_type="Patient", resource_id=first.rid,
                                index=first.index, file=first.file)
            raise FhirError("the input holds no Patient resource: a FHIR bundle must describe one patient")
        if len(patients) > 1:
            shown = ", ".join(f"Patient/{p.rid} ({p.where})" for p in patients[:5])
            raise FhirError(f"the input holds {len(patients)} Patient resources ({shown}"
                            f"{', ...' if len(patients) > 5 else ''}); it must describe one patient "
                            "(choose one with patient_id=...)", resource_type="Patient")
        return patients[0]

    def resolve(self, reference: str | None) -> _Item | None:
        """The input resource a reference names: by fullUrl, else by its ``Type/id`` tail."""
        if not reference:
            return None
        if reference.startswith("#"):
            return None
        hit = self.by_url.get(reference)
        if hit is not None:
            return hit
        m = _REF_TAIL.search(reference)
        if m:
            return self.by_key.get((m.group(1), m.group(2)))
        return None

    def belongs(self, item: _Item, ref: Any, what: str) -> bool:
        """Whether ``ref`` (the subject/patient Reference) points to the selected Patient; reports when not."""
        reference = getattr(ref, "reference", None) if ref is not None else None
        if not reference:
            self.add("skipped", item, f"no {what} reference: whose record this is cannot be told")
            self.doubtful_for(item)
            return False
        target = self.resolve(reference)
        if target is self.patient_item:
            return True
        if target is None:
            self.add("skipped", item, f"{what} {reference} is not in the input: whose record this is cannot be told")
            self.doubtful_for(item)
        elif target.rtype == "Patient":
            self.add("skipped", item, f"belongs to another patient ({what} {reference})")
        else:
            self.add("skipped", item, f"{what} {reference} is a {target.rtype}, not the patient")
            self.doubtful_for(item)
        return False

    # ---- the run
    def run(self) -> FhirImport:
        self.index()
        self.patient_item = self.find_patient()
        self.oncology_setup()
        patient_fields = self.map_patient(self.patient_item)
        handlers = {
            "Observation": self.map_observation,
            "Condition": self.map_condition,
            "Procedure": self.map_procedure,
            "MedicationStatement": self.map_medication,
            "MedicationRequest": self.map_medication,
            "MedicationAdministration": self.map_medication,
            "ResearchSubject": self.map_research_subject,
        }
        for item in self.items:
            if item.raw is None or not item.usable or item is self.patient_item:
                continue
            if item.rtype == "Patient":
                continue
            if item.rtype == "Medication":
                continue  # reported after the records that may reference it
            handler = handlers.get(item.rtype)
            if handler is None:
                self.unmapped_type(item)
                continue
            ref = item.model.individual if item.rtype == "ResearchSubject" else item.model.subject
            if not self.belongs(item, ref, "individual" if item.rtype == "ResearchSubject" else "subject"):
                continue
            handler(item)
        for item in self.items:
            if item.rtype == "Medication" and item.raw is not None and item.usable:
                users = self.medication_users.get(id(item))
                if users:
                    self.add("mapped", item, "a medication definition, read through the record(s) that reference it",
                             _code_labels(item.model.code) if item.model is not None else (),
                             target="therapies via " + ", ".join(users))
                else:
                    self.add("unmapped", item, "a medication definition no mapped record references")
        self.finish_staging({id(i) for i in self.condition_items})
        for k, (cond_item, rec) in enumerate(zip(self.condition_items, self.conditions)):
            staged, notes = self.staged_attributes(cond_item)
            for note in notes:
                self.add("note", cond_item, note)
            if staged:
                self.conditions[k] = rec.model_copy(update={"attributes": {**rec.attributes, **staged}})
                self.add("note", cond_item, "staging: " + ", ".join(f"{k2} {v}" for k2, v in staged.items()))
        facts = self.choose_facts()
        complete = self.completeness()
        try:
            patient = Patient(
                id=patient_fields.get("id"),
                birth_date=patient_fields.get("birth_date"),
                sex=patient_fields.get("sex"),
                facts=facts,
                observations=tuple(self.observations),
                conditions=tuple(self.conditions),
                therapies=tuple(self.therapies),
                procedures=tuple(self.procedures),
                studies=tuple(self.studies),
                complete=complete,
            )
        except ValidationError as exc:  # every record was validated on its own; this would be a bug
            raise FhirError(f"the mapped profile does not validate: {exc}") from None
        # In input order (facts are chosen last), the input-wide notes at the end; stable otherwise.
        order = {}
        for n, item in enumerate(self.items):
            order.setdefault(item.where, n)
        lines = sorted(self.lines, key=lambda l: order.get(l.where, len(order)))
        notes = list(self.input_notes)
        old = [i for i in self.items if i.quarantine is not None and "older FHIR version" in i.quarantine]
        if old:
            notes.append(f"{len(old)} resource(s) are in the shape of an older FHIR version (DSTU2/STU3): this input "
                         "is probably not R4; those were quarantined, and resources that validate as R4 were read "
                         "as R4")
        lines = [ReportLine("note", "Bundle", None, "input", note) for note in notes] + lines
        return FhirImport(patient, MappingReport(tuple(lines), sum(1 for i in self.items if i.raw is not None)))

    def unmapped_type(self, item: _Item) -> None:
        if item.rtype in _R4_ONLY:
            reason = "an R4 resource type not validated (fhir.resources R4B has no model for it) and not mapped"
        else:
            reason = _TYPE_REASONS.get(item.rtype, f"eligimatch does not map {item.rtype} resources")
        if item.model is None and item.rtype not in _R4_ONLY:
            reason += " (not validated: validate='used')"
        self.add("unmapped", item, reason)
        # references to the patient are still checked, so a wrong subject is visible
        if isinstance(item.raw, dict):
            for attr in ("subject", "patient", "beneficiary"):
                ref = item.raw.get(attr)
                reference = ref.get("reference") if isinstance(ref, dict) else None
                if isinstance(reference, str) and reference:
                    target = self.resolve(reference)
                    if target is None and not reference.startswith("#"):
                        self.add("note", item, f"{attr} {reference} is not in the input")
                    break

    # ---- Patient
    def map_patient(self, item: _Item) -> dict:
        p = item.model
        out: dict[str, Any] = {"id": item.rid}
        gender = p.gender
        if gender in ("male", "female"):
            out["sex"] = gender
        else:
            self.add("note", item, f"gender {gender!r} is not male or female: sex left unknown" if gender
                     else "no gender: sex left unknown")
        birth = p.birthDate
        if isinstance(birth, _dt.date) and not isinstance(birth, _dt.datetime):
            out["birth_date"] = birth
        elif birth is not None:
            text = str(birth)
            if re.fullmatch(r"\d{4}(-\d{2})?", text):
                out["birth_date"] = text  # a partial birth date: the Patient model keeps it as an interval
                self.add("note", item, f"birthDate {text} is known only to the {'year' if len(text) == 4 else 'month'}"
                                       ": an age criterion is decided only when every possible birthday agrees")
            else:
                self.add("note", item, f"birthDate {birth} is not a date: age left unknown")
        else:
            self.add("note", item, "no birthDate: age left unknown")
        if p.deceasedBoolean or p.deceasedDateTime is not None:
            self.add("note", item, "the patient is recorded as deceased")
        self.add("mapped", item, "demographics", target="patient: " + ", ".join(
            f"{k}={v}" for k, v in out.items() if k != "id" and v is not None) or "patient")
        return out

    # ---- Observation
    def map_observation(self, item: _Item) -> None:
        o = item.model
        status = o.status
        if status not in _OBS_USED:
            self.add("skipped", item, f"status {status!r}: only final, amended and corrected results are used",
                     _code_labels(o.code))
            return
        when, date_note = self.obs_date(o)
        onc = self.oncology_kind(_codings(o.code))
        if onc is not None:
            self.oncology_observation(item, o, onc, when, _code_labels(o.code), _codings, _code_labels)
            if date_note:
                self.add("note", item, date_note)
            return
        loincs = [code for system, code, _ in _codings(o.code) if system == "LOINC"]
        if ECOG_LOINC in loincs or KARNOFSKY_LOINC in loincs or PREGNANCY_LOINC in loincs:
            self.observation_fact(item, o, loincs, when, date_note)
            return
        analytes = self.analytes_of(loincs)
        if len(analytes) > 1:
            self.add("rejected", item, "its LOINC codes name different analytes: "
                     + ", ".join(sorted(a.id for a in analytes)), _code_labels(o.code))
            return
        if not analytes:
            score = self.score_by_name(o.code)
            if score is not None:
                if self.observation_value(item, o, score, when, date_note, None):
                    self.add("note", item, f"{score.id} mapped by its name {_first_name(o.code)!r}: a clinical "
                                           "score, which the analyte catalog knows by name, not by LOINC code")
                return
            components = [c for c in (o.component or ()) if c.code is not None]
            if components:
                self.observation_components(item, o, components, when, date_note)
                return
            if o.hasMember and not self.has_value(o):
                self.add("skipped", item, "a panel: its members are mapped from their own Observation resources",
                         _code_labels(o.code))
                return
            why = "no LOINC code" if not loincs else "LOINC code not in the analyte catalog"
            self.add("unmapped", item, why, _code_labels(o.code))
            return
        analyte = analytes[0]
        self.observation_value(item, o, analyte, when, date_note, None)

    @staticmethod
    def has_value(o: Any) -> bool:
        return any(getattr(o, f, None) is not None for f in (
            "valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger", "valueRange",
            "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod"))

    def analytes_of(self, loincs: list[str]) -> list:
        """The distinct catalog analytes the LOINC codes name."""
        found = {}
        for code in loincs:
            a = self.cat.analytes.resolve(f"LOINC:{code}")
            if a is not None:
                found[a.id] = a
        return list(found.values())

    def score_by_name(self, cc: Any) -> Any:
        """A clinical score named by the code's text or display (labs and vitals need a LOINC code:
        a lab name does not say the specimen, "creatinine" may be urine creatinine)."""
        for name in _names(cc):
            a = self.cat.analytes.resolve(name)
            if a is not None and a.kind == "score":
                return a
        return None

    def obs_date(self, o: Any) -> tuple[_dt.date | None, str | None]:
        if o.effectiveDateTime is not None:
            return _exact_date(o.effectiveDateTime)
        if o.effectivePeriod is not None:
            if o.effectivePeriod.start is not None:
                return _exact_date(o.effectivePeriod.start)
            if o.effectivePeriod.end is not None:
                d, note = _exact_date(o.effectivePeriod.end)
                return d, note or "effectivePeriod has no start: its end is used"
        if o.effectiveInstant is not None:
            return _exact_date(o.effectiveInstant)
        if o.effectiveTiming is not None:
            return None, "effectiveTiming is not read: taken as undated"
        return None, "no effective date: undated"

    @staticmethod
    def obs_time(o: Any) -> _dt.time | None:
        """The time of day of the effective date :meth:`obs_date` uses, with its UTC offset as written
        (issue 18, D8: of two results of one date, the 18:00 one is the latest).  ``issued`` is not used:
        it is when the result was released, and a slow assay drawn first may be released last."""
        if o.effectiveDateTime is not None:
            value = o.effectiveDateTime
        elif o.effectivePeriod is not None:
            value = o.effectivePeriod.start if o.effectivePeriod.start is not None else o.effectivePeriod.end
        else:
            value = o.effectiveInstant
        return value.timetz() if isinstance(value, _dt.datetime) else None

    def observation_components(self, item: _Item, o: Any, components: list, when: Any, date_note: str | None) -> None:
        mapped = 0
        for k, comp in enumerate(components):
            loincs = [code for system, code, _ in _codings(comp.code) if system == "LOINC"]
            analytes = self.analytes_of(loincs)
            if len(analytes) != 1:
                why = ("its LOINC codes name different analytes" if len(analytes) > 1 else
                       "component LOINC code not in the analyte catalog" if loincs else "component has no LOINC code")
                self.add("unmapped", item, f"component {k}: {why}", _code_labels(comp.code))
                continue
            mapped += self.observation_value(item, comp, analytes[0], when, date_note, k)
        if not mapped and not any(l.outcome != "note" and l.where == item.where for l in self.lines):
            self.add("unmapped", item, "no component could be mapped", _code_labels(o.code))

    def observation_value(self, item: _Item, o: Any, analyte: Any, when: Any, date_note: str | None,
                          component: int | None) -> int:
        part = f"component {component}: " if component is not None else ""
        codes = _code_labels(o.code)
        if getattr(o, "dataAbsentReason", None) is not None and not self.has_value(o):
            self.add("skipped", item, f"{part}no value (dataAbsentReason)", codes)
            return 0
        q = o.valueQuantity
        value: float | None
        unit: str | None = None
        if q is not None:
            if q.comparator:
                self.add("rejected", item, f"{part}value {q.comparator}{q.value} is a bound, not a result: "
                                           "eligimatch needs the measured value", codes)
                return 0
            value = _num(q.value)
            if value is None:
                self.add("rejected", item, f"{part}the quantity has no value", codes)
                return 0
            unit, problem = self.analyte_unit(analyte, q)
            if problem:
                self.add("rejected", item, f"{part}{problem}", codes)
                return 0
        elif o.valueInteger is not None:
            value = float(o.valueInteger)
            if not self.dimensionless(analyte):
                self.add("rejected", item, f"{part}an integer without a unit for {analyte.id}, measured in "
                                           f"{analyte.unit}: units are checked, not assumed", codes)
                return 0
        else:
            kind = next((f for f in ("valueCodeableConcept", "valueString", "valueBoolean", "valueRange",
                                     "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod")
                         if getattr(o, f, None) is not None), None)
            self.add("rejected" if kind else "skipped", item,
                     f"{part}{'a ' + kind + ' is not a number with a unit' if kind else 'no value'}", codes)
            return 0
        rr, rr_note = self.reference_range(analyte, o, unit)
        at = self.obs_time(item.model) if when is not None else None
        try:
            obs = Observation(analyte=analyte.id, value=value, unit=unit, date=when, time=at, reference_range=rr,
                              source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"{part}invalid: {_short(exc)}", codes)
            return 0
        self.observations.append(obs)
        shown = f"{value:g} {unit or ''}".strip()
        self.add("mapped", item, f"{part}{analyte.name}", codes,
                 target=f"observations: {analyte.id} {shown} ({when or 'undated'}"
                        + (f" {at.isoformat(timespec='minutes')})" if at is not None else ")"))
        if date_note and when is None:
            date_note += " (an undated result does not count for a lab criterion)"
        for note in (date_note, rr_note):
            if note:
                self.add("note", item, f"{part}{note}")
        return 1

    @staticmethod
    def dimensionless(analyte: Any) -> bool:
        try:
            return analyte.accepts("1")
        except UnitError:
            return False

    def analyte_unit(self, analyte: Any, q: Any) -> tuple[str | None, str | None]:
        """The unit to record for a quantity, or a problem: UCUM ``code`` first, then ``unit`` text."""
        code, text = _unit_of(q)
        tried = []
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

    def reference_range(self, analyte: Any, o: Any, unit: str | None) -> tuple[ReferenceRange | None, str | None]:
        ranges = list(getattr(o, "referenceRange", None) or ())
        if not ranges:
            return None, None
        plain = [r for r in ranges if not r.appliesTo and r.age is None
                 and (r.type is None or any(c == "normal" for _, c, _ in _codings(r.type)))]
        if len(plain) != 1:
            return None, (f"{len(ranges)} reference ranges for different groups or meanings: none is used"
                          if len(ranges) > 1 else "the reference range applies to a group or meaning not "
                                                  "handled: not used")
        r = plain[0]
        if r.low is None and r.high is None:
            return None, "the reference range has no low or high value (text only): not used"
        bounds = {}
        units = {}
        for side in ("low", "high"):
            q = getattr(r, side)
            if q is None:
                continue
            v = _num(q.value)
            if v is None:
                return None, f"reference range {side} has no value: not used"
            u, problem = self.analyte_unit(analyte, q)
            if problem:
                return None, f"reference range {side}: {problem.replace('the value', 'the range')}"
            bounds[side], units[side] = v, u
        # Express both bounds in one unit: the high's (or the low's), converted when they differ.
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
            return None, f"reference range not used: {_short(exc)}"
        return rr, None

    def observation_fact(self, item: _Item, o: Any, loincs: list[str], when: Any, date_note: str | None) -> None:
        codes = _code_labels(o.code)
        if ECOG_LOINC in loincs:
            name, label = "ecog", "ECOG performance status"
            value = None
            if o.valueCodeableConcept is not None:
                for system, code, _ in _codings(o.valueCodeableConcept):
                    if system == "LOINC" and code in _ECOG_ANSWERS:
                        value = _ECOG_ANSWERS[code]
                        break
            elif o.valueInteger is not None:
                value = int(o.valueInteger)
            elif o.valueQuantity is not None and not o.valueQuantity.comparator:
                v = _num(o.valueQuantity.value)
                value = int(v) if v is not None and v.is_integer() else None
            if value is None or not 0 <= value <= 5:
                self.add("rejected", item, "ECOG answer not understood (expected LA9622-7..LA9627-6 or an integer "
                                           "0-5)", codes + _code_labels(o.valueCodeableConcept))
                return
        elif KARNOFSKY_LOINC in loincs:
            name, label = "karnofsky", "Karnofsky performance status"
            value = None
            if o.valueInteger is not None:
                value = int(o.valueInteger)
            elif o.valueQuantity is not None and not o.valueQuantity.comparator:
                v = _num(o.valueQuantity.value)
                value = int(v) if v is not None and v.is_integer() else None
            if value is None or not 0 <= value <= 100 or value % 10:
                self.add("rejected", item, "Karnofsky score not understood (expected an integer 0-100 in steps of "
                                           "10)", codes)
                return
        else:
            name, label = "pregnant", "pregnancy status"
            answers = _codings(o.valueCodeableConcept) if o.valueCodeableConcept is not None else []
            value = None
            for system, code, _ in answers:
                if (system, code) in _PREGNANCY_ANSWERS:
                    value = _PREGNANCY_ANSWERS[(system, code)]
                    break
            if value is None:
                unknown = any((s, c) in _UNKNOWN_ANSWERS for s, c, _ in answers)
                self.add("skipped" if unknown else "rejected", item,
                         "pregnancy status recorded as unknown" if unknown else
                         "pregnancy status answer not understood (expected pregnant / not pregnant)",
                         codes + _code_labels(o.valueCodeableConcept))
                return
        self.facts.setdefault(name, []).append(_FactCandidate(value, when, item, label))
        if date_note:
            self.add("note", item, date_note)

    def fact_candidate(self, name: str, value: Any, when: Any, item: _Item, label: str) -> None:
        """A value of a fact; the latest is chosen at the end (:meth:`choose_facts`)."""
        if self.cat.facts.resolve(name) is None:
            self.add("unmapped", item, f"{label} {value}: the fact catalog has no fact {name!r}",
                     _code_labels(item.model.code))
            return
        self.facts.setdefault(name, []).append(_FactCandidate(value, when, item, label))

    def choose_facts(self) -> dict[str, Fact]:
        """The latest value of each fact; older ones are reported as superseded."""
        out = {}
        for name, cands in self.facts.items():
            dated = [c for c in cands if c.date is not None]
            pool = dated or cands
            latest = max(c.date for c in dated) if dated else None
            top = [c for c in pool if c.date == latest]
            values = {c.value for c in top}
            if len(values) > 1:
                for c in top:
                    self.add("rejected", c.item, f"{c.label}: different values on the same date "
                                                 f"({', '.join(map(str, sorted(values)))}); none is used")
                for c in cands:
                    if c not in top:
                        self.add("skipped", c.item, f"{c.label} {c.value}: an older value, and the latest is "
                                                    "contradictory")
                continue
            chosen = top[0]
            out[name] = Fact(value=chosen.value, date=chosen.date, source=self.source(chosen.item))
            self.add("mapped", chosen.item, chosen.label, target=f"facts.{name} = {chosen.value} "
                                                                 f"({chosen.date or 'undated'})")
            for c in cands:
                if c is chosen:
                    continue
                if c in top:
                    self.add("skipped", c.item, f"{c.label} {c.value}: repeats {chosen.item.where} (same date)")
                else:
                    self.add("skipped", c.item, f"{c.label} {c.value} ({c.date or 'undated'}): superseded by the "
                                                f"latest value, {chosen.item.where}")
        return out

    # ---- Condition
    def map_condition(self, item: _Item) -> None:
        c = item.model
        codes = _code_labels(c.code)
        ver_code = _verification(c.verificationStatus)
        if ver_code in ("refuted", "entered-in-error"):
            self.add("skipped", item, f"verificationStatus {ver_code!r}: not a condition of the patient", codes)
            return
        if ver_code in _UNCERTAIN:
            self.add("skipped", item, f"verificationStatus {ver_code!r}: a diagnosis not confirmed is not used",
                     codes)
            self.doubtful("conditions")
            return
        if ver_code is not None and ver_code not in VERIFICATION_CODES:
            # outside the value set: whether the diagnosis is confirmed cannot be told; never read as confirmed
            self.add("skipped", item, f"verificationStatus {ver_code!r} is not a code of the R4 value set "
                                      f"condition-ver-status: whether the diagnosis is confirmed is unknown, "
                                      f"so it is not used", codes)
            self.doubtful("conditions")
            return
        concept, code, name, how = self.concept_of(c.code, self.cat.conditions, ("SNOMED", "ICD10CM"))
        if concept is None:
            self.add("unmapped", item, "condition code not in the condition catalog" if codes else
                     "no code and no name the condition catalog knows", codes, history="conditions")
            return
        clinical = _codings(c.clinicalStatus)
        status = _COND_CLINICAL.get(clinical[0][1]) if clinical else None
        notes = []
        onset, n = self.cond_onset(c)
        if n:
            notes.append(n)
        end, n = self.cond_end(c)
        if n:
            notes.append(n)
        if c.clinicalStatus is None and end is None and _abated(c):
            # an abatement of any type (an age, a range, a text, a period without dates) says the condition
            # ended, though not when: without a clinicalStatus it is not current (D9)
            status = "resolved"
            notes.append("abatement recorded without a date and without clinicalStatus: read as resolved")
        attributes, attr_notes = self.condition_attributes(item, c, _codings)
        notes += attr_notes
        try:
            rec = Condition(name=name, code=code, onset=onset, end=end, status=status, attributes=attributes,
                            source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"invalid: {_short(exc)}", codes, history="conditions")
            return
        self.conditions.append(rec)
        self.condition_items.append(item)
        self.add("mapped", item, f"{concept.name}{how}", codes,
                 target=f"conditions: {concept.id} (onset {onset or 'not recorded'}"
                        f"{', ended ' + str(end) if end else ''}{', ' + status if status else ''})")
        for note in notes:
            self.add("note", item, note)

    def concept_of(self, cc: Any, catalog: Any, systems: tuple[str, ...]) -> tuple[Any, str | None, str | None, str]:
        """(concept, code used, name to record, how) for a CodeableConcept.

        In order: a code the catalog lists (an ICD-10-CM code must exist in ICD-10-CM when
        the terminology is installed); a WHO ICD-10 code at its category, which ICD-10-CM
        shares; an ancestor of a code that the catalog lists (through the terminology, e.g. an
        OMOP vocabulary); the text or a display the catalog knows by name (reported).
        """
        hits = []
        notes = []
        codings = _codings(cc)
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
            name = getattr(cc, "text", None) or display or concept.name
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
        for name in _names(cc):
            concept = catalog.resolve(name)
            if concept is not None:
                return concept, None, name, f" (by its name {name!r}: {why})"
        return None, None, None, ""

    def by_ancestor(self, catalog: Any, system: str, code: str) -> tuple[Any, Any] | None:
        """The catalog concept of the nearest ancestor the catalog knows, or None when the
        nearest ones name different concepts (neither below the other: not guessed)."""
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

    # ---- ResearchSubject (issue 13: participation in another study)
    def map_research_subject(self, item: _Item) -> None:
        r = item.model
        if r.status not in _STUDY_TAKING_PART:
            self.add("skipped", item, f"status {r.status!r}: not (yet) taking part in the study")
            return
        ref = r.study
        ident = getattr(getattr(ref, "identifier", None), "value", None)
        study = ident or getattr(ref, "display", None) or getattr(ref, "reference", None)
        period = r.period
        start = _fhir_date(period.start)[0] if period is not None and period.start is not None else None
        end = _fhir_date(period.end)[0] if period is not None and period.end is not None else None
        try:
            rec = StudyParticipation(study=study, start=start, end=end, source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"invalid: {_short(exc)}")
            return
        self.studies.append(rec)
        self.add("mapped", item, f"study {study or '(not named)'}",
                 target=f"studies: {study or '(not named)'} ({start or '?'} to {end or 'ongoing'})")

    def med_indication(self, m: Any) -> str | None:
        """The condition a medication was given for (``reasonCode``, issue 13): the first the condition catalog
        places, else the first one's text (an indication the criteria cannot place leaves them UNKNOWN)."""
        reasons = getattr(m, "reasonCode", None) or []
        for cc in reasons:
            concept = self.concept_of(cc, self.cat.conditions, ("ICD10CM", "SNOMED"))[0]
            if concept is not None:
                return concept.id
        return next((n for cc in reasons for n in _names(cc)), None)

    def cond_onset(self, c: Any) -> tuple[Any, str | None]:
        if c.onsetDateTime is not None:
            return _fhir_date(c.onsetDateTime)
        if c.onsetPeriod is not None:
            if c.onsetPeriod.start is not None:
                return _fhir_date(c.onsetPeriod.start)
            return None, "onsetPeriod has no start: onset left unknown"
        for attr in ("onsetAge", "onsetRange", "onsetString"):
            if getattr(c, attr) is not None:
                return None, f"{attr} is not converted to a date: onset left unknown"
        return None, None

    def cond_end(self, c: Any) -> tuple[Any, str | None]:
        if c.abatementDateTime is not None:
            return _fhir_date(c.abatementDateTime)
        if c.abatementPeriod is not None:
            p = c.abatementPeriod
            if p.end is not None:
                return _fhir_date(p.end)
            if p.start is not None:
                return _fhir_date(p.start)
        for attr in ("abatementAge", "abatementRange", "abatementString"):
            if getattr(c, attr) is not None:
                return None, f"{attr} is not converted to a date: end left unknown"
        return None, None

    # ---- Procedure
    def map_procedure(self, item: _Item) -> None:
        p = item.model
        codes = _code_labels(p.code)
        if p.status not in _PROC_USED:
            self.add("skipped", item, f"status {p.status!r}: only completed and in-progress procedures are used",
                     codes)
            if p.status in ("stopped", "on-hold", "unknown"):
                self.doubtful("procedures")
            return
        concept, code, name, how = self.concept_of(p.code, self.cat.procedures, ("SNOMED", "CPT"))
        if concept is None:
            self.add("unmapped", item, "procedure code not in the procedure catalog" if codes else
                     "no code and no name the procedure catalog knows", codes, history="procedures")
            return
        note = None
        when = None
        if p.performedDateTime is not None:
            when, note = _fhir_date(p.performedDateTime)
        elif p.performedPeriod is not None:
            when, note = _fhir_date(p.performedPeriod.start or p.performedPeriod.end)
        elif any(getattr(p, a) is not None for a in ("performedString", "performedAge", "performedRange")):
            note = "performed[x] is not a date: date left unknown"
        try:
            rec = Procedure(name=name, code=code, date=when, source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"invalid: {_short(exc)}", codes, history="procedures")
            return
        self.procedures.append(rec)
        self.add("mapped", item, f"{concept.name}{how}", codes,
                 target=f"procedures: {concept.id} ({when or 'date not recorded'})")
        if note:
            self.add("note", item, note)

    # ---- MedicationStatement / MedicationRequest / MedicationAdministration
    def map_medication(self, item: _Item) -> None:
        m = item.model
        rtype = item.rtype
        status = m.status
        cc, med_note = self.medication_concept(item, m)
        codes = _code_labels(cc) if cc is not None else ()
        if status in _MED_IGNORED or (rtype == "MedicationAdministration" and status == "not-done"):
            self.add("skipped", item, f"status {status!r}: not a medication the patient took", codes)
            return
        if status in _MED_NOT_YET:
            self.add("skipped", item, f"status {status!r}: not (yet) taken", codes)
            return
        if rtype == "MedicationRequest":
            if m.intent not in _MED_ORDER_INTENTS:
                self.add("skipped", item, f"intent {m.intent!r}: a proposal or plan, not an order", codes)
                return
            if m.doNotPerform:
                self.add("skipped", item, "doNotPerform: an order not to give this medication", codes)
                return
        if rtype == "MedicationAdministration" and status not in _ADMIN_USED:
            self.add("skipped", item, f"status {status!r}: not known to have been given", codes)
            self.doubtful("therapies")
            return
        if cc is None:
            self.add("unmapped", item, med_note or "no medication code", history="therapies")
            return
        entries, how = self.drugs_of(cc)
        if not entries:
            self.add("unmapped", item, "medication not in the drug catalog (by RxNorm code or name)", codes,
                     history="therapies")
            return
        start, end, ongoing, notes = self.med_dates(m, rtype, status)
        dose, route, dose_notes = self.med_dosage(m, rtype)
        notes += dose_notes
        if len(entries) > 1 and dose is not None:
            notes.append("a combination product: the dose is not given per ingredient, so none is recorded")
            dose = None
        for entry in entries:
            is_class = not hasattr(entry, "rxnorm")
            try:
                rec = Therapy(drug=None if is_class else entry.id, classes=(entry.id,) if is_class else (),
                              start=start, end=end, ongoing=ongoing, dose=dose, route=route,
                              indication=self.med_indication(m), source=self.source(item))
            except ValidationError as exc:
                self.add("rejected", item, f"invalid: {_short(exc)}", codes, history="therapies")
                return
            self.therapies.append(rec)
            span = f"{start or '?'} to {end or ('ongoing' if ongoing else '?')}"
            extra = ""
            if dose is not None:
                extra += f", {dose.value:g} {dose.unit}" + (f" x {dose.per_day:g}/day" if dose.per_day else "")
            if route:
                extra += f", {route}"
            self.add("mapped", item, f"{entry.name}{how}", codes, target=f"therapies: {entry.id} ({span}{extra})")
        for note in notes + ([med_note] if med_note else []):
            self.add("note", item, note)

    def medication_concept(self, item: _Item, m: Any) -> tuple[Any, str | None]:
        if m.medicationCodeableConcept is not None:
            return m.medicationCodeableConcept, None
        ref = m.medicationReference
        reference = getattr(ref, "reference", None)
        if not reference:
            return None, "medicationReference has no reference"
        if reference.startswith("#"):
            for contained in m.contained or ():
                if getattr(contained, "id", None) == reference[1:] and contained.get_resource_type() == "Medication":
                    return contained.code, None
            return None, f"contained medication {reference} not found"
        target = self.resolve(reference)
        if target is None or target.rtype != "Medication" or target.model is None or not target.usable:
            return None, f"medicationReference {reference} is not a usable Medication in the input"
        self.medication_users.setdefault(id(target), []).append(f"{item.rtype}/{item.rid or item.where}")
        return target.model.code, f"medication read from {target.where} (Medication/{target.rid})"

    def drugs_of(self, cc: Any) -> tuple[list, str]:
        """Catalog drugs (or classes) a medication concept names: RxNorm codes first, then names."""
        drugs = self.cat.drugs
        for system, code, _ in _codings(cc):
            if system == "RXNORM":
                hit = drugs.resolve(f"RXNORM:{code}")
                if hit is not None:
                    return [hit], ""
        for system, code, _ in _codings(cc):
            if system == "RXNORM":
                ingredients = [a for a in self.terminology.ancestors("RXNORM", code) if a.concept_class == "Ingredient"]
                hits = [drugs.resolve(f"RXNORM:{a.code}") for a in ingredients]
                if ingredients and all(h is not None for h in hits):
                    return hits, (" (ingredient" + ("s " if len(hits) > 1 else " ")
                                  + ", ".join(a.label for a in ingredients) + " in the terminology)")
        for name in _names(cc):
            hit = drugs.resolve(name)
            if hit is not None:
                return [hit], f" (by its name {name!r})"
            parts = _clinical_drug_ingredients(name)
            if parts:
                hits = [h for h in (self.drug_by_ingredient(p) for p in parts) if h is not None]
                if len(hits) == len(parts):
                    return hits, f" (ingredient{'s' if len(hits) > 1 else ''} read from the name {name!r})"
        return [], ""

    def drug_by_ingredient(self, name: str) -> Any:
        hit = self.cat.drugs.resolve(name)
        if hit is None:
            words = name.split()
            if len(words) > 1 and words[-1].lower() in _SALTS:
                hit = self.cat.drugs.resolve(" ".join(words[:-1]))
        return hit

    def med_dates(self, m: Any, rtype: str, status: str) -> tuple[Any, Any, bool | None, list[str]]:
        notes: list[str] = []
        start = end = None
        if rtype in ("MedicationStatement", "MedicationAdministration"):
            if m.effectiveDateTime is not None:
                start, n = _fhir_date(m.effectiveDateTime)
                if rtype == "MedicationAdministration":
                    end = start  # one administration
            elif m.effectivePeriod is not None:
                start, n = _fhir_date(m.effectivePeriod.start)
                end, n2 = _fhir_date(m.effectivePeriod.end)
                n = n or n2
            else:
                n = "no effective date"
            if n:
                notes.append(n)
        else:
            bounds = None
            for d in m.dosageInstruction or ():
                rep = d.timing.repeat if d.timing is not None else None
                if rep is not None and rep.boundsPeriod is not None:
                    bounds = rep.boundsPeriod
                    break
            if bounds is not None and (bounds.start is not None or bounds.end is not None):
                start, _ = _fhir_date(bounds.start)
                end, _ = _fhir_date(bounds.end)
                if start is None:
                    start, _ = _fhir_date(m.authoredOn)
            else:
                start, n = _fhir_date(m.authoredOn)
                if start is None:
                    notes.append("no authoredOn date: start left unknown")
        ongoing: bool | None
        if end is not None:
            ongoing = None
        elif status in ("active", "on-hold", "in-progress"):
            ongoing = True
        elif status in ("completed", "stopped"):
            ongoing = False
            notes.append(f"status {status!r} with no end date: the last dose date is unknown")
        else:
            ongoing = None
            notes.append(f"status {status!r}: whether it continues is unknown")
        return start, end, ongoing, notes

    def med_dosage(self, m: Any, rtype: str) -> tuple[Dose | None, str | None, list[str]]:
        notes: list[str] = []
        if rtype == "MedicationAdministration":
            d = m.dosage
            if d is None:
                return None, None, notes
            route = self.route_of(d.route, notes)
            dose = None
            if d.dose is not None:
                dose = self.dose_of(d.dose, None, notes)
            return dose, route, notes
        dosages = list((m.dosage if rtype == "MedicationStatement" else m.dosageInstruction) or ())
        if not dosages:
            return None, None, notes
        routes = {self.route_of(d.route, notes) for d in dosages}
        route = routes.pop() if len(routes) == 1 else None
        if len(dosages) > 1:
            notes.append(f"{len(dosages)} dosage instructions (a taper or a schedule): no single dose recorded")
            return None, route, notes
        d = dosages[0]
        if d.asNeededBoolean or d.asNeededCodeableConcept is not None:
            notes.append("taken as needed: the dose actually taken is unknown, none recorded")
            return None, route, notes
        rates = list(d.doseAndRate or ())
        quantities = [r.doseQuantity for r in rates if r.doseQuantity is not None]
        if not quantities:
            if rates:
                notes.append("the dose is a range or rate: none recorded")
            return None, route, notes
        per_day = self.per_day(d.timing, notes)
        if per_day is None:
            return None, route, notes
        return self.dose_of(quantities[0], per_day, notes), route, notes

    def per_day(self, timing: Any, notes: list[str]) -> float | None:
        if timing is None:
            notes.append("no timing: how often the dose is taken is unknown, no dose recorded")
            return None
        rep = timing.repeat
        if rep is not None and rep.frequency is not None and rep.period is not None:
            if rep.frequencyMax is not None or rep.periodMax is not None:
                notes.append("the timing is a range of frequencies: no dose recorded")
                return None
            days = _period_days(rep.periodUnit)
            period = _num(rep.period)
            if days is None or not period:
                notes.append(f"timing period unit {rep.periodUnit!r} has no fixed length: no dose recorded")
                return None
            return float(rep.frequency) / (period * days)
        for _, code, _ in _codings(timing.code):
            if code in _TIMING_CODES:
                return _TIMING_CODES[code]
        notes.append("the timing gives no frequency and period: no dose recorded")
        return None

    def dose_of(self, q: Any, per_day: float | None, notes: list[str]) -> Dose | None:
        from eligimatch.knowledge._units import parse_unit

        if q.comparator:
            notes.append("the dose is a bound, not an amount: none recorded")
            return None
        value = _num(q.value)
        code, text = _unit_of(q)
        unit = None
        for candidate in (code, text):
            if candidate:
                try:
                    parse_unit(candidate)
                    unit = candidate
                    break
                except UnitError:
                    continue
        if value is None or unit is None:
            shown = f"{q.value} {code or text or '(no unit)'}"
            notes.append(f"the dose {shown} is not an amount in a unit eligimatch can read (tablets, puffs...): "
                         "none recorded")
            return None
        try:
            return Dose(value=value, unit=unit, per_day=per_day)
        except ValidationError as exc:
            notes.append(f"the dose is not valid: {_short(exc)}")
            return None

    def route_of(self, cc: Any, notes: list[str]) -> str | None:
        if cc is None:
            return None
        for system, code, _ in _codings(cc):
            if system == "SNOMED" and code in _ROUTES:
                return _ROUTES[code]
        notes.append(f"route {', '.join(_code_labels(cc)) or '(no code)'} not mapped: route left unknown")
        return None

    # ---- completeness
    def completeness(self) -> Completeness:
        claimed = self.complete.model_dump()
        kept = {}
        for history, value in claimed.items():
            if value and self.doubt.get(history):
                self.lines.append(ReportLine("note", "Bundle", None, "input",
                                             f"{history} history not marked complete although asked: "
                                             f"{self.doubt[history]} record(s) of it could not be mapped or "
                                             "confirmed, so an absence could not be proved"))
                kept[history] = False
            else:
                kept[history] = value
        return Completeness(**kept)


def _short(exc: ValidationError) -> str:
    return "; ".join(re.sub(r"^Value error, ", "", e["msg"]) for e in exc.errors(include_url=False))


def _clinical_drug_ingredients(name: str) -> list[str]:
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
    parts = []
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


# --------------------------------------------------------------------------- public API


def _completeness(complete: Any) -> Completeness:
    if complete is None:
        return Completeness()
    if isinstance(complete, Completeness):
        return complete
    if isinstance(complete, Mapping):
        try:
            return Completeness(**complete)
        except (ValidationError, TypeError) as exc:
            raise PatientDataError(f"complete: {exc}") from None
    raise TypeError(f"complete must be a Completeness or a mapping, got {type(complete).__name__}")


def _catalogs(catalogs: Any) -> Any:
    if catalogs is None:
        from eligimatch.knowledge._catalogs import Catalogs

        return Catalogs.default()
    return catalogs


def patient_from_bundle(bundle: Any, *, catalogs: Any = None, complete: Any = None,
                        patient_id: str | None = None, validate: str = "all", strict: bool = False,
                        terminology: Any = None) -> FhirImport:
    """Read a FHIR R4 Bundle into a :class:`FhirImport` (``.patient``, ``.report``).

    ``bundle`` is a dict, JSON text (``str`` starting with ``{``), ``bytes`` or a
    file path.  ``catalogs`` defaults to ``Catalogs.default()``.  FHIR has no
    notion of a complete history: pass ``complete={"conditions": True, ...}``
    when the source is known to list everything (it is kept only for histories
    whose every record was mapped, see ``docs/fhir.md``).  ``patient_id``
    selects one Patient of a bundle holding several.  ``validate="used"``
    validates only the resource types eligimatch reads (:data:`USED_TYPES`),
    about twice as fast on Synthea bundles, whose claims are half the data;
    the others are still checked to be FHIR resource types.

    Each resource is validated on its own: an invalid one (not FHIR R4, in the
    shape of DSTU2/STU3, a placeholder date...) is *quarantined* -- left out,
    with its path and reason in the report -- and the rest is used.
    ``strict=True`` refuses the whole input at the first invalid resource.

    ``terminology`` (an :class:`eligimatch.knowledge._terminology.Terminology`, e.g.
    ``OmopVocabulary(connection)``) resolves codes the catalogs do not list
    through their ancestors; the default knows ICD-10-CM when
    ``simple-icd-10-cm`` is installed.

    Raises :class:`~eligimatch.errors.FhirError` for invalid JSON, a bundle
    without a usable Patient or with more than one (and, with ``strict``, any
    invalid resource).
    """
    items, notes = _bundle_items(bundle, strict=strict)
    return _run(items, catalogs, complete, patient_id, validate, strict, notes, terminology)


def patient_from_ndjson(paths: Any, *, catalogs: Any = None, complete: Any = None,
                        patient_id: str | None = None, validate: str = "all", strict: bool = False,
                        terminology: Any = None) -> FhirImport:
    """Read FHIR Bulk Data NDJSON files (one resource per line) into a :class:`FhirImport`.

    ``paths`` is one path or an iterable of paths (``Patient.ndjson``,
    ``Observation.ndjson``...).  Report lines name the file and line.  Same
    options and errors as :func:`patient_from_bundle`; a bulk export of many
    patients needs ``patient_id``.
    """
    return _run(_ndjson_items(paths), catalogs, complete, patient_id, validate, strict, (), terminology)


def load_patient_file(path: str | os.PathLike[str], *, catalogs: Any = None, strict: bool = False) -> Patient:
    """Any patient file as a :class:`~eligimatch.Patient`, recognised by content.

    A FHIR Bundle or NDJSON goes through :func:`patient_from_bundle` /
    :func:`patient_from_ndjson` (the report is dropped: call those to see it);
    anything else is read as an eligimatch patient document
    (:func:`eligimatch.load_patient`).  Errors are
    :class:`~eligimatch.errors.PatientDataError` (FhirError for FHIR) whose
    message starts with the file name.  (The command line reads patients with
    :func:`eligimatch.sources._inputs.load_patient_file`, which hands FHIR to
    :func:`patient_from_fhir_data`.)
    """
    p = Path(path)
    return patient_from_fhir_data(_read_file(p), source=str(p), catalogs=catalogs, strict=strict)


def patient_from_fhir_data(data: bytes | str, *, source: str = "<data>", catalogs: Any = None,
                           strict: bool = False, complete: Any = None) -> Patient:
    """The patient of one document's content: a FHIR Bundle, FHIR NDJSON, or
    (when it is not FHIR) an eligimatch patient document.  Error messages start
    with ``source`` (a file name)."""
    return import_fhir_data(data, source=source, catalogs=catalogs, strict=strict, complete=complete)[0]


def import_fhir_data(data: bytes | str, *, source: str = "<data>", catalogs: Any = None, strict: bool = False,
                     complete: Any = None) -> tuple[Patient, MappingReport | None]:
    """Like :func:`patient_from_fhir_data`, with the mapping report (None for an eligimatch document)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    kind = sniff(data)
    if kind is None and b'"resourceType"' in data:
        try:
            json.loads(data)
        except ValueError:
            kind = "bundle"  # broken FHIR JSON: say so as FHIR, with the line and column
    if kind is None and not strict and b'"resourceType"' in data:
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("resource"), dict) \
                and doc["resource"].get("resourceType") == "Bundle":
            kind = "bundle"  # a Bundle.entry wrapping a Bundle (read leniently)
    if kind == "resource" and json.loads(data).get("resourceType") == "Patient":
        kind = "ndjson"  # a lone Patient: an export of one resource
    try:
        if kind == "bundle":
            items, notes = _bundle_items(data, source, strict)
            result = _run(items, catalogs, complete, None, "all", strict, notes)
            return result.patient, result.report
        if kind == "ndjson":
            result = _run(_ndjson_data_items([(source, data)]), catalogs, complete, None, "all", strict)
            return result.patient, result.report
        if kind == "resource":
            rt = json.loads(data).get("resourceType")
            raise FhirError(f"a single FHIR {rt} resource: a patient file must be a FHIR Bundle, FHIR NDJSON "
                            "or an eligimatch patient document", resource_type=rt)
    except FhirError as exc:
        if str(exc).startswith(source):
            raise
        raise FhirError(f"{source}: {exc}", exc.errors, resource_type=exc.resource_type,
                        resource_id=exc.resource_id, index=exc.index, path=exc.path,
                        file=exc.file or source) from None
    try:
        return load_patient(data), None
    except PatientDataError as exc:
        raise PatientDataError(f"{source}: {exc}", exc.errors) from None


def _run(items: list[_Item], catalogs: Any, complete: Any, patient_id: str | None, validate: str,
         strict: bool = False, notes: Iterable[str] = (), terminology: Any = None) -> FhirImport:
    _validate(items, validate, strict)
    return _Mapper(items, _catalogs(catalogs), _completeness(complete), patient_id, notes, terminology).run()
