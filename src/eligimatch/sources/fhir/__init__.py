"""Patients from FHIR R4 (EHR exports, Synthea, mCODE, IPS bundles): the public FHIR API.

Needs the optional ``fhir`` extra (fhir.resources).  ``eligimatch.fhir`` is this package.
"""

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
