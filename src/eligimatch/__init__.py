"""eligimatch: decide whether a patient can enter a clinical trial, and explain why.

    trial = eligimatch.load_trial("examples/trials/NCT03754764.elig")
    patient = eligimatch.load_patient(Path("examples/patients/x.json").read_text())
    result = eligimatch.match(patient, trial, as_of=date(2026, 3, 1))
    print(result.explain())

Pipeline: parse (:mod:`.parser`) -> typed AST (:mod:`.transform`, :mod:`.ast`) ->
check names, units, dimensions (:mod:`.check`) -> compile to closures
(:mod:`.compile`) -> evaluate (:mod:`.evaluate`, :mod:`.history`, :mod:`.matching`)
-> explain (:mod:`.result`, :mod:`.explain`).
"""

from __future__ import annotations

from .catalogs import Catalogs
from .compile import compile_trial, load_trial
from .errors import (
    CriteriaCheckError,
    CriteriaError,
    CriteriaLimitError,
    CriteriaSyntaxError,
    EligimatchError,
    PatientDataError,
    UnitError,
)
from .evaluate import Policy
from .facts import FactCatalog
from .matching import match
from .limits import Limits
from .patient import Patient, load_patient
from .result import CriterionResult, Evidence, MatchResult, MissingFact, Outcome, Verdict
from .screen import ScreenResult, screen, screen_many
from .screening import Answer, Decision, ScreeningRecord, decide
from .trial import CompiledTrial, TrialOptions

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
    "Limits",
    "MatchResult",
    "MissingFact",
    "Outcome",
    "Patient",
    "PatientDataError",
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
]


def __getattr__(name: str):
    # `eligimatch.fhir` on first use: FHIR input needs the optional fhir.resources,
    # which a plain `import eligimatch` must not load.
    if name == "fhir":
        import importlib

        return importlib.import_module(".fhir", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
