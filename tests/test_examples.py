"""The bundled examples: every trial compiles, every patient validates, every expected verdict holds.

Expectations live in ``examples/expected/<TRIAL>.toml``:

    trial = "NCT05621486"              # examples/trials/<trial>.elig
    [[case]]
    patient = "nct05621486-match-si.json" # examples/patients/<patient>
    as_of = "2026-03-01"
    anchors = { apheresis = "2026-03-10" }
    verdict = "match" | "no_match" | "unknown"
    deciding = ["E1a"]                 # ids that must be among result.deciding (exactly, if exact_deciding = true)
    exact_deciding = false
    outcomes = { I2 = "true", E1a = "true" }   # optional: criterion outcomes
    matched_cohorts = ["sle"]          # optional, exact
    missing = ["anc"]                  # optional: facts that must be among result.missing
    passes_on = "2026-04-30"           # optional: a date some evidence says the patient would pass
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

import eligimatch

ROOT = Path(__file__).resolve().parent.parent / "examples"
TRIALS = sorted((ROOT / "trials").glob("*.elig"))
PATIENTS = sorted((ROOT / "patients").glob("*.json"))


def _cases():
    for path in sorted((ROOT / "expected").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for i, case in enumerate(data.get("case", [])):
            yield pytest.param(data["trial"], case, id=f"{data['trial']}:{case['patient']}:{i}")


@pytest.mark.parametrize("path", TRIALS, ids=[p.stem for p in TRIALS])
def test_trial_compiles(path):
    trial = eligimatch.load_trial(path)
    assert trial.id == path.stem
    assert trial.criteria, "a trial with no criteria"
    for c in trial.all_criteria():
        assert c.text, f"{path.name}: criterion {c.id} lacks the protocol's sentence"


@pytest.mark.parametrize("path", PATIENTS, ids=[p.stem for p in PATIENTS])
def test_patient_validates(path):
    eligimatch.load_patient(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("trial_id,case", list(_cases()))
def test_expected_verdict(trial_id, case):
    trial = eligimatch.load_trial(ROOT / "trials" / f"{trial_id}.elig")
    patient = eligimatch.load_patient((ROOT / "patients" / case["patient"]).read_text(encoding="utf-8"))
    anchors = {k: dt.date.fromisoformat(v) for k, v in case.get("anchors", {}).items()}
    result = eligimatch.match(patient, trial, as_of=dt.date.fromisoformat(case["as_of"]), anchors=anchors)
    report = result.explain()
    assert result.verdict.value == case["verdict"], report
    if case.get("exact_deciding"):
        assert sorted(result.deciding) == sorted(case.get("deciding", [])), report
    for cid in case.get("deciding", []):
        assert cid in result.deciding, (cid, result.deciding, report)
    for cid, outcome in case.get("outcomes", {}).items():
        assert result.criterion(cid).outcome.value == outcome, (cid, report)
    if "matched_cohorts" in case:
        assert sorted(result.matched_cohorts) == sorted(case["matched_cohorts"]), report
    for fact in case.get("missing", []):
        assert any(m.fact == fact for m in result.missing), (fact, [m.fact for m in result.missing], report)
    if "passes_on" in case:
        dates = {e.passes_on for c in result.criteria for e in c.evidence if e.passes_on}
        assert dt.date.fromisoformat(case["passes_on"]) in dates, report
    # every line of the report points to a criterion and a fact
    for c in result.criteria:
        assert c.evidence or c.missing, (c.id, report)


def test_every_trial_has_the_three_verdicts():
    seen: dict[str, set[str]] = {}
    for trial_id, case in (p.values for p in _cases()):
        seen.setdefault(trial_id, set()).add(case["verdict"])
    assert {p.stem for p in TRIALS} <= set(seen), "a trial without expected cases"
    for trial_id, verdicts in seen.items():
        assert verdicts == {"match", "no_match", "unknown"}, (trial_id, verdicts)
