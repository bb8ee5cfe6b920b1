"""What a trial is for: its disease(s) and its disease-defining inclusion criteria.

A trial file may declare both in its header::

    disease systemic_lupus_erythematosus        # catalog condition ids
    defining I2                                 # inclusion criteria that say "the patient has it"

Where it does not, they are inferred from the criteria: an inclusion whose
expression is (or is a conjunction containing) a positive ``condition X``
predicate is disease-defining, and its conditions are the trial's diseases.
``eligimatch check`` reports what it inferred (:func:`describe`).

The ranking (:mod:`eligimatch.screening._ranking`) uses the profile to tell a
trial that is merely undecided from one the patient is unlikely to be for: the
trial's disease is not recorded while the patient has a *competing primary
diagnosis* -- a recorded malignancy or autoimmune disease (current or past)
outside the trial's diseases.  Both tests are run by the engine itself, on a
small probe trial (``condition (the trial's diseases)``: a current record; and
``history of (malignancy, autoimmune_disease) except (the trial's diseases)``),
so a record counts exactly as it would in a criterion: an ambiguous or broader
record is not "recorded".
"""

from __future__ import annotations

import datetime as _dt
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from eligimatch.language import ast as A
from eligimatch.engine._evaluate import PatientIndex
from eligimatch.logic import Cause
from eligimatch.engine._result import MatchResult, Outcome
from eligimatch.engine._trial import CompiledTrial

__all__ = ["PRIMARY_CATEGORIES", "DiseaseProfile", "Probe", "describe", "disease_profile", "probe"]

#: The condition groups whose members count as a patient's primary diagnosis.
PRIMARY_CATEGORIES = ("malignancy", "autoimmune_disease")


@dataclass(frozen=True)
class DiseaseProfile:
    """The trial's diseases and disease-defining inclusion criteria, and whether each was declared."""

    diseases: tuple[str, ...]
    defining: tuple[str, ...]
    diseases_declared: bool
    defining_declared: bool

    @property
    def known(self) -> bool:
        return bool(self.diseases or self.defining)


def _condition_preds(expr: Any) -> list[A.ConditionPred]:
    """The positive ``condition X`` predicates at the top of ``expr``: itself, or items of a top-level ``and``."""
    items = expr.items if isinstance(expr, A.And) else (expr,)
    return [e for e in items if isinstance(e, A.ConditionPred) and not e.history and not e.excepted]


_CACHE: dict[int, tuple[Any, DiseaseProfile]] = {}
_LOCK = threading.Lock()


def disease_profile(trial: CompiledTrial) -> DiseaseProfile:
    """The trial's :class:`DiseaseProfile`, declared or inferred (computed once per compiled trial)."""
    key = id(trial)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is trial:
        return hit[1]
    profile = _profile(trial)
    def forget(_ref: Any, k: int = key) -> None:
        _CACHE.pop(k, None)

    with _LOCK:
        _CACHE[key] = (weakref.ref(trial, forget), profile)
    return profile


def _profile(trial: CompiledTrial) -> DiseaseProfile:
    t = trial.ast
    cats = trial.catalogs
    declared_diseases = tuple(getattr(t, "diseases", ()) or ())
    declared_defining = tuple(getattr(t, "defining", ()) or ())
    crits = list(t.criteria) + [c for co in t.cohorts for c in co.criteria]
    conditions = cats.conditions if cats is not None else None

    def under_declared(name: str) -> bool:
        if not declared_diseases:
            return True
        if conditions is None:
            return name in declared_diseases
        concept = conditions.resolve(name)
        if concept is None:
            return False
        return any(concept.id == d or conditions.is_a(concept.id, d) for d in declared_diseases)

    if declared_defining:
        defining = declared_defining
    else:
        defining = tuple(c.id for c in crits if c.kind == "inclusion"
                         and any(any(under_declared(r.name) for r in p.concepts) for p in _condition_preds(c.expr)))
    if declared_diseases:
        diseases = declared_diseases
    else:
        names: dict[str, None] = {}
        for c in crits:
            if c.id in defining:
                for p in _condition_preds(c.expr):
                    for r in p.concepts:
                        concept = conditions.resolve(r.name) if conditions is not None else None
                        names[concept.id if concept is not None else r.name] = None
        diseases = tuple(names)
    return DiseaseProfile(diseases=diseases, defining=defining, diseases_declared=bool(declared_diseases),
                          defining_declared=bool(declared_defining))


def describe(trial: CompiledTrial) -> str:
    """One line for ``eligimatch check``: what the trial is for, and which of it was inferred."""
    p = disease_profile(trial)
    if not p.known:
        return ("no disease declared or inferred (add `disease CONDITION` and `defining ID` to the header "
                "so that screening can rank the trial)")
    parts = []
    if p.diseases:
        parts.append(f"disease {', '.join(p.diseases)} ({'declared' if p.diseases_declared else 'inferred'})")
    if p.defining:
        parts.append(f"disease-defining {', '.join(p.defining)} "
                     f"({'declared' if p.defining_declared else 'inferred from its condition criteria'})")
    else:
        parts.append("no disease-defining criterion")
    return "; ".join(parts)


# ---- probes ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """What the patient's records say about the trial's disease and about a competing primary diagnosis."""

    disease: Outcome  # TRUE: a current record of one of the trial's diseases
    competing: Outcome  # TRUE: a recorded malignancy / autoimmune disease outside the trial's diseases
    competing_notes: tuple[str, ...] = ()  # the records that compete, as the engine's evidence says


_PROBES: dict[tuple[tuple[str, ...], int], CompiledTrial] = {}


def _probe_trial(diseases: tuple[str, ...], catalogs: Any) -> CompiledTrial:
    key = (diseases, id(catalogs))
    t = _PROBES.get(key)
    if t is None:
        from eligimatch.engine._compile import compile_trial

        names = ", ".join(diseases)
        text = ("trial \"probe\"\ninclusion:\n"
                f"  - DISEASE: condition ({names})\n"
                f"  - COMPETING: history of ({', '.join(PRIMARY_CATEGORIES)}) except ({names})\n")
        t = compile_trial(text, filename="<disease probe>", catalogs=catalogs)
        with _LOCK:
            _PROBES[key] = t
    return t


def probe(trial: CompiledTrial, index: PatientIndex, as_of: _dt.date) -> Probe | None:
    """Run the disease probes for ``trial`` on the patient of ``index`` (None: the trial has no disease)."""
    from eligimatch.engine._matching import match

    p = disease_profile(trial)
    if not p.diseases:
        return None
    t = _probe_trial(p.diseases, index.catalogs)
    r: MatchResult = match(index.patient, t, as_of=as_of, index=index)
    d, c = r.criterion("DISEASE"), r.criterion("COMPETING")
    notes = tuple(e.note for e in c.evidence) if c.outcome == Outcome.TRUE else ()
    return Probe(disease=d.outcome, competing=c.outcome, competing_notes=notes)


def only_review(causes: tuple[Cause, ...]) -> bool:
    return bool(causes) and all(x == Cause.REVIEW for x in causes)
