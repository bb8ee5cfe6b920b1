"""eligimatch: decide whether a patient can enter a clinical trial, and explain why.

    trial = eligimatch.load_trial("examples/trials/NCT03754764.elig")
    patient = eligimatch.load_patient(Path("examples/patients/x.json").read_text())
    result = eligimatch.match(patient, trial, as_of=date(2026, 3, 1))
    print(result.explain())

Pipeline, one package per stage: the criteria language (:mod:`eligimatch.language`:
grammar, parser, typed AST) -> check and bind against the catalogs (:mod:`eligimatch.plan`,
with :mod:`eligimatch.knowledge`: units, analytes, drugs, conditions, formulas) -> the row
engine (:mod:`eligimatch.engine`: evaluation, results, explanations).  Patients come from
:mod:`eligimatch.sources` (patient JSON, FHIR R4); :mod:`eligimatch.screening` ranks trials
for a coordinator; :mod:`eligimatch.cli` is the command line.  Modules whose names start
with ``_`` are internal; the public API is what this module exports.
"""

from __future__ import annotations

from eligimatch._limits import InputLimits, Limits
from eligimatch._schemas import SCHEMA_NAMES, SCHEMA_VERSION, schema_text
from eligimatch._schemas import generate as generate_schema
from eligimatch._schemas import render as render_schema
from eligimatch.engine import (
    CompiledTrial,
    CriterionResult,
    Evidence,
    MatchResult,
    MissingFact,
    Outcome,
    Policy,
    ReasonCode,
    TrialOptions,
    Verdict,
    compile_trial,
    load_trial,
    match,
)
from eligimatch.errors import (
    CriteriaCheckError,
    CriteriaError,
    CriteriaLimitError,
    CriteriaSyntaxError,
    EligimatchError,
    PatientDataError,
    UnitError,
)
from eligimatch.knowledge import Catalogs, FactCatalog
from eligimatch.screening import Answer, Decision, ScreeningRecord, ScreenResult, decide, screen, screen_many
from eligimatch.sources import Patient, load_patient

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Decision",
    "ScreeningRecord",
    "decide",
    "Catalogs",
    "CompiledTrial",
    "CriteriaCheckError",
    "CriteriaError",
    "CriteriaLimitError",
    "CriteriaSyntaxError",
    "CriterionResult",
    "EligimatchError",
    "Evidence",
    "FactCatalog",
    "InputLimits",
    "Limits",
    "MatchResult",
    "MissingFact",
    "Outcome",
    "Patient",
    "PatientDataError",
    "ReasonCode",
    "Policy",
    "ScreenResult",
    "TrialOptions",
    "UnitError",
    "Verdict",
    "compile_trial",
    "load_patient",
    "load_trial",
    "match",
    "screen",
    "screen_many",
    "SCHEMA_NAMES",
    "SCHEMA_VERSION",
    "schema_text",
    "generate_schema",
    "render_schema",
]


def __getattr__(name: str):
    # `eligimatch.fhir` (the package eligimatch.sources.fhir) on first use: FHIR input needs the optional fhir.resources,
    # which a plain `import eligimatch` must not load.
    if name in ("fhir", "omop"):  # `eligimatch.omop` is eligimatch.sources.omop (OMOP CDM), loaded on first use too
        import importlib

        return importlib.import_module(f"eligimatch.sources.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
