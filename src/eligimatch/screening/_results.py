"""What screening gives back: :class:`ScreenResult` (one patient's ranked results and next questions),
:class:`ScreenError` (a patient of a batch that could not be screened, with its :class:`FieldProblem` list)
and :class:`Question` (a missing fact and the UNKNOWN verdicts waiting on it); :func:`rank`, the order of
one patient's results when no ranking is asked for.

These are the pydantic models at the edge of the API (JSON output, the service); the screening itself is
in :mod:`eligimatch.screening._screen`.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field

from eligimatch.engine._evaluation import Evaluation
from eligimatch.engine._result import MatchResult, Verdict
from eligimatch.engine._trial import CompiledTrial
from eligimatch.logic import Cause
from eligimatch.screening._questions import PlannedQuestion
from eligimatch.screening._ranking import Ranking

__all__ = ["ScreenResult", "ScreenError", "Question", "FieldProblem", "rank"]

_GROUP = {Verdict.MATCH: 0, Verdict.UNKNOWN: 1, Verdict.NO_MATCH: 2}
_VERDICT_TEXT = {Verdict.MATCH: "MATCH", Verdict.UNKNOWN: "UNKNOWN", Verdict.NO_MATCH: "NO MATCH"}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Question(_Out):
    """A missing fact, and the UNKNOWN verdicts that wait on it."""

    fact: str = Field(description="The fact, lab or history, e.g. 'platelets' or 'condition malignancy'.")
    detail: str = Field(description="What to find, in words (the first trial's wording).")
    causes: tuple[Cause, ...] = Field(default=(), description="Why it is unknown: missing, stale, invalid...")
    trials: tuple[str, ...] = Field(default=(), description="The UNKNOWN trials that need it.")
    criteria: tuple[str, ...] = Field(default=(), description="'TRIAL:CRITERION' pairs that need it.")
    settles: int = Field(description="How many UNKNOWN verdicts wait on this fact (len(trials)).")
    sole: int = Field(description="In how many of them it is the only missing fact: answering it alone settles them.")


class ScreenResult(_Out):
    """One patient screened against many trials: ranked results and the next questions to ask.

    >>> import datetime, eligimatch
    >>> trials = [eligimatch.load_trial(f"examples/trials/{n}.elig") for n in ("NCT05621486", "NCT03754764")]
    >>> with open("examples/patients/nct05621486-match-si.json", encoding="utf-8") as f:
    ...     patient = eligimatch.load_patient(f.read())
    >>> screened = eligimatch.screen(patient, trials, as_of=datetime.date(2026, 3, 1))
    >>> for r in screened.results:
    ...     print(r.trial_id, r.verdict.value)
    NCT05621486 match
    NCT03754764 no_match
    """

    kind: Literal["result"] = "result"
    index: int = Field(default=0, description="Position of the patient in the input of screen_many.")
    source: str | None = Field(default=None, description="Where the patient came from (a file, a line).")
    patient_id: str | None
    as_of: _dt.date
    results: tuple[MatchResult, ...] = Field(
        description="Matches first, then unknowns (fewest missing facts first), then no-matches; "
                    "input order among equals.")
    questions: tuple[Question, ...] = Field(
        default=(), description="Missing facts, most UNKNOWN verdicts settled first: the next questions "
                                "to ask the patient or the chart.")
    ranking: tuple[Ranking, ...] = Field(
        default=(), description="Tier, score and reasons of each result, in the order of `results`.")
    plan: tuple[PlannedQuestion, ...] = Field(
        default=(), description="The question plan: grouped, capped, most valuable first (see docs/screening.md).")
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return True

    def by_verdict(self, verdict: Verdict) -> tuple[MatchResult, ...]:
        return tuple(r for r in self.results if r.verdict == verdict)

    @property
    def matches(self) -> tuple[MatchResult, ...]:
        return self.by_verdict(Verdict.MATCH)

    @property
    def unknowns(self) -> tuple[MatchResult, ...]:
        return self.by_verdict(Verdict.UNKNOWN)

    @property
    def no_matches(self) -> tuple[MatchResult, ...]:
        return self.by_verdict(Verdict.NO_MATCH)

    @classmethod
    def build(cls, results: Iterable[MatchResult], *, patient_id: str | None, as_of: _dt.date, index: int = 0,
              source: str | None = None, warnings: tuple[str, ...] = (),
              rankings: tuple[Ranking, ...] | None = None, trials: tuple[CompiledTrial, ...] | None = None,
              max_questions: int | None = None) -> ScreenResult:
        """Rank ``results`` (one patient's, one per trial) and work out the next questions.

        With ``rankings`` (one per result, :func:`eligimatch.screening._ranking.rank_result`) the results
        are ordered by tier and score and the question plan is grouped and capped
        (:mod:`eligimatch.screening._questions`); without, by verdict and the number of missing facts.
        """
        results = tuple(results)
        if rankings is None:
            ranked = rank(results)
            return cls(index=index, source=source, patient_id=patient_id, as_of=as_of, results=ranked,
                       questions=_questions(ranked), warnings=warnings)
        from eligimatch.screening._ranking import order

        pos = order(rankings, results)
        ranked = tuple(results[i] for i in pos)
        ranks = tuple(rankings[i] for i in pos)
        plan: tuple[Any, ...] = ()
        if trials is not None:
            from eligimatch.screening._questions import DEFAULT_QUESTIONS, question_plan

            plan = question_plan(ranked, ranks, tuple(trials[i] for i in pos),
                                 limit=DEFAULT_QUESTIONS if max_questions is None else max_questions)
        return cls(index=index, source=source, patient_id=patient_id, as_of=as_of, results=ranked,
                   ranking=ranks, questions=_questions(ranked), plan=plan, warnings=warnings)

    def explain(self) -> str:
        """A short summary: one line per trial, best first, then the next questions."""
        who = self.patient_id or self.source or "(no id)"
        counts = {v: len(self.by_verdict(v)) for v in Verdict}
        n = len(self.results)
        lines = [f"patient {who} on {self.as_of}: {n} trial{'s' if n != 1 else ''} — "
                 f"{counts[Verdict.MATCH]} match, {counts[Verdict.UNKNOWN]} unknown, "
                 f"{counts[Verdict.NO_MATCH]} no match"]
        width = max((len(r.trial_id or "") for r in self.results), default=0)
        if self.ranking:
            return self._explain_ranked(lines, width)
        for i, r in enumerate(self.results, 1):
            line = f"  {i:>2}. {_VERDICT_TEXT[r.verdict]:<8}  {(r.trial_id or ''):<{width}}"
            if r.title:
                line += f"  {r.title if len(r.title) <= 60 else r.title[:57] + '...'}"
            notes = []
            if r.verdict == Verdict.MATCH:
                if r.matched_cohorts:
                    notes.append("cohorts " + ", ".join(r.matched_cohorts))
                if r.review:
                    notes.append("investigator to review " + ", ".join(r.review))
            elif r.verdict == Verdict.UNKNOWN:
                facts = list(dict.fromkeys(m.fact for m in r.missing))
                notes.append(f"{len(facts)} fact{'s' if len(facts) != 1 else ''} missing"
                             + (": " + ", ".join(facts[:6]) + (", ..." if len(facts) > 6 else "") if facts else ""))
            else:
                notes.append("decided by " + ", ".join(r.deciding))
            lines.append(line + ("  — " + "; ".join(notes) if notes else ""))
        if self.questions:
            lines.append("next questions (most unknown verdicts settled first):")
            for i, q in enumerate(self.questions, 1):
                where = "; ".join(q.criteria[:8]) + ("; ..." if len(q.criteria) > 8 else "")
                lines.append(f"  {i:>2}. {q.fact}: {q.detail} — {q.settles} trial{'s' if q.settles != 1 else ''} "
                             f"({where})")
        if self.warnings:
            lines.append("warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


    def _explain_ranked(self, lines: list[str], width: int) -> str:
        from eligimatch.screening._ranking import TIER_TEXT

        tw = max(len(t) for t in TIER_TEXT.values())
        for i, (r, rk) in enumerate(zip(self.results, self.ranking), 1):
            line = (f"  {i:>2}. {_VERDICT_TEXT[r.verdict]:<8}  {TIER_TEXT[rk.tier]:<{tw}}  {rk.score:.2f}  "
                    f"{(r.trial_id or ''):<{width}}")
            if r.title:
                line += f"  {r.title if len(r.title) <= 60 else r.title[:57] + '...'}"
            lines.append(line)
            for reason in rk.reasons:
                lines.append(f"        - {reason}")
        if self.plan:
            lines.append(f"next questions ({len(self.plan)} of the most useful; disease-defining first, then the "
                         f"trials they could move toward a match):")
            for i, q in enumerate(self.plan, 1):
                where = "; ".join(q.criteria[:6]) + ("; ..." if len(q.criteria) > 6 else "")
                tag = "disease-defining, " if q.disease_defining else ""
                lines.append(f"  {i:>2}. {q.text} [{tag}{q.cost}] — {', '.join(q.trials)} ({where})")
        if self.warnings:
            lines.append("warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


class FieldProblem(_Out):
    path: str = Field(description="Dotted path of the bad field, e.g. 'observations.0.date'; '(document)' for the whole.")
    message: str


class ScreenError(_Out):
    """A patient of :func:`screen_many` that could not be screened (invalid document, unreadable file)."""

    kind: Literal["error"] = "error"
    index: int
    source: str | None = None
    patient_id: str | None = None
    message: str
    errors: tuple[FieldProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return False

    def explain(self) -> str:
        return self.message


def rank(results: Iterable[MatchResult]) -> tuple[MatchResult, ...]:
    """Matches first, then unknowns with the fewest missing facts, then no-matches; input order among equals."""
    def key(item: tuple[int, MatchResult]) -> tuple[int, int, int]:
        pos, r = item
        n_missing = len({m.fact for m in r.missing}) if r.verdict == Verdict.UNKNOWN else 0
        return (_GROUP[r.verdict], n_missing, pos)

    return tuple(r for _, r in sorted(enumerate(results), key=key))


def _questions(results: Iterable[MatchResult | Evaluation]) -> tuple[Question, ...]:
    """The next questions of one patient's results (a result may be the plain
    :class:`~eligimatch.engine.Evaluation` it is made from: the same questions)."""
    acc: dict[str, dict[str, Any]] = {}
    for r in results:
        if r.verdict != Verdict.UNKNOWN:
            continue
        label = r.trial_id or "(trial)"
        facts = list(dict.fromkeys(m.fact for m in r.missing))
        for m in r.missing:
            q = acc.setdefault(m.fact, {"detail": m.detail, "causes": {}, "trials": {}, "criteria": {}, "sole": 0,
                                        "first": len(acc)})
            q["causes"][Cause(m.cause)] = None
            if label not in q["trials"]:
                q["trials"][label] = None
                if len(facts) == 1:
                    q["sole"] += 1
            for cid in m.criteria:
                q["criteria"][f"{label}:{cid}"] = None
    qs = [Question(fact=fact, detail=q["detail"], causes=tuple(q["causes"]), trials=tuple(q["trials"]),
                   criteria=tuple(q["criteria"]), settles=len(q["trials"]), sole=q["sole"])
          for fact, q in acc.items()]
    order = {fact: q["first"] for fact, q in acc.items()}
    qs.sort(key=lambda q: (-q.settles, -q.sole, -len(q.criteria), order[q.fact]))
    return tuple(qs)
