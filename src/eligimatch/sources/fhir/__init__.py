"""Patients from FHIR R4 (EHR exports, Synthea, mCODE, IPS bundles): the public FHIR API.

* :func:`patient_from_bundle`, :func:`patient_from_ndjson`, :func:`load_patient_file`,
  :func:`patient_from_fhir_data` / :func:`import_fhir_data` read FHIR into a :class:`~eligimatch.Patient`
  with a :class:`MappingReport` (one :class:`ReportLine` per resource element: mapped, skipped, rejected,
  quarantined) in a :class:`FhirImport`; :func:`sniff` tells a FHIR document from patient JSON;
* :func:`report_summary` and :func:`resource_outcomes` summarise a mapping report per resource;
* :func:`measure_coverage` / :func:`render_coverage` count, over a folder of bundles
  (:func:`bundle_paths`), what became of the clinically relevant resources (:func:`relevant_kind`).

Needs the optional ``fhir`` extra (fhir.resources).  ``eligimatch.fhir`` is this package.
"""

from __future__ import annotations

from eligimatch.sources.fhir._bundle import (
    FHIR_FILE_LIMIT,
    FhirImport,
    MappingReport,
    ReportLine,
    import_fhir_data,
    load_patient_file,
    patient_from_bundle,
    patient_from_fhir_data,
    patient_from_ndjson,
    sniff,
)
from eligimatch.sources.fhir._coverage import Coverage, bundle_paths, relevant_kind
from eligimatch.sources.fhir._coverage import measure as measure_coverage
from eligimatch.sources.fhir._coverage import render as render_coverage
from eligimatch.sources.fhir._summary import resource_outcomes
from eligimatch.sources.fhir._summary import summary as report_summary

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
    "report_summary",
    "resource_outcomes",
    "Coverage",
    "measure_coverage",
    "render_coverage",
    "bundle_paths",
    "relevant_kind",
]
