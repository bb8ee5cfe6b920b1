"""The question plan: what to ask the patient or look up in the chart next, most valuable first.

From one patient's ranked results, the missing facts of every trial that could
still match are turned into *questions*:

* **grouped** -- facts asked together are one question (pregnant, breastfeeding
  and planning a pregnancy; a blood count; a liver panel ...; see :data:`GROUPS`);
* **ordered by value** -- questions that settle a disease-defining criterion
  of a trial in the *possible* tier first; then by how many trials the answer could move toward MATCH (a trial in
  the *possible* tier counts 1, one in the *unlikely* tier 1/4); then cheap
  before costly (a yes/no fact, then a score or value, then a chart review of
  the history, then a laboratory test); then the number of criteria settled;
* **capped** -- the first ``limit`` questions (default 10; ``--questions N``);
* each names the trials and the ``TRIAL:CRITERION`` pairs it settles.

Trials that are already eligible or not eligible need no question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from eligimatch.engine._evaluation import Evaluation
from eligimatch.engine._result import MatchResult, Verdict
from eligimatch.engine._trial import CompiledTrial
from eligimatch.screening._ranking import Ranking, Tier

__all__ = ["DEFAULT_QUESTIONS", "GROUPS", "Cost", "PlannedQuestion", "question_plan"]

DEFAULT_QUESTIONS = 10


class Cost:
    """How hard a question is to answer, cheapest first."""

    YES_NO = 0  # a yes/no fact: ask the patient or read the chart
    VALUE = 1  # a score, a value, a duration, a coded result
    HISTORY = 2  # a review of the recorded history (conditions, therapies, procedures)
    TEST = 3  # a laboratory test or measurement


_COST_NAMES = {Cost.YES_NO: "yes/no", Cost.VALUE: "value", Cost.HISTORY: "history", Cost.TEST: "test"}


@dataclass(frozen=True)
class Group:
    id: str
    text: str
    facts: frozenset[str]


#: Facts asked as one question.  A fact in no group is its own question.
GROUPS: tuple[Group, ...] = (
    Group("pregnancy", "Is the patient pregnant or breastfeeding (or planning a pregnancy)?",
          frozenset({"pregnant", "breastfeeding", "planning_pregnancy", "pregnancy_test_negative"})),
    Group("contraception", "Is the patient of childbearing potential, and will they use effective contraception?",
          frozenset({"childbearing_potential", "contraception_agreed"})),
    Group("consent", "Has the patient signed the informed consent form?", frozenset({"consent_signed"})),
    Group("blood_count", "Complete blood count: neutrophils, lymphocytes, white cells, haemoglobin, platelets",
          frozenset({"anc", "lymphocytes", "wbc", "hemoglobin", "platelets"})),
    Group("liver", "Liver panel: ALT, AST, alkaline phosphatase, total bilirubin",
          frozenset({"alt", "ast", "alp", "total_bilirubin"})),
    Group("kidney", "Kidney function: serum creatinine (clearance and eGFR follow from it)",
          frozenset({"creatinine", "crcl", "egfr", "crcl by cockcroft_gault", "egfr by ckd_epi_2021"})),
    Group("coagulation", "Coagulation: INR and APTT", frozenset({"inr", "aptt", "pt"})),
    Group("hepatitis", "Hepatitis serology: HBsAg, anti-HBc, HBV DNA, HCV antibody, HCV RNA",
          frozenset({"hbsag", "anti_hbc", "hbv_dna", "hcv_antibody", "hcv_rna"})),
    Group("standard_therapy", "Has standard therapy failed, or is none available or applicable?",
          frozenset({"standard_therapy_failed", "standard_therapy_unavailable"})),
)
_GROUP_OF = {f: g for g in GROUPS for f in g.facts}


class PlannedQuestion(BaseModel):
    """One question of the plan: the facts it asks for and what answering it settles."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id: the group's id, or the fact's name.")
    text: str = Field(description="The question, in words.")
    facts: tuple[str, ...] = Field(description="The missing facts it asks for.")
    cost: str = Field(description="'yes/no', 'value', 'history' or 'test'.")
    disease_defining: bool = Field(default=False, description="It settles a disease-defining criterion.")
    trials: tuple[str, ...] = Field(default=(), description="The trials whose verdict waits on it.")
    criteria: tuple[str, ...] = Field(default=(), description="'TRIAL:CRITERION' pairs it settles.")
    value: float = Field(default=0.0, description="Trials it could move toward MATCH (unlikely ones count 1/4).")
    details: tuple[str, ...] = Field(default=(), description="What to find, per fact, in the trials' words.")


def _cost(fact: str, trial: CompiledTrial | None) -> int:
    head = fact.split(" ", 1)[0]
    if head in ("condition", "history", "therapy", "procedure", "dose", "daily", "total"):
        return Cost.HISTORY
    cats = trial.catalogs if trial is not None else None
    if cats is None:
        from eligimatch.knowledge._catalogs import Catalogs

        cats = Catalogs.default()
    fd = cats.facts.resolve(fact)
    if fd is not None:
        return Cost.YES_NO if getattr(fd, "type", None) == "bool" else Cost.VALUE
    if cats.analytes.resolve(fact.split(" by ", 1)[0]) is not None:
        return Cost.TEST
    return Cost.HISTORY


def question_plan(results: Sequence[MatchResult | Evaluation], rankings: Sequence[Ranking], trials: Sequence[CompiledTrial],
                  limit: int = DEFAULT_QUESTIONS) -> tuple[PlannedQuestion, ...]:
    """The question plan for one patient's results (``results[i]``, ``rankings[i]``, ``trials[i]`` go together;
    a result may be the plain :class:`~eligimatch.engine.Evaluation` it is made from: the same plan)."""
    if limit < 0:
        raise ValueError(f"the number of questions must be >= 0, not {limit}")
    acc: dict[str, dict[str, Any]] = {}
    for r, rk, t in zip(results, rankings, trials):
        if r.verdict != Verdict.UNKNOWN or rk.tier not in (Tier.POSSIBLE, Tier.UNLIKELY):
            continue
        weight = 1.0 if rk.tier == Tier.POSSIBLE else 0.25
        label = r.trial_id or rk.trial_id
        # a disease-defining criterion leads the plan only for a trial the patient may well be for
        defining = set(rk.defining) if rk.tier == Tier.POSSIBLE else set()
        for m in r.missing:
            group = _GROUP_OF.get(m.fact)
            key = group.id if group else m.fact
            q = acc.setdefault(key, {"text": group.text if group else None, "facts": {}, "trials": {},
                                     "criteria": {}, "defining": False, "cost": Cost.YES_NO, "details": {},
                                     "first": len(acc)})
            q["facts"][m.fact] = None
            q["details"].setdefault(m.detail, None)
            q["cost"] = max(q["cost"], _cost(m.fact, t))
            q["trials"].setdefault(label, weight)
            for cid in m.criteria:
                q["criteria"][f"{label}:{cid}"] = None
                if cid in defining:
                    q["defining"] = True
    for q in acc.values():
        q["value"] = round(sum(q["trials"].values()), 2)
    # ordered on the plain tallies, and only the questions kept become models (validated, with tuples as long
    # as the trials screened: with 100 trials, making every question a model cost more than the plan kept)
    ranked = sorted(acc.items(), key=lambda kv: (not kv[1]["defining"], -kv[1]["value"], kv[1]["cost"],
                                                 -len(kv[1]["criteria"]), kv[1]["first"]))
    return tuple(PlannedQuestion(
        id=key, text=q["text"] or _text(key, next(iter(q["details"])), q["cost"]), facts=tuple(q["facts"]),
        cost=_COST_NAMES[q["cost"]], disease_defining=q["defining"], trials=tuple(q["trials"]),
        criteria=tuple(q["criteria"]), value=q["value"], details=tuple(q["details"]))
        for key, q in ranked[:limit])


def _text(fact: str, detail: str, cost: int) -> str:
    if not detail:
        return fact
    text = detail[:1].upper() + detail[1:]
    if cost == Cost.YES_NO:
        text = text.removesuffix(" (yes/no)")
        return text if text.endswith("?") else text + "?"
    if cost == Cost.HISTORY:
        return "From the chart: " + detail
    return text
