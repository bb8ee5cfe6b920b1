"""Where patients come from: patient JSON documents and FHIR R4.

* :class:`Patient` is the validated patient profile (its records: :class:`Observation`, :class:`Condition`,
  :class:`Therapy`, :class:`Dose`, :class:`Procedure`, :class:`StudyParticipation`, :class:`Fact`, with their
  :class:`Source` and the :class:`Completeness` declaration); :func:`load_patient` reads one from JSON;
* :func:`load_patient_file` reads a patient file of any supported format (patient JSON, a FHIR bundle or
  NDJSON export), bounded in size; :func:`iter_patient_files` lists the patient files of a folder;
* :mod:`eligimatch.sources.fhir` is FHIR R4 input (the optional ``fhir`` extra; not imported here).
"""

from __future__ import annotations

from eligimatch.sources._inputs import (
    JSONL_SUFFIXES,
    PATIENT_FILE_LIMIT,
    PATIENT_SUFFIXES,
    iter_patient_files,
    load_patient_file,
)
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

__all__ = ["Patient", "Observation", "ReferenceRange", "Condition", "Therapy", "Dose", "Procedure",
           "StudyParticipation", "Fact", "Source", "Completeness", "load_patient", "load_patient_file",
           "iter_patient_files", "PATIENT_FILE_LIMIT", "PATIENT_SUFFIXES", "JSONL_SUFFIXES"]
