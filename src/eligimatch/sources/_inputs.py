"""Reading patient documents from files: the one place a file becomes a :class:`~eligimatch.sources._patient.Patient`.

The command line and :func:`eligimatch.screen_many` (when given paths) read
patients only through :func:`load_patient_file`; accepting another document
format (a FHIR bundle, say) means teaching this function to recognise it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from eligimatch.errors import PatientDataError
from eligimatch._limits import INPUT_LIMITS, InputLimits
from eligimatch.sources._patient import Patient, load_patient
from eligimatch._safeio import InputError, read_bounded

__all__ = ["load_patient_file", "iter_patient_files", "PATIENT_FILE_LIMIT", "PATIENT_SUFFIXES", "JSONL_SUFFIXES"]

#: A patient document larger than this (bytes, counted as read) is refused rather than read into memory.
PATIENT_FILE_LIMIT = INPUT_LIMITS.max_bytes

PATIENT_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def load_patient_file(path: str | os.PathLike[str], *, strict: bool = False, complete: Any = None,
                      reports: list[Any] | None = None, limits: InputLimits | None = None) -> Patient:
    """Read and validate one patient document: an eligimatch JSON file, or FHIR R4
    (a Bundle or Bulk Data NDJSON, read by :mod:`eligimatch.sources.fhir._bundle`; the mapping
    report is dropped -- call :func:`eligimatch.sources.fhir._bundle.patient_from_bundle` to see it).

    FHIR options (ignored for an eligimatch document): ``strict`` refuses a FHIR
    input with any invalid resource (else it is quarantined and reported);
    ``complete`` marks histories complete (see :func:`eligimatch.sources.fhir._bundle.patient_from_bundle`);
    ``reports``, a list, receives the FHIR mapping report.

    Raises :class:`~eligimatch.errors.PatientDataError` whose message starts
    with the file name and names each bad field's path (also for a file that is
    too large -- :data:`PATIENT_FILE_LIMIT` bytes, counted as they are read --
    or is not a regular file: a named pipe, ``/dev/zero``); ``OSError`` when the
    file cannot be read.  ``limits`` bounds an eligimatch document (:class:`~eligimatch.InputLimits`; its
    ``max_bytes`` is :data:`PATIENT_FILE_LIMIT` by default).
    """
    p = Path(path)
    max_bytes = PATIENT_FILE_LIMIT if limits is None else limits.max_bytes
    try:  # bounded by the bytes read, not the size the file claims; a pipe or a device is refused
        data = read_bounded(p, max_bytes, "patient file")
    except InputError as exc:
        raise PatientDataError(str(exc)) from None
    if b'"resourceType"' in data:  # FHIR (a Bundle, or NDJSON): recognised by content, not by name
        from eligimatch.sources.fhir._bundle import import_fhir_data

        patient, report = import_fhir_data(data, source=str(p), strict=strict, complete=complete)
        if reports is not None and report is not None:
            reports.append(report)
        return patient
    try:
        return load_patient(data) if limits is None else load_patient(data, limits=limits)
    except PatientDataError as exc:
        raise PatientDataError(f"{p}: {exc}", exc.errors) from None


def iter_patient_files(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """The patient files of a folder (``*.json``), sorted by name, read lazily."""
    base = Path(folder)
    for name in sorted(os.listdir(base)):  # names only; the documents are read one at a time
        p = base / name
        if p.suffix.lower() in PATIENT_SUFFIXES and p.is_file():
            yield p
