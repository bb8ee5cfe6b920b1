"""Rank one patient's trials: a tier and a score in [0, 1] per trial, with the reasons.

Tiers, best first (docs/screening.md gives the rules and the score of each):

``eligible``
    MATCH, nothing left for the investigator.  Score 1.
``eligible_pending_review``
    MATCH, with criteria only the investigator can decide.  Score 0.88 down to
    0.80 (0.02 less per review item, at most four).
``possible``
    UNKNOWN through missing facts or records a coordinator can find.  Score
    0.30 to 0.70: 0.30 + 0.25 x (share of the criteria met) + 0.15 x (disease
    share: the share of the disease-defining criteria met; when none is met
    but a current record of the trial's disease is found, 0.5, or 1 for a
    trial without defining criteria).
``unlikely``
    UNKNOWN (or MATCH) while a disease-defining inclusion is not recorded and
    the patient has a recorded competing primary diagnosis (current or past); or an exclusion
    whose data part is met, pending only the investigator's judgment of an
    exception ("excluded unless the investigator judges ...").  Score 0.05 to
    0.20: 0.05 + 0.15 x (share of the criteria met).
``not_eligible``
    NO_MATCH.  Score 0.

The tiers' score ranges do not overlap, so sorting by score sorts by tier.
The matching app of the mCODE family labels a score >= 0.75 "High-likelihood"
and >= 0.01 "Possible": only the two eligible tiers reach the first.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from eligimatch.engine._evaluate import PatientIndex
from eligimatch.engine._evaluation import Evaluation, Row
from eligimatch.engine._result import CriterionResult, MatchResult, Outcome, Verdict
from eligimatch.engine._trial import CompiledTrial
from eligimatch.screening._disease import Probe, disease_profile, probe

__all__ = ["TIER_ORDER", "Ranking", "Tier", "rank_result", "rank_results"]


class Tier(str, Enum):
    ELIGIBLE = "eligible"
    ELIGIBLE_PENDING_REVIEW = "eligible_pending_review"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    NOT_ELIGIBLE = "not_eligible"


TIER_ORDER = {t: i for i, t in enumerate(Tier)}
TIER_TEXT = {Tier.ELIGIBLE: "eligible", Tier.ELIGIBLE_PENDING_REVIEW: "eligible pending review",
             Tier.POSSIBLE: "possible", Tier.UNLIKELY: "unlikely", Tier.NOT_ELIGIBLE: "not eligible"}


class Ranking(BaseModel):
    """Where one trial stands for one patient: tier, score and why."""

    model_config = ConfigDict(frozen=True)

    trial_id: str
    position: int = Field(default=0, description="The trial's position in the input of screen().")
    verdict: Verdict
    tier: Tier
    score: float = Field(ge=0.0, le=1.0, description="0 (not eligible) to 1 (eligible); see docs/screening.md.")
    reasons: tuple[str, ...] = Field(default=(), description="Why this tier and score, one line each.")
    defining: tuple[str, ...] = Field(default=(), description="The trial's disease-defining inclusion criteria.")
    defining_met: tuple[str, ...] = ()
    excluded_unless: tuple[str, ...] = Field(
        default=(), description="Exclusions whose data part is met: excluded unless the investigator judges "
                                "the exception applies.")
    competing: tuple[str, ...] = Field(default=(), description="Recorded competing primary diagnoses.")

    @property
    def label(self) -> str:
        return TIER_TEXT[self.tier]


def _share(n: int, total: int) -> float:
    return n / total if total else 0.0


def rank_result(result: MatchResult | Evaluation, trial: CompiledTrial, index: PatientIndex | None = None,
                as_of: _dt.date | None = None, position: int = 0) -> Ranking:
    """The :class:`Ranking` of one result; ``index`` (the patient's) is needed for the disease probes.

    ``result``: a :class:`MatchResult`, or the plain :class:`~eligimatch.engine.Evaluation` it is made
    from (the same ranking: it reads each criterion's id, cohort and whether it is met, the verdict and
    the missing facts).
    """
    label = result.trial_id or trial.id or "(trial)"
    profile = disease_profile(trial)
    criteria: Sequence[CriterionResult | Row] = result.criteria if isinstance(result, MatchResult) else result.rows
    by_id = {c.id: c for c in criteria}
    defining = tuple(d for d in profile.defining if d in by_id)
    defining_met = tuple(d for d in defining if by_id[d].met is True)
    defining_open = tuple(d for d in defining if by_id[d].met is None)
    total = len(criteria)
    met = sum(1 for c in criteria if c.met is True)
    reasons: list[str] = []
    if total:
        reasons.append(f"{met} of {total} criteria met" + (" (every cohort's counted)" if result.cohorts else ""))

    if result.verdict == Verdict.NO_MATCH:
        return Ranking(trial_id=label, position=position, verdict=result.verdict, tier=Tier.NOT_ELIGIBLE, score=0.0,
                       reasons=(f"not eligible: decided by {', '.join(result.deciding)}", *reasons),
                       defining=defining, defining_met=defining_met)

    # The patient's disease is open when no disease-defining criterion is met (for a trial with cohorts,
    # meeting one cohort's is enough) and no current record of the trial's disease is found.
    pr: Probe | None = None
    disease_open = not defining_met and bool(defining or profile.diseases)
    if disease_open and index is not None:
        pr = probe(trial, index, as_of or result.as_of)
        if pr is not None and pr.disease == Outcome.TRUE:
            disease_open = False
    competing = pr is not None and pr.competing == Outcome.TRUE
    unlikely_disease = disease_open and competing
    excluded_unless = tuple(result.excluded_unless)

    if defining_met:
        reasons.append(f"disease-defining criteria met: {', '.join(defining_met)}")
    # a cohort's defining criterion left open does not matter once another cohort's is met
    listed_open = tuple(d for d in defining_open if by_id[d].cohort is None or not defining_met)
    if listed_open:
        reasons.append(f"disease-defining criteria not yet known: {', '.join(listed_open)}")
    if pr is not None and pr.disease == Outcome.TRUE:
        reasons.append(f"the trial's disease is recorded ({', '.join(profile.diseases)})")
    if unlikely_disease and pr is not None:
        reasons.append("a competing primary diagnosis is recorded: " + "; ".join(pr.competing_notes)
                       + f" (the trial is for {', '.join(profile.diseases)})")
    if excluded_unless:
        reasons.append("excluded unless the investigator judges the exception applies: " + ", ".join(excluded_unless))

    if unlikely_disease or excluded_unless:
        tier = Tier.UNLIKELY
        score = 0.05 + 0.15 * _share(met, total)
    elif result.verdict == Verdict.MATCH and not result.review:
        tier, score = Tier.ELIGIBLE, 1.0
        reasons.insert(0, "eligible: nothing left open" + (f" (cohort {', '.join(result.matched_cohorts)})"
                                                            if result.matched_cohorts else ""))
    elif result.verdict == Verdict.MATCH:
        tier = Tier.ELIGIBLE_PENDING_REVIEW
        score = 0.88 - 0.02 * min(len(result.review), 4)
        reasons.insert(0, f"eligible once the investigator reviews {', '.join(result.review)}")
    else:
        tier = Tier.POSSIBLE
        d_share = _share(len(defining_met), len(defining)) if defining else 0.0
        if pr is not None and pr.disease == Outcome.TRUE:  # the disease is recorded; its details may be open
            d_share = 0.5 + 0.5 * d_share if defining else 1.0
        score = 0.30 + 0.25 * _share(met, total) + 0.15 * d_share
        facts = list(dict.fromkeys(m.fact for m in result.missing))
        reasons.append(f"{len(facts)} fact{'s' if len(facts) != 1 else ''} to find"
                       + (": " + ", ".join(facts[:5]) + (", and more" if len(facts) > 5 else "") if facts else ""))
    return Ranking(trial_id=label, position=position, verdict=result.verdict, tier=tier, score=round(score, 4), reasons=tuple(reasons),
                   defining=defining, defining_met=defining_met, excluded_unless=excluded_unless,
                   competing=pr.competing_notes if unlikely_disease and pr is not None else ())


def rank_results(results: Sequence[MatchResult], trials: Sequence[CompiledTrial],
                 indexes: dict[int, PatientIndex] | None = None,
                 as_of: _dt.date | None = None) -> tuple[Ranking, ...]:
    """One :class:`Ranking` per result (``results[i]`` is ``trials[i]``'s), in the results' order."""
    out: list[Ranking] = []
    for r, t in zip(results, trials):
        idx = None
        if indexes is not None:
            idx = indexes.get(id(t.catalogs)) if t.catalogs is not None else next(iter(indexes.values()), None)
        out.append(rank_result(r, t, idx, as_of, len(out)))
    return tuple(out)


def order(rankings: Sequence[Ranking], results: Sequence[MatchResult | Evaluation] | None = None) -> list[int]:
    """Positions of ``rankings``, best first: by tier, then score, then (with ``results``) the fewest
    missing facts, then input order."""
    items = list(rankings)

    def missing(i: int) -> int:
        return len({m.fact for m in results[i].missing}) if results is not None else 0

    return sorted(range(len(items)), key=lambda i: (TIER_ORDER[items[i].tier], -items[i].score, missing(i), i))
