"""Anchors: a name the trial does not declare is an error; an anchor that is not a visit date has no default;
and the report says "excluded by" / "not excluded" for exclusions (issue 13, boundary and presentation)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import eligimatch
from eligimatch.cli import main
from eligimatch.errors import AnchorError

AS_OF = dt.date(2026, 3, 2)

TRIAL = """
trial "T-ANCHOR"
anchors screening, diagnosis
inclusion:
  - I1 "Age >= 18": age >= 18 years
exclusion:
  - E1 "Any other malignancy within 5 years before the diagnosis": history of breast_cancer within 5 years before diagnosis
  - E2 "Major surgery within 2 weeks before screening": procedure major_surgery within 2 weeks before screening
"""

PATIENT = {"id": "P", "birth_date": "1970-01-01",
           "conditions": [{"name": "breast cancer", "onset": "2016-05-01", "end": "2017-01-01"}],
           "complete": {"conditions": True, "therapies": True, "procedures": True}}


def _match(anchors=None, patient=PATIENT):
    return eligimatch.match(eligimatch.load_patient(patient), eligimatch.compile_trial(TRIAL), as_of=AS_OF,
                            anchors=anchors)


def test_an_undeclared_anchor_is_an_error_with_a_did_you_mean():
    with pytest.raises(AnchorError) as info:
        _match({"diagnosys": dt.date(2020, 1, 1)})
    assert "'diagnosys'" in str(info.value) and "did you mean 'diagnosis'" in str(info.value)
    with pytest.raises(AnchorError) as info:
        _match({"randomisation": dt.date(2020, 1, 1)})
    assert "screening, diagnosis" in str(info.value)


def test_an_anchor_of_the_patient_history_has_no_default():
    r = _match()
    e1 = r.criterion("E1")
    assert e1.outcome.value == "unknown"
    assert any(m.fact == "anchor diagnosis" for m in e1.missing), r.explain()
    assert "diagnosis" not in r.anchors and r.anchors_defaulted == ("screening",)
    assert r.verdict.value == "unknown"
    # given, it decides: the breast cancer ended 2017, diagnosis 2020: inside the 5 years before
    assert _match({"diagnosis": dt.date(2020, 6, 1)}).criterion("E1").outcome.value == "true"
    assert _match({"diagnosis": dt.date(2024, 6, 1)}).criterion("E1").outcome.value == "false"
    # or from the patient's own anchors; the patient's anchors for other trials are ignored
    p = dict(PATIENT, anchors={"diagnosis": "2024-06-01", "randomisation": "2026-01-01"})
    assert _match(patient=p).criterion("E1").outcome.value == "false"


def test_an_anchor_is_unknown_only_where_it_is_used():
    text = TRIAL.replace("history of breast_cancer within 5 years before diagnosis",
                         "history of breast_cancer within 5 years before diagnosis or age >= 18 years")
    r = eligimatch.match(eligimatch.load_patient(PATIENT), eligimatch.compile_trial(text), as_of=AS_OF)
    assert r.criterion("E1").outcome.value == "true"  # Kleene: the other operand decides


def test_several_trials_take_the_anchors_each_declares():
    other = eligimatch.compile_trial('trial "T-2"\nanchors screening\ninclusion:\n  - I1 "Age": age >= 18 years\n')
    trial = eligimatch.compile_trial(TRIAL)
    from eligimatch.screening import match_each
    results, _ = match_each(eligimatch.load_patient(PATIENT), [trial, other], as_of=AS_OF,
                            anchors={"diagnosis": dt.date(2024, 6, 1)})
    assert [r.verdict.value for r in results] == ["match", "match"]
    with pytest.raises(AnchorError):
        match_each(eligimatch.load_patient(PATIENT), [trial, other], as_of=AS_OF,
                   anchors={"randomisation": dt.date(2024, 6, 1)})


def test_cli_rejects_an_undeclared_anchor(tmp_path, capsys):
    (tmp_path / "t.elig").write_text(TRIAL, encoding="utf-8")
    (tmp_path / "p.json").write_text(json.dumps(PATIENT), encoding="utf-8")
    code = main(["match", str(tmp_path / "p.json"), str(tmp_path / "t.elig"), "--as-of", "2026-03-02",
                 "--anchor", "randomisation=2026-02-01"])
    out, err = capsys.readouterr()
    assert code != 0 and "randomisation" in err and "Traceback" not in out + err
    code = main(["match", str(tmp_path / "p.json"), str(tmp_path / "t.elig"), "--as-of", "2026-03-02",
                 "--anchor", "diagnosis=2024-06-01"])
    out, err = capsys.readouterr()
    assert code == 0 and "MATCH" in out


def test_report_says_excluded_by_and_not_excluded():
    r = _match({"diagnosis": dt.date(2020, 6, 1)})
    report = r.explain()
    e1 = next(line for line in report.splitlines() if " E1 " in line)
    e2 = next(line for line in report.splitlines() if " E2 " in line)
    i1 = next(line for line in report.splitlines() if " I1 " in line)
    assert "EXCLUDED BY] exc E1" in e1 and "NOT MET" not in report
    assert "not excluded] exc E2" in e2
    assert "[met]" in i1.replace(" ", "")
