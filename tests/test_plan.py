"""The resolved plan (issue 12): bound from every trial we ship and every conformance case, printable, and
serialisable to JSON and back, equal to the original."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

import eligimatch
from eligimatch import plan as P
from eligimatch.errors import PlanError

ROOT = Path(__file__).resolve().parent.parent
ELIG_FILES = sorted(p for p in ROOT.glob("**/*.elig") if ".git" not in p.parts and "catalogs" not in p.parts)


def _conformance_texts() -> list[str]:
    out = []
    for path in sorted((ROOT / "tests" / "conformance").glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8")).get("case", []):
            if "error" in case:
                continue
            kind = case.get("kind", "inclusion")
            out.append(f"{case.get('header', '')}\n{kind}:\n  - C1 \"{case['name']}\":\n      {case['criterion']}\n")
    return out


def _plans() -> list[P.Plan]:
    plans = [eligimatch.load_trial(p).plan for p in ELIG_FILES]
    plans += [eligimatch.compile_trial(t).plan for t in _conformance_texts()]
    return plans


PLANS = _plans()


def _walk(node):
    """Every plan node reachable from ``node``."""
    stack = [node]
    while stack:
        n = stack.pop()
        if dataclasses.is_dataclass(n):
            yield n
            stack.extend(getattr(n, f.name) for f in dataclasses.fields(n) if not f.metadata.get("entry"))
        elif isinstance(n, tuple):
            stack.extend(n)


def test_plans_cover_every_kind_of_criterion():
    kinds = {type(n) for p in PLANS for n in _walk(p)}
    leaves = {P.BoolFact, P.Threshold, P.Between, P.InSet, P.RefMultiple, P.EachResult, P.Condition, P.Procedure,
              P.Therapy, P.Dose, P.StableDose, P.Participation, P.Judgment, P.Const}
    timings = {P.Present, P.Ever, P.Within, P.DiagnosedWithin, P.TherapyEver, P.TherapyWithin, P.TherapyOngoing,
               P.TherapyStarted, P.WashoutComplete}
    measures = {P.AgeMeasure, P.SexMeasure, P.FactMeasure, P.AnalyteMeasure, P.FormulaMeasure, P.RatioMeasure}
    assert leaves | timings | measures <= kinds, (leaves | timings | measures) - kinds


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.trial_id or p.criteria[0].text or "?")
def test_round_trip_through_json(plan):
    data = json.loads(json.dumps(P.to_dict(plan)))
    again = P.from_dict(data)
    assert again == plan
    assert P.to_dict(again) == data
    # the catalog entries the row engine uses come back too
    for a, b in zip(_walk(plan), _walk(again)):
        if isinstance(a, (P.AnalyteRef, P.FactRef, P.ConceptRef, P.DrugRef)):
            assert b.entry is not None and b.entry.id == a.entry.id
    assert P.format_plan(again) == P.format_plan(plan)


def test_nodes_are_frozen_and_slotted():
    for name, cls in P.NODE_TYPES.items():
        assert dataclasses.is_dataclass(cls), name
        assert cls.__dataclass_params__.frozen, name
        assert hasattr(cls, "__slots__"), name


def test_everything_is_resolved():
    plan = eligimatch.compile_trial('''
trial "R"
anchors screening
inclusion:
  - I1: creatinine <= 150 umol/L
  - I2: therapy corticosteroid within max(14 days, 5 half-lives) before screening
  - I3: history of systemic_lupus_erythematosus where stage in ("Stage IIB", IIIa)
  - I4: washout from rituximab of at least 6 months before screening
''').plan
    c = plan.criteria
    t = c[0].expr
    assert isinstance(t, P.Threshold) and isinstance(t.measure, P.AnalyteMeasure)
    assert t.measure.analyte.id == "creatinine" and "2160-0" in t.measure.analyte.loinc
    assert (t.value, t.unit) == (150.0, "umol/L")
    assert t.canonical_unit == t.measure.analyte.unit == "mg/dL"
    assert t.canonical_value == pytest.approx(150 / 88.42, rel=1e-3)
    th = c[1].expr
    assert isinstance(th.timing, P.TherapyWithin)
    assert th.timing.window.durations == (P.Duration(14, "day"), P.Duration(5.0, "half-life"))
    assert th.selectors[0].kind == "class" and "prednisone" in th.selectors[0].drugs
    cond = c[2].expr
    assert isinstance(cond.timing, P.Ever)
    assert cond.where == (P.CodedTest("stage", ("IIB", "IIIA")),)
    sle = cond.concepts[0]
    assert {"ICD10CM:M32", "ICD10CM:M32.14"} <= set(sle.codes) and "lupus_nephritis" in sle.covers
    assert "autoimmune_disease" in sle.may_be and sle.entry.id == sle.id
    assert isinstance(c[3].expr.timing, P.WashoutComplete)


def test_text_form_is_readable():
    plan = eligimatch.compile_trial('''
trial "T"
anchors screening
inclusion:
  - I1 "ANC": anc >= 1.5 x10^9/L or (age >= 18 years and not condition b_all)
''').plan
    text = P.format_plan(plan)
    assert "inclusion I1 'ANC'" in text
    assert "any of" in text and "Threshold latest analyte anc [10^9/L] >= 1.5 x10^9/L" in text
    assert "Condition (b_cell_acute_lymphoblastic_leukemia) present now" in text


def test_unknown_nodes_and_entries_are_refused():
    with pytest.raises(PlanError):
        P.from_dict({"node": "Nonsense"})
    data = P.to_dict(P.AnalyteRef("not_an_analyte", "x", "1"))
    with pytest.raises(PlanError):
        P.from_dict(data)
    with pytest.raises(PlanError):
        P.from_dict({"node": "Const", "value": True, "extra": 1})


def test_bind_trial_reads_text_and_files():
    path = ELIG_FILES[0]
    assert P.bind_trial(path) == eligimatch.load_trial(path).plan
    with pytest.raises(eligimatch.CriteriaError):
        P.bind_trial('trial "X"\ninclusion:\n  - I1: anc >= 1.5 mg\n')


def test_a_plan_over_site_catalogs_round_trips_with_them():
    """A site's own entries (examples/catalogs/breast-cancer.toml) bind, and read back only with those catalogs."""
    cats = eligimatch.Catalogs.load([ROOT / "examples" / "catalogs" / "breast-cancer.toml"])
    trial = eligimatch.load_trial(ROOT / "examples" / "catalogs" / "breast-cancer-trial.elig", catalogs=cats)
    data = json.loads(json.dumps(P.to_dict(trial.plan)))
    again = P.from_dict(data, cats)
    assert again == trial.plan
    site_facts = {n.id for n in _walk(again) if isinstance(n, P.FactRef)} - {f.id for f in eligimatch.Catalogs.default().facts}
    assert site_facts, "the example trial reads a fact only the site catalog declares"
    with pytest.raises(PlanError):
        P.from_dict(data)  # the bundled catalogs do not know the site's entries
