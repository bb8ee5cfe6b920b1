"""Evidence on demand (issue 12, step 4): ``match(..., evidence="all" | "deciding" | "none")``.

The mode decides which criteria carry their evidence, never the answer: over generated
patients (``bench/generate.py``) and every example trial, the verdict, the deciding
criteria, the missing facts, the cohorts and each criterion's outcome are the same in
the three modes; "all" is today's result; "deciding" carries, for the criteria behind the
verdict, exactly what "all" carries; "none" carries no evidence.
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eligimatch
from eligimatch import Verdict
from eligimatch.engine import evaluate
from eligimatch.engine import _result  # white-box: counts the evidence objects built
from eligimatch.screening import BATCH_THRESHOLDS, batch_gc
from eligimatch.screening import screen, screen_many

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402

TRIALS = [eligimatch.load_trial(p) for p in sorted((ROOT / "examples" / "trials").glob("*.elig"))]
TRIALS += [eligimatch.load_trial(ROOT / "bench" / name) for name in ("simple13.elig", "nct05621486.elig")]
AS_OF = generate.AS_OF

_SAME = ("verdict", "deciding", "missing", "review", "excluded_unless", "cohorts", "matched_cohorts", "warnings",
         "anchors", "anchors_defaulted", "policy", "trial_id", "patient_id")


def _behind_verdict(r: eligimatch.MatchResult) -> set[str]:
    if r.verdict == Verdict.MATCH:
        return {c.id for c in r.criteria}
    keep = set(r.deciding)
    for co in r.cohorts:
        if f"cohort {co.id}" in keep:
            keep.update(co.deciding)
    return keep | {c.id for c in r.criteria if c.met is None}


def check_modes(patient: eligimatch.Patient, trial: eligimatch.CompiledTrial) -> None:
    full = eligimatch.match(patient, trial, as_of=AS_OF)
    assert eligimatch.match(patient, trial, as_of=AS_OF, evidence="all") == full
    deciding = eligimatch.match(patient, trial, as_of=AS_OF, evidence="deciding")
    none = eligimatch.match(patient, trial, as_of=AS_OF, evidence="none")
    explained = _behind_verdict(full)
    for other in (deciding, none):
        for name in _SAME:
            assert getattr(other, name) == getattr(full, name), name
        assert [c.id for c in other.criteria] == [c.id for c in full.criteria]
        for a, b in zip(full.criteria, other.criteria):
            assert (a.outcome, a.met, a.causes, a.missing, a.kind, a.text, a.cohort, a.line) == \
                   (b.outcome, b.met, b.causes, b.missing, b.kind, b.text, b.cohort, b.line), a.id
    for a, b in zip(full.criteria, none.criteria):
        assert b.evidence == () and b.reasons == tuple(c.value for c in b.causes), a.id
    for a, b in zip(full.criteria, deciding.criteria):
        if a.id in explained:
            assert a == b, a.id
        else:
            assert b.evidence == () and b.reasons == tuple(c.value for c in b.causes), a.id
    # with evidence for only some criteria, the evaluators write plain records: no Evidence is made
    # (what they share, worded once by an earlier evaluation, may already be one)
    made = []
    real = _result._new_evidence
    with mock.patch.object(_result, "_new_evidence", lambda cls: made.append(1) or real(cls)):
        e = evaluate(patient, trial, as_of=AS_OF, evidence="none")
        assert made == []
        assert e.result() == none and made == []
        e = evaluate(patient, trial, as_of=AS_OF, evidence="deciding")
        assert made == []
    assert e.result() == deciding
    # the explanation of what the mode keeps reads the same
    assert none.explain().splitlines()[:2] == full.explain().splitlines()[:2]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(i=st.integers(0, 10_000), seed=st.integers(0, 50), t=st.integers(0, len(TRIALS) - 1))
def test_the_evidence_mode_never_changes_the_answer(i, seed, t):
    check_modes(eligimatch.Patient.model_validate(generate.patient_dict(i, seed=seed)), TRIALS[t])


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "patients").glob("*.json")), ids=lambda p: p.stem)
def test_example_patients_in_every_mode(path):
    patient = eligimatch.load_patient(path.read_text(encoding="utf-8"))
    for trial in TRIALS:
        check_modes(patient, trial)


def test_screen_takes_the_mode_and_ranks_the_same():
    docs = [generate.patient_dict(i, seed=7) for i in range(6)]
    for d in docs:
        full = screen(d, TRIALS, as_of=AS_OF)
        for mode in ("deciding", "none"):
            other = screen(d, TRIALS, as_of=AS_OF, evidence=mode)
            assert [r.verdict for r in other.results] == [r.verdict for r in full.results]
            assert other.ranking == full.ranking and other.questions == full.questions and other.plan == full.plan
    many = list(screen_many(docs, TRIALS, as_of=AS_OF, workers=1, evidence="none"))
    assert all(c.evidence == () for rec in many for r in rec.results for c in r.criteria)
    assert [[r.verdict for r in rec.results] for rec in many] == \
           [[r.verdict for r in screen(d, TRIALS, as_of=AS_OF).results] for d in docs]


def test_with_criteria_results_are_unchanged_by_building_less():
    """``with_criteria="deciding"``/``False`` now build less evidence; what they return is what they returned."""
    d = generate.patient_dict(3, seed=2)
    full = screen(d, TRIALS, as_of=AS_OF)
    (dec,) = screen_many([d], TRIALS, as_of=AS_OF, workers=1, with_criteria="deciding")
    (bare,) = screen_many([d], TRIALS, as_of=AS_OF, workers=1, with_criteria=False)
    for r, rd, rb in zip(full.results, dec.results, bare.results):
        keep = set(r.deciding) if r.verdict != Verdict.MATCH else {c.id for c in r.criteria}
        for co in r.cohorts:
            if f"cohort {co.id}" in keep:
                keep.update(co.deciding)
        assert rd.criteria == tuple(c for c in r.criteria if c.id in keep)
        assert rb.criteria == () and rb.missing == r.missing and rb.verdict == r.verdict


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="evidence must be one of"):
        eligimatch.match(eligimatch.Patient.model_validate(generate.patient_dict(0)), TRIALS[0], as_of=AS_OF,
                         evidence="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="evidence must be one of"):
        screen_many([], TRIALS, evidence=True)  # type: ignore[call-overload]


def _frozen(obj: object) -> bool:
    """Whether ``obj`` (a tracked container) is in the permanent generation: tracked, in no generation."""
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


def test_batch_gc_puts_the_collector_back():
    before = gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()
    with batch_gc():
        assert gc.get_threshold() == tuple(max(a, b) for a, b in zip(before[0], BATCH_THRESHOLDS))
        with batch_gc():  # nested: one setting
            pass
        assert gc.get_threshold() != before[0] or before[0] == BATCH_THRESHOLDS
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before
    # the caller's own frozen objects stay frozen, and the batch freezes nothing for good.  Checked on objects,
    # not with gc.get_freeze_count(): an object of another thread (a server's, a JVM bridge's) frozen here may
    # die before the count is read again, and the count drops with it
    probe = [None]
    gc.freeze()
    try:
        later = [None]  # made after the caller's freeze: not frozen
        with batch_gc():
            pass
        assert _frozen(probe) and not _frozen(later)
    finally:
        gc.unfreeze()
    gc.disable()  # a disabled collector is left alone
    try:
        with batch_gc():
            assert gc.get_threshold() == before[0]
    finally:
        gc.enable()


def test_a_batch_in_this_process_leaves_the_collector_as_it_was():
    before = gc.get_threshold(), gc.get_freeze_count()
    it = screen_many([generate.patient_dict(i, seed=1) for i in range(3)], TRIALS[:2], as_of=dt.date(2026, 3, 1),
                     workers=1)
    next(it)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before  # between records: the caller's settings
    list(it)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_a_batch_counts_the_frozen_objects_once(monkeypatch):
    """Counting the frozen objects walks them: a batch asks once, not once per record (in a process that
    had frozen what it loaded, asking per record made screening three times slower)."""
    calls = []
    real = gc.get_freeze_count
    monkeypatch.setattr(gc, "get_freeze_count", lambda: calls.append(1) or real())
    records = list(screen_many([generate.patient_dict(i, seed=1) for i in range(4)], TRIALS[:2],
                               as_of=dt.date(2026, 3, 1), workers=1))
    assert len(records) == 4 and len(calls) == 1


def test_the_evidence_counter_sees_what_all_makes():
    """The counter of ``check_modes`` does see the Evidence an explained evaluation makes."""
    made = []
    real = _result._new_evidence
    patient = eligimatch.Patient.model_validate(generate.patient_dict(1, seed=9))
    trial = eligimatch.load_trial(ROOT / "bench" / "simple13.elig")
    with mock.patch.object(_result, "_new_evidence", lambda cls: made.append(1) or real(cls)):
        evaluate(patient, trial, as_of=AS_OF, evidence="none")
        assert made == []
        evaluate(patient, trial, as_of=AS_OF, evidence="all")
    assert made


def test_results_share_one_read_only_fields_set_and_copies_are_their_own():
    """Every criterion, evidence and missing fact the evaluator makes counts all its fields as set, in one
    set per model class shared by the instances (a copy each was most of a result's memory: a set of a
    dozen names takes 728 bytes).  Changing it in place raises; model_copy, copy and pickle make a plain set
    of their own; dumps that skip unset fields are unchanged."""
    import copy
    import pickle

    patient = eligimatch.Patient.model_validate(generate.patient_dict(3, seed=9))
    res = eligimatch.match(patient, TRIALS[0], as_of=AS_OF)
    crit = [c for c in res.criteria if c.evidence and c.missing] or [c for c in res.criteria if c.evidence]
    c = crit[0]
    ev = c.evidence[0]
    assert c.model_fields_set == set(type(c).model_fields) and ev.model_fields_set == set(type(ev).model_fields)
    assert res.criteria[0].model_fields_set is res.criteria[-1].model_fields_set
    with pytest.raises(TypeError, match="shared and read-only"):
        c.model_fields_set.add("x")
    with pytest.raises(TypeError, match="shared and read-only"):
        ev.model_fields_set |= {"x"}
    for other in (c.model_copy(update={"text": "changed"}), copy.copy(c), copy.deepcopy(c),
                  pickle.loads(pickle.dumps(c))):
        assert type(other.model_fields_set) is set and other.model_fields_set == c.model_fields_set
        other.model_fields_set.add("mine")  # its own: the shared one is untouched
    assert "mine" not in c.model_fields_set
    assert c.model_dump(exclude_unset=True) == c.model_dump()
    assert type(res).model_validate_json(res.model_dump_json()) == res
