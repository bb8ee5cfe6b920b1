"""The mCODE / CodeX clinical-trial-matching-service contract.

The clinical-trial-matching app calls each matching service it knows with
``POST {prefix}/getClinicalTrial``: a FHIR R4 ``Bundle`` holding the patient's
resources and a ``Parameters`` resource with the search options (zipCode,
travelRadius, phase, recruitmentStatus).  The answer is a FHIR ``searchset``
Bundle of ``ResearchStudy`` entries, each with ``search.mode`` "match" and
``search.score`` in [0, 1] (the app labels >= 0.75 "High-likelihood", >= 0.01
"Possible").  ``GET {prefix}`` answers exactly the hello text.  Errors are
``{"error": message}`` with a 4xx/5xx status.  The contract and the app's smoke
test are in ``shared/contracts/ctms/`` (see docs/screening.md).

What eligimatch puts in a ResearchStudy: the trial's id and identifier (the
ClinicalTrials.gov system for an NCT number), title, status, the conditions it
is for (with their catalog codes), a description with eligimatch's tier, score
and reasons, and the criteria's text as the enrollment's display.  The
criteria files say nothing of phase, sites or recruitment: ``status`` is
"active" (a trial the service was started with is one being screened for), no
phase is given, and the zipCode / travelRadius / phase options cannot exclude
a trial -- unknown is not no.  A ``recruitmentStatus`` option that does not
include "active" leaves no trial.  Trials the patient is not eligible for
(NO_MATCH) are left out.
"""

from __future__ import annotations

from typing import Any, Sequence

from eligimatch.engine._result import MatchResult
from eligimatch.screening._disease import disease_profile
from eligimatch.screening._ranking import TIER_TEXT, Ranking, Tier
from eligimatch.engine._trial import CompiledTrial

__all__ = ["HELLO", "parse_parameters", "searchset", "research_study", "patient_resources"]

HELLO = "Hello from the Clinical Trial Matching Service"
CTGOV = "http://clinicaltrials.gov"
ELIGIMATCH = "urn:eligimatch:trial"
_CODE_SYSTEMS = {"ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm", "SNOMED": "http://snomed.info/sct"}


def parse_parameters(bundle: dict[str, Any]) -> dict[str, Any]:
    """The search options of the bundle's Parameters entries (as the reference service reads them)."""
    out: dict[str, Any] = {}
    for entry in bundle.get("entry") or ():
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "Parameters":
            continue
        for p in res.get("parameter") or ():
            if not isinstance(p, dict):
                continue
            name = p.get("name")
            if name in ("zipCode", "phase", "recruitmentStatus") and isinstance(p.get("valueString"), str):
                out[name] = p["valueString"]
            elif name == "travelRadius":
                v = p.get("valueString", p.get("valueDecimal"))
                if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                    try:
                        out[name] = float(v)
                    except ValueError:
                        pass
    return out


def patient_resources(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle without its Parameters entries: what describes the patient."""
    entries = [e for e in bundle.get("entry") or ()
               if not (isinstance(e, dict) and isinstance(e.get("resource"), dict)
                       and e["resource"].get("resourceType") == "Parameters")]
    return {**bundle, "entry": entries}


def _condition(trial: CompiledTrial, name: str) -> dict[str, Any]:
    cats = trial.catalogs
    concept = cats.conditions.resolve(name) if cats is not None else None
    if concept is None:
        return {"text": name}
    codings = []
    for code in getattr(concept, "codes", ()) or ():
        system, _, value = str(code).partition(":")
        if system in _CODE_SYSTEMS and value and "-" not in value:  # a range (C00-C96) is not a code
            codings.append({"system": _CODE_SYSTEMS[system], "code": value})
    out: dict[str, Any] = {"text": getattr(concept, "name", name)}
    if codings:
        out["coding"] = codings
    return out


def research_study(trial: CompiledTrial, result: MatchResult, ranking: Ranking) -> dict[str, Any]:
    """A FHIR R4 ResearchStudy for one trial, described for this patient."""
    tid = ranking.trial_id
    system = CTGOV if tid.upper().startswith("NCT") else ELIGIMATCH
    safe_id = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in tid)[:64] or "trial"
    criteria = [f"{c.kind} {c.id}: {c.text}" for c in trial.all_criteria() if c.text]
    study: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": safe_id,
        "identifier": [{"system": system, "value": tid}],
        "status": "active",
        "description": (f"eligimatch: {TIER_TEXT[ranking.tier]} (score {ranking.score:.2f}; verdict "
                        f"{result.verdict.value}). " + " ".join(r.rstrip(".") + "." for r in ranking.reasons)),
    }
    if trial.title:
        study["title"] = trial.title
    conditions = [_condition(trial, d) for d in disease_profile(trial).diseases]
    if conditions:
        study["condition"] = conditions
    if criteria:
        study["enrollment"] = [{"display": "Eligibility criteria: " + " | ".join(criteria)}]
    return study


def searchset(trials: Sequence[CompiledTrial], results: Sequence[MatchResult], rankings: Sequence[Ranking],
              params: dict[str, Any]) -> dict[str, Any]:
    """The searchset Bundle: one entry per trial the patient is not excluded from, best first."""
    status = params.get("recruitmentStatus")
    entries = []
    if status is None or "active" in [s.strip() for s in str(status).split(",")]:
        for t, r, rk in zip(trials, results, rankings):
            if rk.tier == Tier.NOT_ELIGIBLE:
                continue
            entries.append({"resource": research_study(t, r, rk),
                            "search": {"mode": "match", "score": max(0.0, min(1.0, rk.score))}})
    entries.sort(key=lambda e: -e["search"]["score"])
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
