"""The screening record: answers and investigator decisions, applied by match()/screen(), invalidated by data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import eligimatch
from eligimatch import PatientDataError, Verdict, screen
from eligimatch.screening import Answer, Decision, DecisionError, ScreeningRecord, decide, load_record
from eligimatch.screening import Tier

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AS_OF = dt.date(2026, 3, 1)
DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def trial():
    return eligimatch.load_trial(EXAMPLES / "trials" / "NCT07301164.elig")


def doc() -> dict:
    return json.loads((EXAMPLES / "patients" / "nct07301164-sle-match.json").read_text())


def record_all(patient, trial, met=True, note="reviewed at the screening visit"):
    r = eligimatch.match(patient, trial, as_of=AS_OF)
    rec = ScreeningRecord(patient_id=patient.id)
    for cid in r.review:
        rec = rec.with_decision(decide(patient, trial, cid, met, by="dr-lee", when=DAY, note=note, as_of=AS_OF))
    return r, rec


def test_recorded_decisions_turn_a_match_pending_review_into_a_final_match(trial):
    p = eligimatch.load_patient(doc())
    before, rec = record_all(p, trial)
    assert before.verdict == Verdict.MATCH and before.review  # pending review
    after = eligimatch.match(p, trial, as_of=AS_OF, decisions=rec)
    assert after.verdict == Verdict.MATCH
    assert after.review == () and set(after.decided) == set(before.review)
    e15 = after.criterion("E15")
    assert e15.met is True and e15.outcome.value == "false"  # an exclusion met = not excluded
    assert any(e.note == "decided by the investigator (dr-lee) on 2026-03-02: met; note: reviewed at the "
                         "screening visit" for e in e15.evidence)
    assert "decided by the investigator (screening record)" in after.explain()
    ranked = screen(p, [trial], as_of=AS_OF, decisions=rec)
    assert ranked.ranking[0].tier == Tier.ELIGIBLE and ranked.ranking[0].score == 1.0
    assert screen(p, [trial], as_of=AS_OF).ranking[0].tier == Tier.ELIGIBLE_PENDING_REVIEW


def test_a_decision_is_invalidated_when_the_data_it_saw_change(trial):
    p = eligimatch.load_patient(doc())
    _, rec = record_all(p, trial)
    # I4a2: on systemic glucocorticoids (the data), the dose during screening (the investigator's): the
    # prednisone prescription is renewed (a new record).
    # (I3b, the dated serum hCG, is computed since issue 13 and no longer waits on a decision.)
    changed = doc()
    for th in changed["therapies"]:
        if th["drug"] == "prednisone" and th.get("ongoing"):
            th["source"] = {"type": "MedicationRequest", "id": "rx-7731"}
    p2 = eligimatch.load_patient(changed)
    r = eligimatch.match(p2, trial, as_of=AS_OF, decisions=rec)
    assert "I4a2" in r.decisions_invalidated and "I4a2" in r.review and "I4a2" not in r.decided
    i4a2 = r.criterion("I4a2")
    assert i4a2.met is None
    assert any(e.code == "decision_invalidated" and "no longer applies" in e.note for e in i4a2.evidence)
    assert "recorded decisions that no longer apply" in r.explain()
    # the decisions on criteria whose data did not change still hold
    assert "I4b3" in r.decided
    # judgment-only criteria saw the whole chart: it changed, so they lapse too
    assert {"E1", "E15"} <= set(r.decisions_invalidated)
    rk = screen(p2, [trial], as_of=AS_OF, decisions=rec).ranking[0]
    assert rk.tier == Tier.ELIGIBLE_PENDING_REVIEW


def test_an_answer_does_not_undo_a_judgment_only_decision(trial):
    d = doc()
    del d["facts"]["planning_pregnancy"]
    p = eligimatch.load_patient(d)
    before = eligimatch.match(p, trial, as_of=AS_OF)
    assert before.verdict == Verdict.UNKNOWN and before.criterion("E14c").met is None
    rec = ScreeningRecord(patient_id=p.id).with_decision(
        decide(p, trial, "E15", True, by="dr-lee", when=DAY, as_of=AS_OF))
    rec = rec.with_answer(Answer(fact="planning_pregnancy", value=False, by="coordinator", when=AS_OF))
    r = eligimatch.match(p, trial, as_of=AS_OF, decisions=rec)
    assert r.criterion("E14c").met is True
    assert any("ScreeningRecord" in (e.source or "") for e in r.criterion("E14c").evidence)
    assert "E15" in r.decided and not r.decisions_invalidated


def test_a_not_met_decision_on_an_excluded_unless_criterion_excludes(trial):
    d = doc()
    next(o for o in d["observations"] if o["analyte"] == "anc")["value"] = 0.8
    p = eligimatch.load_patient(d)
    assert eligimatch.match(p, trial, as_of=AS_OF).excluded_unless == ("E2a1",)
    no = ScreeningRecord().with_decision(decide(p, trial, "E2a1", False, by="dr-lee", when=DAY,
                                                note="neutropenia not from SLE", as_of=AS_OF))
    r = eligimatch.match(p, trial, as_of=AS_OF, decisions=no)
    assert r.verdict == Verdict.NO_MATCH and r.deciding == ("E2a1",) and r.excluded_unless == ()
    yes = ScreeningRecord().with_decision(decide(p, trial, "E2a1", True, by="dr-lee", when=DAY,
                                                 note="lupus neutropenia", as_of=AS_OF))
    r = eligimatch.match(p, trial, as_of=AS_OF, decisions=yes)
    assert r.criterion("E2a1").met is True and r.excluded_unless == ()


def test_decide_refuses_a_criterion_the_data_decide_or_that_waits_on_data(trial):
    p = eligimatch.load_patient(doc())
    with pytest.raises(DecisionError, match="I2b is met; there is nothing for the investigator to decide"):
        decide(p, trial, "I2b", True, by="dr-lee", as_of=AS_OF)
    with pytest.raises(DecisionError, match="has no criterion 'Z9'"):
        decide(p, trial, "Z9", True, by="dr-lee", as_of=AS_OF)
    d = doc()
    for th in d["therapies"]:
        if th["drug"] == "prednisone":
            del th["route"]  # systemic or not: I4a2 waits on the route
    with pytest.raises(DecisionError, match="it also waits on data"):
        decide(eligimatch.load_patient(d), trial, "I4a2", True, by="dr-lee", as_of=AS_OF)


def test_a_decision_on_data_now_decided_by_the_data_is_not_used(trial):
    """A decision never overrides the data: a criterion the data now decide keeps the data's answer."""
    p = eligimatch.load_patient(doc())
    _, rec = record_all(p, trial, met=False)
    d = doc()
    d["therapies"] = [th for th in d["therapies"] if th["drug"] != "prednisone"]  # I4a2 met on data now
    r = eligimatch.match(eligimatch.load_patient(d), trial, as_of=AS_OF, decisions=rec)
    assert r.criterion("I4a2").met is True and "I4a2" not in r.decided


def test_answers_are_facts_or_results_and_never_overrule_the_chart(trial):
    d = doc()
    del d["facts"]["breastfeeding"]
    p = eligimatch.load_patient(d)
    rec = ScreeningRecord(answers=(
        Answer(fact="breastfeeding", value=False, by="coordinator", when=AS_OF),
        Answer(fact="pregnant", value=True, by="coordinator", when=AS_OF),  # the chart says false, undated
        Answer(fact="creatinine", value=0.8, unit="mg/dL", date=dt.date(2026, 2, 28), by="coordinator", when=AS_OF),
    ))
    r = eligimatch.match(p, trial, as_of=AS_OF, decisions=rec)
    assert r.criterion("E14b").met is True
    assert r.criterion("E14a").met is True  # the chart's "not pregnant" stands
    assert any("the chart records pregnant = False" in w and "is not used" in w for w in r.warnings)
    assert any(e.fact == "creatinine" and e.value == 0.8 for e in r.criterion("E2c3").evidence)
    with pytest.raises(PatientDataError, match="answers.0.fact"):
        eligimatch.match(p, trial, as_of=AS_OF,
                         decisions=ScreeningRecord(answers=(Answer(fact="pregnnt", value=True, by="c", when=DAY),)))


def test_the_record_is_json_and_validated(trial):
    p = eligimatch.load_patient(doc())
    _, rec = record_all(p, trial)
    again = load_record(rec.model_dump_json())
    assert again == rec
    assert eligimatch.match(p, trial, as_of=AS_OF, decisions=again).review == ()
    with pytest.raises(PatientDataError, match=r"decisions\.0\.met"):
        load_record({"decisions": [{"trial": "T", "criterion": "E1", "met": "maybe", "by": "x",
                                    "when": "2026-03-02", "fingerprint": "0"}]})
    # a plain list of decisions is accepted too
    assert eligimatch.match(p, trial, as_of=AS_OF, decisions=list(rec.decisions)).review == ()


def test_a_hand_made_fingerprint_does_not_settle_anything(trial):
    p = eligimatch.load_patient(doc())
    fake = Decision(trial="NCT07301164", criterion="E15", met=True, by="x", when=DAY, fingerprint="0" * 32)
    r = eligimatch.match(p, trial, as_of=AS_OF, decisions=[fake])
    assert "E15" in r.review and "E15" in r.decisions_invalidated


def test_cli_match_applies_a_screening_record(trial, tmp_path, capsys):
    from eligimatch.cli import main

    p = eligimatch.load_patient(doc())
    _, rec = record_all(p, trial)
    path = tmp_path / "record.json"
    path.write_text(rec.model_dump_json(indent=2))
    args = ["match", str(EXAMPLES / "patients" / "nct07301164-sle-match.json"),
            str(EXAMPLES / "trials" / "NCT07301164.elig"), "--as-of", "2026-03-01"]
    assert main(args + ["--record", str(path)]) == 0
    out = capsys.readouterr().out
    assert "decided by the investigator (dr-lee) on 2026-03-02: met" in out
    assert "for the investigator to review" not in out
    path.write_text('{"decisions": [{"trial": "T"}]}')
    assert main(args + ["--record", str(path)]) == 1
    assert "decisions.0.criterion" in capsys.readouterr().err
