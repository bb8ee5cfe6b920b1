"""match(): verdicts, review items, cohorts, anchors, options, errors for people."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

import eligimatch
from eligimatch import Verdict

AS_OF = date(2026, 3, 1)

TRIAL = """
trial "T-1"
title "A test trial"
anchors screening, apheresis
inclusion:
  - I1 "Signed consent": consent_signed
  - I2 "Age 18-70": age between 18 and 70 years
  - I3 "Investigator considers suitable": judgment
exclusion:
  - E1 "Pregnant or breastfeeding": pregnant or breastfeeding
"""


def _patient(**kw):
    base = {"birth_date": "1980-01-01", "facts": {"consent_signed": True, "pregnant": False, "breastfeeding": False}}
    base.update(kw)
    return eligimatch.load_patient(base)


def test_match_with_review_items_listed():
    trial = eligimatch.compile_trial(TRIAL)
    r = eligimatch.match(_patient(), trial, as_of=AS_OF)
    assert r.verdict == Verdict.MATCH
    assert r.review == ("I3",)
    assert r.deciding == ()
    assert r.criterion("E1").met is True and r.criterion("E1").outcome.value == "false"


def test_no_match_names_the_deciding_criterion():
    trial = eligimatch.compile_trial(TRIAL)
    p = _patient(facts={"consent_signed": True, "pregnant": True, "breastfeeding": False})
    r = eligimatch.match(p, trial, as_of=AS_OF)
    assert r.verdict == Verdict.NO_MATCH
    assert r.deciding == ("E1",)


def test_unknown_lists_missing_facts_and_never_matches():
    trial = eligimatch.compile_trial(TRIAL)
    p = _patient(facts={"consent_signed": True})
    r = eligimatch.match(p, trial, as_of=AS_OF)
    assert r.verdict == Verdict.UNKNOWN
    assert r.deciding == ("E1",)
    assert {m.fact for m in r.missing} == {"pregnant", "breastfeeding"}
    assert all(m.criteria == ("E1",) for m in r.missing)


def test_a_judgment_mixed_with_missing_data_blocks():
    trial = eligimatch.compile_trial('inclusion:\n - I1 "x": ecog <= 1 and judgment\n')
    r = eligimatch.match(eligimatch.Patient(), trial, as_of=AS_OF)
    assert r.verdict == Verdict.UNKNOWN
    assert r.review == ()


def test_anchors_default_to_the_evaluation_date_and_say_so():
    trial = eligimatch.compile_trial(TRIAL)
    r = eligimatch.match(_patient(anchors={"screening": "2026-02-20"}), trial, as_of=AS_OF,
                         anchors={"apheresis": date(2026, 3, 10)})
    assert r.anchors == {"screening": date(2026, 2, 20), "apheresis": date(2026, 3, 10)}
    assert r.anchors_defaulted == ()
    r2 = eligimatch.match(_patient(), trial, as_of=AS_OF)
    assert r2.anchors == {"screening": AS_OF, "apheresis": AS_OF}
    assert set(r2.anchors_defaulted) == {"screening", "apheresis"}
    assert "defaulted to the evaluation date" in r2.explain()


def test_default_reference_range_from_trial_options():
    text = 'inclusion:\n - I1 "ALT <= 2.5 x ULN": alt <= 2.5 x ULN\n'
    p = eligimatch.load_patient({"observations": [{"analyte": "alt", "value": 90, "unit": "U/L",
                                                    "date": "2026-02-20"}]})
    bare = eligimatch.compile_trial(text)
    assert eligimatch.match(p, bare, as_of=AS_OF).criteria[0].outcome.value == "unknown"
    opts = eligimatch.TrialOptions(reference_ranges={"alt": (None, 40.0, "U/L")})
    with_range = eligimatch.compile_trial(text, options=opts)
    c = eligimatch.match(p, with_range, as_of=AS_OF).criteria[0]
    assert c.outcome.value == "true"  # 90 <= 100
    assert "default reference range" in c.evidence[0].note


def test_cohorts_need_general_and_one_cohort():
    text = """
inclusion:
  - G1 "consent": consent_signed
cohort a "Cohort A":
  inclusion:
    - A1 "ecog": ecog <= 1
cohort b "Cohort B":
  inclusion:
    - B1 "karnofsky": karnofsky >= 70
"""
    trial = eligimatch.compile_trial(text)
    p = eligimatch.load_patient({"facts": {"consent_signed": True, "ecog": 3, "karnofsky": 80}})
    r = eligimatch.match(p, trial, as_of=AS_OF)
    assert r.verdict == Verdict.MATCH and r.matched_cohorts == ("b",)
    assert {c.id: c.verdict for c in r.cohorts} == {"a": Verdict.NO_MATCH, "b": Verdict.MATCH}
    p2 = eligimatch.load_patient({"facts": {"consent_signed": True, "ecog": 3, "karnofsky": 50}})
    r2 = eligimatch.match(p2, trial, as_of=AS_OF)
    assert r2.verdict == Verdict.NO_MATCH
    p3 = eligimatch.load_patient({"facts": {"consent_signed": True, "ecog": 3}})
    r3 = eligimatch.match(p3, trial, as_of=AS_OF)
    assert r3.verdict == Verdict.UNKNOWN and "B1" in r3.deciding
    assert [m.fact for m in r3.missing] == ["karnofsky"]
    p4 = eligimatch.load_patient({"facts": {"consent_signed": False, "ecog": 0}})
    assert eligimatch.match(p4, trial, as_of=AS_OF).verdict == Verdict.NO_MATCH


def test_compiled_trial_is_frozen_and_pickles():
    trial = eligimatch.compile_trial(TRIAL)
    with pytest.raises(AttributeError):
        trial.id = "other"  # type: ignore[misc]
    again = pickle.loads(pickle.dumps(trial))
    p = _patient()
    assert eligimatch.match(p, again, as_of=AS_OF) == eligimatch.match(p, trial, as_of=AS_OF)


def test_json_round_trip():
    trial = eligimatch.compile_trial(TRIAL)
    r = eligimatch.match(_patient(), trial, as_of=AS_OF)
    back = eligimatch.MatchResult.model_validate_json(r.model_dump_json())
    assert back.verdict == r.verdict and back.criteria[0].id == "I1"


def test_bad_patient_names_the_field_path():
    with pytest.raises(eligimatch.PatientDataError) as info:
        eligimatch.load_patient({"observations": [{"analyte": "anc", "value": "lots"}], "nickname": "x"})
    msg = str(info.value)
    assert "observations.0.value" in msg and "nickname" in msg


def test_match_rejects_wrong_types_with_guidance():
    trial = eligimatch.compile_trial(TRIAL)
    with pytest.raises(TypeError, match="load_patient"):
        eligimatch.match({"facts": {}}, trial)  # type: ignore[arg-type]


def test_unknown_patient_fact_names_are_warned_about():
    trial = eligimatch.compile_trial(TRIAL)
    p = eligimatch.load_patient({"facts": {"pregant": True}})
    r = eligimatch.match(p, trial, as_of=AS_OF)
    assert any("pregant" in w and "pregnant" in w for w in r.warnings)
