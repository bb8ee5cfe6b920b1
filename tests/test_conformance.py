"""The conformance suite: criteria, patients and expected outcomes as data files.

Each ``tests/conformance/*.toml`` file holds ``[[case]]`` tables:

    name     = "a unique, readable name"
    criterion = "age between 18 and 70 years"     # one expression
    kind     = "inclusion"                         # optional, default inclusion
    header   = "anchors screening"                 # optional trial header lines
    patient  = '''{ "birth_date": "1956-05-01" }'''  # a patient document (JSON)
    as_of    = "2026-03-01"
    anchors  = { screening = "2026-03-01" }        # optional
    assume_absent = false                          # optional policy
    outcome  = "true" | "false" | "unknown"
    causes   = ["missing"]                         # optional: exact set of causes
    reasons  = ["threshold_met"]                   # optional: codes that must appear
    absent_reasons = ["review"]                    # optional: codes that must not appear
    missing  = ["anc"]                             # optional: facts that must be named as missing
    passes_on = "2026-04-30"                       # optional: the date the criterion would pass
    error    = "unknown fact"                      # instead of an outcome: compile error containing this
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

import eligimatch

HERE = Path(__file__).parent / "conformance"


def _cases():
    for path in sorted(HERE.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for case in data.get("case", []):
            yield pytest.param(case, id=f"{path.stem}:{case['name']}")


def _trial_text(case: dict) -> str:
    header = case.get("header", "")
    kind = case.get("kind", "inclusion")
    return f"{header}\n{kind}:\n  - C1 \"{case['name']}\":\n      {case['criterion']}\n"


@pytest.mark.parametrize("case", list(_cases()))
def test_conformance(case):
    text = _trial_text(case)
    if "error" in case:
        with pytest.raises(eligimatch.CriteriaError) as info:
            eligimatch.compile_trial(text)
        assert case["error"] in str(info.value), str(info.value)
        return
    trial = eligimatch.compile_trial(text)
    patient = eligimatch.load_patient(case.get("patient", "{}"))
    anchors = {k: dt.date.fromisoformat(v) for k, v in case.get("anchors", {}).items()}
    result = eligimatch.match(patient, trial, as_of=dt.date.fromisoformat(case["as_of"]), anchors=anchors,
                              assume_absent=case.get("assume_absent", False))
    crit = result.criteria[0]
    detail = result.explain()
    assert crit.outcome.value == case["outcome"], detail
    if "causes" in case:
        assert sorted(c.value for c in crit.causes) == sorted(case["causes"]), detail
    for code in case.get("reasons", []):
        assert code in crit.reasons, (code, crit.reasons, detail)
    for code in case.get("absent_reasons", []):
        assert code not in crit.reasons, (code, crit.reasons, detail)
    for fact in case.get("missing", []):
        assert any(fact == m.fact or fact in m.detail for m in crit.missing), (fact, crit.missing, detail)
    if "passes_on" in case:
        dates = [e.passes_on for e in crit.evidence if e.passes_on]
        assert dt.date.fromisoformat(case["passes_on"]) in dates, detail
    # every outcome explains itself
    if crit.outcome.value != "unknown":
        assert crit.evidence, detail
    else:
        assert crit.missing or "review" in [c.value for c in crit.causes], detail


def test_suite_is_not_empty():
    assert len(list(_cases())) >= 40
