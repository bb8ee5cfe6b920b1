"""The benchmark at a tiny size: the generator, the hand-written baseline, and their agreement with eligimatch.

No timing is asserted here (``python bench/run.py`` measures); what is checked is that
the baseline the benchmark compares against decides every criterion as eligimatch does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402
import generate  # noqa: E402
import run  # noqa: E402

import eligimatch  # noqa: E402


@pytest.fixture(scope="module")
def trial():
    return eligimatch.load_trial(BENCH / "nct05621486.elig")


def test_generator_is_deterministic_and_valid():
    a = [generate.patient_dict(i, seed=3) for i in range(20)]
    b = [generate.patient_dict(i, seed=3) for i in range(20)]
    assert a == b
    assert a != [generate.patient_dict(i, seed=4) for i in range(20)]
    for d in a:
        eligimatch.load_patient(d)


def test_baseline_and_eligimatch_agree_on_every_patient(trial):
    disagreements = []
    for p in generate.patients(40, seed=1):
        diffs = run.compare(eligimatch.match(p, trial, as_of=generate.AS_OF), baseline.evaluate(p, generate.AS_OF))
        if diffs:
            disagreements.append((p.id, diffs))
    assert disagreements == []


def test_the_comparison_sees_a_difference(trial):
    p = next(p for p in generate.patients(20, seed=1)
             if next(c for c in baseline.evaluate(p, generate.AS_OF).criteria if c.id == "I3").outcome != baseline.UNKNOWN)
    r = baseline.evaluate(p, generate.AS_OF)
    flipped = r._replace(criteria=tuple(c._replace(outcome=2 - c.outcome) if c.id == "I3" else c for c in r.criteria))
    diffs = run.compare(eligimatch.match(p, trial, as_of=generate.AS_OF), flipped)
    assert ("I3", "outcome") in [d[:2] for d in diffs]


def test_baseline_tables_agree_with_the_catalogs(trial):
    """The baseline's hand-made name tables say what eligimatch's catalogs say, for every spelling the feed uses."""
    cats = trial.catalogs
    for name, aid in baseline.ANALYTES.items():
        assert cats.analytes.resolve(name).id == aid, name
    for name, (cid, _) in baseline.CONDITIONS.items():
        assert cats.conditions.resolve(name).id == cid, name
    for name, (cid, flags) in baseline.CONDITIONS.items():
        assert bool(flags & baseline.LIVER_METS) == cats.conditions.is_a(cid, "liver_metastases")
        assert bool(flags & baseline.AUTOIMMUNE) == cats.conditions.is_a(cid, "autoimmune_disease")
        assert bool(flags & baseline.CARDIO) == any(cats.conditions.is_a(cid, x) for x in (
            "acute_myocardial_infarction", "unstable_angina", "stroke", "transient_ischemic_attack"))
    for name, (did, classes, half_life, pred) in baseline.DRUGS.items():
        d = cats.drugs.resolve(name)
        assert d.id == did, name
        assert d.half_life_days == half_life, name
        assert d.prednisone_equivalent_mg == pred, name
        for flag, cls in ((baseline.CHEMO, "cytotoxic_chemotherapy"), (baseline.TARGETED, "small_molecule_targeted_therapy"),
                          (baseline.MAB, "monoclonal_antibody"), (baseline.STEROID, "corticosteroid")):
            assert bool(classes & flag) == cats.drugs.is_a(did, cls), (name, cls)
    for analyte, table in baseline.TO_THRESHOLD_UNIT.items():
        a = cats.analytes.resolve(analyte)
        for unit, factor in table.items():
            assert a.factor_from(unit if unit is not None else a.unit) == pytest.approx(factor, rel=1e-9), (analyte, unit)


# ---- the 13-criterion workload (bench/simple13.elig, bench/simple13.py, bench/run_simple13.py) ----------

import run_simple13  # noqa: E402
import simple13  # noqa: E402


@pytest.fixture(scope="module")
def trial13():
    return eligimatch.load_trial(BENCH / "simple13.elig")


def test_simple13_hand_written_and_eligimatch_agree(trial13):
    pats = run_simple13.patients(60, seed=13)
    assert run_simple13.disagreements(pats, trial13) == []


def test_simple13_boundary_at_exactly_the_limit_is_met_by_the_tolerance(trial13):
    """1.8 mg/dL against 1.5 x ULN 1.2 (1.7999999999999998 in binary) meets <=, in both."""
    d = run_simple13.patient_dict(0, seed=13)
    d["observations"] = [o for o in d["observations"]
                         if simple13.ANALYTES.get(o["analyte"].lower()) != "total_bilirubin"]
    d["observations"].append({"analyte": "total_bilirubin", "value": 1.8, "unit": "mg/dL",
                              "date": d["anchors"]["screening"], "reference_range": {"low": 0.2, "high": 1.2}})
    assert not 1.8 <= 1.5 * 1.2  # the binary comparison alone would say no
    p = eligimatch.load_patient(d)
    r = eligimatch.match(p, trial13, as_of=generate.AS_OF)
    assert next(c for c in r.criteria if c.id == "I5").met is True
    assert "I5" not in simple13.evaluate(p, generate.AS_OF)[1]
    assert run_simple13.disagreements([p], trial13) == []
    d["observations"][-1]["value"] = 1.81
    p = eligimatch.load_patient(d)
    assert next(c for c in eligimatch.match(p, trial13, as_of=generate.AS_OF).criteria if c.id == "I5").met is False
    verdict, deciding = simple13.evaluate(p, generate.AS_OF)
    assert verdict == "no_match" and "I5" in deciding


def test_simple13_the_comparison_sees_a_difference(trial13, monkeypatch):
    pats = run_simple13.patients(20, seed=13)
    odd = next(p for p in pats if eligimatch.match(p, trial13, as_of=generate.AS_OF).verdict.value != "match")
    real = simple13.evaluate
    monkeypatch.setattr(simple13, "evaluate", lambda p, as_of: ("match", ()) if p is odd else real(p, as_of))
    assert [d[0] for d in run_simple13.disagreements(pats, trial13)] == [odd.id]
