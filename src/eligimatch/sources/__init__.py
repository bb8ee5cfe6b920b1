"""Where patients come from: patient JSON documents, FHIR R4 (and a shared mapping core)."""
