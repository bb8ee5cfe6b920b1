"""Verdict-only evaluation (issue 12 step 4): with ``Context(short_circuit=True)`` an ``and`` stops at a FALSE
operand, an ``or`` at a TRUE one, ``at least N of`` once decided; the truth, causes and missing facts of every
criterion are those of the full evaluation."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eligimatch
from eligimatch.engine import PatientIndex, Policy
from eligimatch.engine._evaluate import Context

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 3, 1)


def _answers(trial, patient, as_of, anchors, short_circuit, assume_absent=False):
    index = PatientIndex(patient, trial.catalogs)
    defaults = {a: as_of for a in (trial.anchors or eligimatch.engine.STANDARD_ANCHORS)}
    defaults.update(anchors)
    ctx = Context(index, as_of, defaults, Policy(assume_absent=assume_absent), trial.lab_recency,
                  trial.fact_recency, short_circuit=short_circuit)
    out = []
    for c in trial.all_criteria():
        t, flag, miss, _evidence = c.fn(ctx)
        out.append((c.id, t, flag, tuple(miss)))
    return out


def _example_pairs():
    trials = [eligimatch.load_trial(p) for p in sorted((ROOT / "examples" / "trials").glob("*.elig"))]
    patients = [eligimatch.load_patient(p.read_text(encoding="utf-8"))
                for p in sorted((ROOT / "examples" / "patients").glob("*.json"))]
    return [(t, p) for t in trials for p in patients]


def test_examples_give_the_same_answers_verdict_only():
    pairs = _example_pairs()
    assert len(pairs) > 50
    for trial, patient in pairs:
        assert _answers(trial, patient, AS_OF, {}, True) == _answers(trial, patient, AS_OF, {}, False), (
            trial.id, patient.id)


def _conformance():
    for path in sorted((ROOT / "tests" / "conformance").glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8")).get("case", []):
            if "error" not in case:
                yield pytest.param(case, id=f"{path.stem}:{case['name']}")


@pytest.mark.parametrize("case", list(_conformance()))
def test_conformance_cases_give_the_same_answers_verdict_only(case):
    text = f"{case.get('header', '')}\n{case.get('kind', 'inclusion')}:\n  - C1: {case['criterion']}\n"
    trial = eligimatch.compile_trial(text)
    patient = eligimatch.load_patient(case.get("patient", "{}"))
    anchors = {k: dt.date.fromisoformat(v) for k, v in case.get("anchors", {}).items()}
    as_of = dt.date.fromisoformat(case["as_of"])
    absent = case.get("assume_absent", False)
    assert (_answers(trial, patient, as_of, anchors, True, absent)
            == _answers(trial, patient, as_of, anchors, False, absent))


LEAVES = ["pregnant", "not pregnant", "age >= 18 years", "anc >= 1.5 x10^9/L", "ecog <= 1", "judgment", "true",
          "false", "breastfeeding"]


@st.composite
def _exprs(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return draw(st.sampled_from(LEAVES))
    items = draw(st.lists(_exprs(depth=depth + 1), min_size=2, max_size=4))
    form = draw(st.sampled_from(["and", "or", "atleast", "if"]))
    if form == "and":
        return "(" + " and ".join(items) + ")"
    if form == "or":
        return "(" + " or ".join(items) + ")"
    if form == "if":
        a, b = items[0], items[1]
        return f"(if {a} then {b} else {items[-1]})"
    n = draw(st.integers(1, len(items)))
    return f"at least {n} of (" + ", ".join(items) + ")"


PATIENT_FACTS = st.fixed_dictionaries({}, optional={
    "pregnant": st.booleans(), "breastfeeding": st.booleans(), "ecog": st.integers(0, 4)})


@settings(max_examples=150, deadline=None)
@given(expr=_exprs(), facts=PATIENT_FACTS, born=st.sampled_from([None, "1950-01-01", "2015-06-01"]),
       anc=st.sampled_from([None, 0.9, 1.5, 3.0]))
def test_random_logic_gives_the_same_answers_verdict_only(expr, facts, born, anc):
    trial = eligimatch.compile_trial(f"inclusion:\n  - C1: {expr}\n")
    doc = {"facts": facts}
    if born:
        doc["birth_date"] = born
    if anc is not None:
        doc["observations"] = [{"analyte": "anc", "value": anc, "unit": "10^9/L", "date": "2026-02-20"}]
    patient = eligimatch.load_patient(doc)
    assert _answers(trial, patient, AS_OF, {}, True) == _answers(trial, patient, AS_OF, {}, False)


def test_a_deciding_operand_stops_the_evaluation():
    """Not only the same answers: the operands after a deciding one are not evaluated (their evidence is absent)."""
    patient = eligimatch.load_patient({"facts": {"pregnant": False, "ecog": 1}})
    for expr, decided in (("pregnant and ecog <= 1", "and"), ("not pregnant or ecog <= 1", "or"),
                          ("at least 1 of (not pregnant, ecog <= 1)", "at least")):
        trial = eligimatch.compile_trial(f"inclusion:\n  - C1: {expr}\n")
        fn = trial.criteria[0].fn
        index = PatientIndex(patient, trial.catalogs)
        full = fn(Context(index, AS_OF, {}, Policy()))
        fast = fn(Context(index, AS_OF, {}, Policy(), short_circuit=True))
        assert full[0] == fast[0], decided
        facts = {e.fact for e in full[3]}
        assert "ecog" in facts, decided
        assert "ecog" not in {e.fact for e in fast[3]}, decided
