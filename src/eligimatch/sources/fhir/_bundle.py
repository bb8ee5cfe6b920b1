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

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eligimatch._safeio import InputError, loads_strict, read_bounded
from eligimatch.errors import FhirError, PatientDataError
from eligimatch.sources._codes import SYSTEMS as _SYSTEMS
from eligimatch.sources._patient import Completeness, Patient, load_patient
from eligimatch.sources._report import OUTCOMES, MappingReport, ReportLine
from eligimatch.sources.fhir._mapper import FhirImport, _Mapper
from eligimatch.sources.fhir._validate import (
    USED_TYPES,
    _error_summary,
    _fhir_models,
    _Item,
    _validate,
    _validation_error,
)
from eligimatch.sources.fhir._values import VERIFICATION_CODES

# Also importable from here, as before the mapping core moved to eligimatch.sources (_codes, _report, _resolve,
# _collect) and the FHIR mapper to ._mapper, ._observations, ._records, ._medications, ._validate, ._values.
_MOVED = (OUTCOMES, USED_TYPES, VERIFICATION_CODES, _SYSTEMS)

__all__ = [
    "FHIR_FILE_LIMIT",
    "FhirImport",
    "MappingReport",
    "ReportLine",
    "import_fhir_data",
    "load_patient_file",
    "patient_from_bundle",
    "patient_from_fhir_data",
    "patient_from_ndjson",
    "sniff",
]

#: A FHIR file larger than this (bytes) is refused rather than read into memory.
FHIR_FILE_LIMIT = 256 * 1024 * 1024



# --------------------------------------------------------------------------- input


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


# --------------------------------------------------------------------------- public API


HISTORIES: tuple[str, ...] = tuple(Completeness.model_fields)
"""The histories a source can list completely (``complete=``): conditions, therapies, procedures, studies."""


def _completeness(complete: Any) -> Completeness:
    """``complete=`` as a :class:`Completeness`: None (nothing complete), a ``Completeness``, a mapping of history
    names to booleans, or the names of the complete histories (an iterable, or one string, comma-separated)."""
    if complete is None:
        return Completeness()
    if isinstance(complete, Completeness):
        return complete
    allowed = f"the histories are {', '.join(HISTORIES)}"
    if isinstance(complete, Mapping):
        wrong = [k for k in complete if k not in HISTORIES]
        if wrong:
            raise PatientDataError(f"complete: unknown history {', '.join(map(repr, wrong))} ({allowed})")
        bad = [k for k, v in complete.items() if not isinstance(v, bool)]
        if bad:
            raise PatientDataError(f"complete: {bad[0]!r} must be true or false, got {complete[bad[0]]!r}")
        return Completeness(**complete)
    if isinstance(complete, str):
        complete = [n.strip() for n in complete.split(",") if n.strip()]
    if isinstance(complete, (bytes, bytearray)) or not isinstance(complete, Iterable):
        raise PatientDataError(f"complete: expected history names, a mapping or a Completeness, got "
                               f"{type(complete).__name__} ({allowed})")
    names = list(complete)
    wrong = [n for n in names if not isinstance(n, str) or n not in HISTORIES]
    if wrong:
        raise PatientDataError(f"complete: unknown history {', '.join(map(repr, wrong))} ({allowed})")
    return Completeness(**{n: True for n in names})


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
    notion of a complete history: pass ``complete=["conditions", "therapies"]``
    (or ``{"conditions": True, ...}``, or a :class:`~eligimatch.sources.Completeness`)
    when the source is known to list everything -- among :data:`HISTORIES`;
    another name is a :class:`~eligimatch.errors.PatientDataError` naming the
    allowed ones.  It is kept only for histories whose every record was mapped,
    see ``docs/fhir.md``.  ``patient_id``
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
