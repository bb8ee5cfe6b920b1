"""Properties of eligimatch, tested with hypothesis: it never crashes, never over-matches, never loses a result.

Each test states its property in its docstring.  Inputs come from
``tests/fuzzing.py``.  The CI profile (tests/conftest.py) is derandomized and
small; the long run is ``HYPOTHESIS_PROFILE=long pytest tests/test_properties.py
--hypothesis-show-statistics`` (see docs/reliability.md for the last one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import pickle
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from hypothesis import event, given, note, settings

import eligimatch
from eligimatch import CriteriaError, MatchResult, Outcome, PatientDataError, Verdict, compile_trial, load_patient
from eligimatch import match as match_
from eligimatch.language import render_trial

import fuzzing as F

AS_OF = F.AS_OF
SRC = str(F.ROOT / "src")


def _compiled_seeds() -> list[tuple[str, eligimatch.CompiledTrial]]:
    out = []
    for name, text in F.seed_texts():
        try:
            out.append((name, compile_trial(text, filename=name)))
        except CriteriaError:  # an example being written right now; tests/test_examples.py reports it
            pass
    return out


SEED_TRIALS = _compiled_seeds()


def match(patient, trial, **kw) -> MatchResult:
    kw.setdefault("as_of", AS_OF)
    return match_(patient, trial, **kw)


# ---------------------------------------------------------------------------- helpers

def check_compile(text: str, *, seconds: float = 20.0):
    """Compile ``text``; the only error allowed is a CriteriaError located inside the text."""
    t0 = time.process_time()  # CPU time: wall time measures the other jobs of a shared machine
    try:
        trial = compile_trial(text)
    except CriteriaError as exc:
        lines = text.split("\n")
        assert exc.problems
        for p in exc.problems:
            assert 1 <= p.line <= len(lines), (p.line, len(lines), str(exc))
            assert 1 <= p.column <= len(lines[p.line - 1]) + 1, (p.line, p.column, lines[p.line - 1][:200], str(exc))
            if p.source_line:
                assert p.source_line.rstrip("\r") == lines[p.line - 1].rstrip("\r"), (p.source_line, p.line)
            assert p.message
        assert str(exc)
        event(f"compile: {type(exc).__name__}")
        trial = None
    else:
        event("compile: ok")
        # a trial (or a cohort) without criteria would match everyone: refused, never compiled (issue 18, D13)
        assert trial.all_criteria(), "a trial without criteria compiled"
        for cohort_id, _, crits in trial.cohorts:
            assert crits, f"cohort {cohort_id} without criteria compiled"
    assert time.process_time() - t0 < seconds, "compiling took too long"
    return trial


def check_result(result: MatchResult, trial: eligimatch.CompiledTrial) -> None:
    """What every MatchResult must satisfy, whatever the patient."""
    assert isinstance(result, MatchResult)
    crits = trial.all_criteria()
    assert [c.id for c in result.criteria] == [c.id for c in crits]
    for c in result.criteria:
        assert (c.outcome == Outcome.UNKNOWN) == (c.met is None), c
        if c.outcome == Outcome.UNKNOWN:
            assert c.causes, c
            assert c.missing or [x.value for x in c.causes] == ["review"], c
        else:
            assert not c.causes and not c.missing, c
            assert c.met == ((c.outcome == Outcome.TRUE) == (c.kind == "inclusion")), c
    general = [c for c in result.criteria if c.cohort is None]
    if result.verdict == Verdict.MATCH:
        # never a MATCH while a criterion that reads data lacks it
        for c in general:
            assert c.met is True or [x.value for x in c.causes] == ["review"], c
        assert not result.missing
        if trial.cohorts:
            assert result.matched_cohorts
    elif result.verdict == Verdict.NO_MATCH:
        assert result.deciding
    else:
        assert result.deciding and any(c.met is None for c in result.criteria)
    if any(c.met is False for c in general):
        assert result.verdict == Verdict.NO_MATCH
    result.model_dump_json()
    result.explain()


def outcomes(result: MatchResult) -> dict[str, str]:
    return {c.id: c.outcome.value for c in result.criteria}


def generated_trial(r, **kw):
    text = F.CriteriaGen(r, **kw).trial()
    note(text)
    try:
        return compile_trial(text)
    except CriteriaError:
        event("generated trial: does not compile")
        return None


def patient_of(doc):
    try:
        return load_patient(json.dumps(doc))
    except PatientDataError:
        event("patient: invalid")
        return None


# ---------------------------------------------------------------------------- criteria text

@settings(max_examples=F.examples(150))
@given(F.randoms())
def test_generated_criteria_compile_or_raise_located_error(r):
    """Any text built from the grammar's pieces compiles or raises a CriteriaError located inside it."""
    text = F.CriteriaGen(r, wild=0.15).trial()
    note(text)
    check_compile(text)


@settings(max_examples=F.examples(200))
@given(F.randoms())
def test_token_soup_compiles_or_raises_located_error(r):
    """Random sequences of keywords, names, numbers, units, operators and punctuation: same property."""
    text = F.token_soup(r)
    note(repr(text))
    check_compile(text)


@pytest.mark.skipif(not F.seed_texts(), reason="no seed trial files")
@settings(max_examples=F.examples(120))
@given(F.randoms())
def test_mutated_trial_files_compile_or_raise_located_error(r):
    """Seed trial files with deleted, duplicated, swapped, replaced tokens, truncation, random characters,
    deep nesting and huge numbers: same property."""
    name, seed = r.choice(F.seed_texts())
    text = F.mutate(seed, r)
    note(f"{name}: {text!r}")
    check_compile(text)


@settings(max_examples=F.examples(100))
@given(F.randoms())
def test_render_round_trip(r):
    """For generated trials that compile, render_trial(ast) compiles again to an equal AST (spans excluded),
    and rendering is idempotent."""
    text = F.CriteriaGen(r, wild=0.0).trial()
    note(text)
    trial = check_compile(text)
    if trial is None:
        return
    rendered = render_trial(trial.ast)
    note(rendered)
    again = compile_trial(rendered)
    assert again.ast == trial.ast
    assert render_trial(again.ast) == rendered
    assert [c.source for c in again.all_criteria()] == [c.source for c in trial.all_criteria()]


@settings(max_examples=F.examples(100))
@given(F.randoms())
def test_no_data_no_verdict(r):
    """A patient with no data at all: every criterion's outcome is what Kleene logic gives with every predicate
    UNKNOWN (only constants decide), so MATCH only when no criterion reads data."""
    trial = generated_trial(r, wild=0.0)
    if trial is None:
        return
    asts = list(trial.ast.criteria) + [c for co in trial.ast.cohorts for c in co.criteria]
    result = match(load_patient("{}"), trial)
    check_result(result, trial)
    expected = {0: "false", 1: "unknown", 2: "true"}
    for c, a in zip(result.criteria, asts):
        assert c.outcome.value == expected[F.unknown_everything(a.expr)], (c.id, c)


# ---------------------------------------------------------------------------- patient documents

@settings(max_examples=F.examples(120))
@given(F.randoms())
def test_patient_documents_validate_or_name_the_field(r):
    """Any patient document validates or raises PatientDataError naming the field path; a validated patient
    gets a well-formed MatchResult from every example trial and from a generated one, never an exception."""
    doc = F.PatientGen(r, extreme=0.05, bad_units=0.1).patient()
    path = None
    if r.random() < 0.4:
        doc, path = F.corrupt(doc, r)
    note(json.dumps(doc))
    try:
        text = json.dumps(doc)  # 1e400 becomes Infinity: not JSON, must still be refused cleanly
        p = load_patient(text)
    except PatientDataError as exc:
        event("patient: refused")
        assert exc.errors
        message = str(exc)
        locs = [e["path"] for e in exc.errors]
        for loc in locs:
            assert loc in message
        if path is not None and not any(e["type"] == "json_invalid" for e in exc.errors):
            dotted = ".".join(str(x) for x in path)
            assert any(loc.startswith(dotted) or dotted.startswith(loc) for loc in locs), (dotted, locs)
        with pytest.raises(PatientDataError):
            load_patient(doc) if "Infinity" not in text and "NaN" not in text else load_patient(text)
        return
    event("patient: valid")
    assert load_patient(doc) == p
    trials = [t for _, t in SEED_TRIALS]
    extra = generated_trial(r, wild=0.05)
    if extra is not None:
        trials.append(extra)
    for trial in trials:
        check_result(match(p, trial), trial)
    # the other policy, and anchors given by the caller (one of them far from the evaluation date)
    trial = trials[-1]
    # (an anchor the trial declares: an undeclared name is an error, see test_undeclared_anchor_is_an_error)
    anchors = {r.choice(list(trial.anchors) or F.ANCHORS): AS_OF + dt.timedelta(days=r.choice([-30, 0, 14, 4000]))}
    check_result(match(p, trial, assume_absent=True, anchors=anchors), trial)


@settings(max_examples=F.examples(120))
@given(F.randoms())
def test_removing_information_never_creates_a_match(r):
    """Soundness and monotonicity.  P' is P with information taken away (fuzzing.remove_facts: whole facts, all
    results of an analyte, records with their history's completeness unmarked, attributes, doses, reference
    ranges, birth date, sex).  For every criterion, a TRUE or FALSE outcome for P' is the outcome for P
    (filling in what is missing never changes a decided outcome), hence a MATCH for P' is a MATCH for P
    (removing a fact never turns NO_MATCH or UNKNOWN into MATCH)."""
    doc = F.PatientGen(r, extreme=0.02, bad_units=0.05).patient()
    full = patient_of(doc)
    if full is None:
        return
    less, removed = F.remove_facts(doc, r)
    note(f"removed: {removed}")
    part = load_patient(json.dumps(less))
    trials = [t for _, t in SEED_TRIALS]
    extra = generated_trial(r, wild=0.0)
    if extra is not None:
        trials.append(extra)
    for trial in trials:
        a, b = match(full, trial), match(part, trial)
        for ca, cb in zip(a.criteria, b.criteria):
            if cb.outcome != Outcome.UNKNOWN:
                assert ca.outcome == cb.outcome, (ca.id, removed, ca.model_dump(), cb.model_dump())
        if b.verdict == Verdict.MATCH:
            assert a.verdict == Verdict.MATCH, (removed, a.explain(), b.explain())
        event(f"verdicts {a.verdict.value} -> {b.verdict.value}")


def _in_other_units(doc: dict, r) -> dict:
    """Each observation (and duration fact) expressed in another unit of the same quantity."""
    from eligimatch.knowledge import conversion_factor

    doc = json.loads(json.dumps(doc))
    for o in doc.get("observations", []):
        a = F.CATS.analytes.resolve(o["analyte"])
        if a is None:
            continue
        old = o.get("unit")
        if old is None:  # a result without a unit is never given one (issue 18 D7): nothing to re-express
            continue
        new = r.choice(F.UNITS_OF[a.id])
        try:
            f = a.factor_from(old, new)
        except eligimatch.UnitError:
            continue
        value = o["value"] * f
        if not (abs(value) < 1e300) or (value == 0) != (o["value"] == 0):
            continue
        o["value"], o["unit"] = value, new
        rr = o.get("reference_range")
        if rr is not None and rr.get("unit") is None:
            if r.random() < 0.5:
                rr["unit"] = old
            else:
                for k in ("low", "high"):
                    if k in rr:
                        rr[k] = rr[k] * f
    for name, v in doc.get("facts", {}).items():
        fd = F.CATS.facts.resolve(name)
        if fd is None or fd.type != "duration":
            continue
        value, unit = (v["value"], v.get("unit")) if isinstance(v, dict) else (v, None)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if unit is None:  # no unit: invalid whatever it is re-expressed as (issue 18 D7)
            continue
        new = r.choice(["day", "week", "month", "year"])
        try:
            f = conversion_factor(unit, new)
        except eligimatch.UnitError:
            continue
        if abs(value * f) < 1e300:
            doc["facts"][name] = {"value": value * f, "unit": new}
    return doc


@settings(max_examples=F.examples(100))
@given(F.randoms())
def test_unit_invariance(r):
    """Expressing a patient's lab values (and durations) in any equivalent unit never changes an outcome."""
    doc = F.PatientGen(r, extreme=0.0, bad_units=0.0).patient()
    p = patient_of(doc)
    if p is None:
        return
    other = _in_other_units(doc, r)
    note(json.dumps(other))
    q = load_patient(json.dumps(other))
    trials = [t for _, t in SEED_TRIALS]
    extra = generated_trial(r, wild=0.0)
    if extra is not None:
        trials.append(extra)
    for trial in trials:
        a, b = match(p, trial), match(q, trial)
        assert outcomes(a) == outcomes(b), (a.explain(), b.explain())
        assert a.verdict == b.verdict


@settings(max_examples=F.examples(100))
@given(F.randoms())
def test_date_shift_invariance(r):
    """Moving every date of a patient, the anchors and the evaluation date by the same number of days never
    changes the outcome of a criterion whose windows are in days or weeks."""
    trial = generated_trial(r, day_week_only=True)
    if trial is None:
        return
    doc = F.PatientGen(r, exact_dates=True, extreme=0.0).patient()
    p = patient_of(doc)
    if p is None:
        return
    days = r.choice([1, -1, 7, 365, -366, 1461]) if r.random() < 0.5 else r.randint(-20000, 20000)
    moved = F.shift_patient(doc, days)
    q = load_patient(json.dumps(moved))
    note(f"shift {days} days")
    a = match(p, trial, as_of=AS_OF)
    b = match(q, trial, as_of=AS_OF + dt.timedelta(days=days))
    assert outcomes(a) == outcomes(b), (a.explain(), b.explain())


# ---------------------------------------------------------------------------- determinism

@settings(max_examples=F.examples(60))
@given(F.randoms())
def test_deterministic_in_process(r):
    """Same patient, trial and date give byte-identical model_dump_json(), with a fresh compile, a fresh
    patient and a shared patient index alike."""
    doc = F.PatientGen(r).patient()
    p = patient_of(doc)
    if p is None:
        return
    text = F.CriteriaGen(r, wild=0.0).trial()
    try:
        t1, t2 = compile_trial(text), compile_trial(text)
    except CriteriaError:
        return
    first = match(p, t1).model_dump_json()
    assert match(load_patient(json.dumps(doc)), t2).model_dump_json() == first
    index = eligimatch.engine.PatientIndex(p, t1.catalogs)
    assert match(p, t1, index=index).model_dump_json() == first
    assert match(p, t1, index=index).model_dump_json() == first


_DIGEST_SCRIPT = r"""
import datetime as dt, hashlib, json, sys
import eligimatch
texts, patients = json.load(sys.stdin)
h = hashlib.sha256()
for text in texts:
    trial = eligimatch.compile_trial(text)
    for doc in patients:
        p = eligimatch.load_patient(json.dumps(doc))
        h.update(eligimatch.match(p, trial, as_of=dt.date(2026, 3, 1)).model_dump_json().encode())
print(h.hexdigest())
"""


def _batch(seed: int, n: int) -> tuple[list[str], list[dict]]:
    r = random.Random(seed)
    texts = [t.text for _, t in SEED_TRIALS]
    while len(texts) < len(SEED_TRIALS) + 3:
        text = F.CriteriaGen(r, wild=0.0).trial()
        try:
            compile_trial(text)
            texts.append(text)
        except CriteriaError:
            pass
    patients = []
    while len(patients) < n:
        doc = F.PatientGen(r).patient()
        if patient_of(doc) is not None:
            patients.append(doc)
    return texts, patients


def test_deterministic_across_processes():
    """Byte-identical results in processes with different PYTHONHASHSEED (and in this one)."""
    # CI: 40 patients x 8 trials; long profile: enough patients for the profile's number of
    # (patient, trial) cases, each matched in 4 processes.
    n = 40 if F.examples(0) == 0 else -(-F.examples(0) // 8)
    texts, patients = _batch(7, n)
    payload = json.dumps([texts, patients])
    digests = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=SRC)
        out = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT], input=payload, capture_output=True,
                             text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    h = hashlib.sha256()
    for text in texts:
        trial = compile_trial(text)
        for doc in patients:
            h.update(match(load_patient(json.dumps(doc)), trial).model_dump_json().encode())
    digests.add(h.hexdigest())
    assert len(digests) == 1, digests


# ---------------------------------------------------------------------------- sharing a compiled trial

def _the_trial() -> eligimatch.CompiledTrial:
    if SEED_TRIALS:
        return max((t for _, t in SEED_TRIALS), key=lambda t: len(t.all_criteria()))
    return compile_trial((F.HERE / "sample.elig").read_text(encoding="utf-8"))


def test_compiled_trial_is_immutable_and_picklable():
    """A compiled trial is frozen all the way down, and a pickle round trip gives equal results."""
    trial = _the_trial()
    with pytest.raises(dataclasses.FrozenInstanceError):
        trial.id = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        trial.criteria[0].id = "x"  # type: ignore[misc]
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError)):
        trial.ast.criteria[0].expr.span = None  # type: ignore[misc]
    assert isinstance(trial.criteria, tuple) and isinstance(trial.ast.criteria, tuple)
    with pytest.raises(TypeError):  # the options are read-only too (regression: a dict inside a frozen trial)
        trial.options.reference_ranges["alt"] = (0.0, 1.0, "U/L")  # type: ignore[index]
    clone = pickle.loads(pickle.dumps(trial))
    assert clone.ast == trial.ast and clone.text == trial.text
    _, patients = _batch(11, 60)
    for doc in patients:
        p = load_patient(json.dumps(doc))
        assert match(p, clone).model_dump_json() == match(p, trial).model_dump_json()


def test_threads_share_a_trial():
    """8 threads matching the same patients (250 in the CI profile; in the long profile at least 1,000 and
    the profile's number of matches in all) against one compiled trial give exactly the sequential results."""
    trial = _the_trial()
    _, docs = _batch(3, 250 if F.examples(0) == 0 else max(1000, -(-F.examples(0) // 8)))
    patients = [load_patient(json.dumps(d)) for d in docs]
    sequential = [match(p, trial).model_dump_json() for p in patients]
    barrier = threading.Barrier(8)

    def work(k: int) -> list[str]:
        barrier.wait()
        order = list(range(len(patients)))
        random.Random(k).shuffle(order)  # threads visit patients in different orders
        out = [""] * len(patients)
        for i in order:
            out[i] = match(patients[i], trial).model_dump_json()
        return out

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    for res in results:
        assert res == sequential


def test_processes_share_a_trial():
    """A compiled trial sent to worker processes (pickled, spawn) gives exactly the results of this process."""
    trial = _the_trial()
    _, docs = _batch(5, 100 if F.examples(0) == 0 else max(100, F.examples(0) // 10))
    texts = [json.dumps(d) for d in docs]
    here = [match(load_patient(t), trial).model_dump_json() for t in texts]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:  # spawn: the trial really is pickled
        there = list(pool.map(F.match_json, [trial] * len(texts), texts, chunksize=10))
    assert there == here

