"""screen() ranks one patient's trials and orders the next questions; screen_many() streams, in order, lazily."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import eligimatch
from eligimatch import Verdict, screen_many, screen
from eligimatch.screening import ScreenError, ScreenResult

AS_OF = dt.date(2026, 3, 1)


def trial(tid: str, *criteria: str):
    lines = [f'trial "{tid}"', "inclusion:"]
    lines += [f'  - I{i} "criterion {i}": {c}' for i, c in enumerate(criteria, 1)]
    return eligimatch.compile_trial("\n".join(lines) + "\n", filename=f"{tid}.elig")


@pytest.fixture(scope="module")
def trials():
    return [
        trial("A_match", "age >= 18 years"),
        trial("B_nomatch", "age <= 30 years", "ecog <= 1"),
        trial("C_unknown2", "platelets >= 100 x10^9/L", "hemoglobin >= 90 g/L"),
        trial("D_unknown1", "platelets >= 100 x10^9/L"),
        trial("E_match", "ecog <= 1"),
    ]


PATIENT = {"id": "P", "birth_date": "1961-06-30", "sex": "female", "facts": {"ecog": 1}}


def test_ranking_matches_then_unknowns_by_fewest_missing_then_no_matches(trials):
    r = screen(PATIENT, trials, as_of=AS_OF)
    assert isinstance(r, ScreenResult)
    assert [x.trial_id for x in r.results] == ["A_match", "E_match", "D_unknown1", "C_unknown2", "B_nomatch"]
    assert [x.verdict for x in r.results] == [Verdict.MATCH, Verdict.MATCH, Verdict.UNKNOWN, Verdict.UNKNOWN,
                                              Verdict.NO_MATCH]
    assert r.no_matches[0].deciding == ("I1",)  # the no-match carries its deciding criteria
    assert [x.trial_id for x in r.matches] == ["A_match", "E_match"]


def test_ranking_does_not_depend_on_input_order(trials):
    forward = screen(PATIENT, trials, as_of=AS_OF)
    backward = screen(PATIENT, list(reversed(trials)), as_of=AS_OF)
    # groups and missing counts decide; input order only breaks ties (the two matches)
    assert [x.trial_id for x in backward.results] == ["E_match", "A_match", "D_unknown1", "C_unknown2",
                                                      "B_nomatch"]
    assert [x.trial_id for x in forward.results][2:] == [x.trial_id for x in backward.results][2:]


def test_missing_facts_ordered_by_unknown_verdicts_they_settle():
    ts = [
        trial("U1", "platelets >= 100 x10^9/L", "hemoglobin >= 90 g/L"),
        trial("U2", "platelets >= 100 x10^9/L"),
        trial("U3", "hemoglobin >= 90 g/L", "total_bilirubin <= 1.5 x ULN"),
        trial("U4", "total_bilirubin <= 1.5 x ULN", "alt <= 3 x ULN", "ast <= 3 x ULN"),
        trial("M", "ecog <= 1"),
    ]
    r = screen(PATIENT, ts, as_of=AS_OF)
    facts = [q.fact for q in r.questions]
    # platelets: 2 trials, alone in U2; hemoglobin: 2 trials, alone in none; total_bilirubin: 2, none;
    # hemoglobin before total_bilirubin: as many criteria each -> first seen in rank order (U1 before U3)
    assert facts[:3] == ["platelets", "hemoglobin", "total_bilirubin"]
    assert set(facts[3:]) == {"alt", "ast"}
    q = r.questions[0]
    assert q.settles == 2 and q.sole == 1
    assert q.trials == ("U2", "U1") and q.criteria == ("U2:I1", "U1:I1")  # in the results' rank order
    assert all(a.settles >= b.settles for a, b in zip(r.questions, r.questions[1:]))
    assert "next questions" in r.explain()


def test_screen_result_is_json_and_explains(trials):
    r = screen(json.dumps(PATIENT), trials, as_of=AS_OF)
    data = json.loads(r.model_dump_json())
    assert data["kind"] == "result" and data["patient_id"] == "P"
    assert [x["trial_id"] for x in data["results"]][:2] == ["A_match", "E_match"]
    text = r.explain()
    assert "2 match, 2 unknown, 1 no match" in text
    assert "decided by I1" in text


def test_screen_rejects_an_invalid_patient_with_field_paths(trials):
    with pytest.raises(eligimatch.PatientDataError, match="birth_date"):
        screen({"birth_date": "1961-13-01"}, trials, as_of=AS_OF)


def _patients(n: int, bad: frozenset[int] = frozenset()):
    for i in range(n):
        if i in bad:
            yield {"id": f"P{i}", "birth_date": "1961-06-30", "observations": [{"analyte": "anc", "value": "lots"}]}
        else:
            yield {"id": f"P{i}", "birth_date": f"{1950 + i * 4}-06-30", "sex": "female",
                   "facts": {"ecog": i % 3}}


def test_screen_many_with_two_workers_equals_one_worker_in_order(trials):
    serial = list(screen_many(_patients(11, frozenset({4})), trials, as_of=AS_OF, workers=1))
    parallel = list(screen_many(_patients(11, frozenset({4})), trials, as_of=AS_OF, workers=2, chunksize=2))
    assert [r.model_dump_json() for r in parallel] == [r.model_dump_json() for r in serial]
    assert parallel == serial
    assert [r.index for r in parallel] == list(range(11))
    assert isinstance(parallel[4], ScreenError)
    # the verdicts vary across patients, so order mistakes would show
    assert len({tuple(x.verdict for x in r.results) for r in serial if r.ok}) > 1


def test_screen_many_reads_its_input_lazily():
    consumed = []

    def gen():
        for i, p in enumerate(_patients(10_000)):
            consumed.append(i)
            yield p

    ts = [trial("A", "age >= 18 years")]
    it = screen_many(gen(), ts, as_of=AS_OF, workers=1)
    first = next(it)
    assert first.index == 0 and len(consumed) == 1
    next(it)
    assert len(consumed) == 2
    it.close()


def test_screen_many_in_a_pool_reads_a_bounded_distance_ahead():
    consumed = []

    def gen():
        for i, p in enumerate(_patients(10_000)):
            consumed.append(i)
            yield p

    ts = [trial("A", "age >= 18 years")]
    workers, chunksize = 2, 3
    it = screen_many(gen(), ts, as_of=AS_OF, workers=workers, chunksize=chunksize)
    got = [next(it) for _ in range(5)]
    assert [r.index for r in got] == [0, 1, 2, 3, 4]
    bound = (2 * workers + 2) * chunksize + 1
    assert 5 <= len(consumed) <= bound
    it.close()  # stops the workers; must not hang or consume the rest
    assert len(consumed) <= bound


def test_an_invalid_patient_yields_an_error_record_and_the_batch_goes_on(trials):
    items = [PATIENT, ("batch.jsonl:2", '{"id": "X", "birth_date": "1961-13-01"}'), ("batch.jsonl:3", "{not json"),
             42, PATIENT]
    out = list(screen_many(items, trials, as_of=AS_OF, workers=1))
    assert [r.ok for r in out] == [True, False, False, False, True]
    err = out[1]
    assert err.kind == "error" and err.source == "batch.jsonl:2" and err.patient_id == "X"
    assert [e.path for e in err.errors] == ["birth_date"]
    assert err.message.startswith("batch.jsonl:2: ")
    assert out[2].errors[0].path == "(document)"
    assert "expected a patient document" in out[3].message
    json.loads(err.model_dump_json())


def test_an_error_record_names_a_nested_field_path(trials):
    out = list(screen_many(_patients(1, frozenset({0})), trials, as_of=AS_OF, workers=1))
    assert [e.path for e in out[0].errors] == ["observations.0.value"]


def test_screen_many_reads_patient_files(tmp_path, trials):
    good = tmp_path / "a.json"
    good.write_text(json.dumps(PATIENT))
    missing = tmp_path / "gone.json"
    out = list(screen_many([good, missing], trials, as_of=AS_OF, workers=1))
    assert out[0].ok and out[0].source == str(good)
    assert not out[1].ok and "cannot read" in out[1].message


def test_screen_many_progress_callback(trials):
    calls = []
    list(screen_many([PATIENT] * 3, trials, as_of=AS_OF, workers=1, progress=lambda done, total: calls.append(
        (done, total))))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_screen_many_rejects_bad_arguments(trials):
    with pytest.raises(ValueError):
        screen_many([PATIENT], trials, workers=0)
    with pytest.raises(TypeError):
        screen_many(PATIENT, trials)
    with pytest.raises(TypeError):
        screen_many([PATIENT], ["not a trial"])


def test_screen_many_without_criteria_keeps_the_verdicts(trials):
    full = list(screen_many([PATIENT], trials, as_of=AS_OF, workers=1))[0]
    lean = list(screen_many([PATIENT], trials, as_of=AS_OF, workers=1, with_criteria=False))[0]
    assert all(r.criteria == () for r in lean.results) and any(r.criteria for r in full.results)
    strip = [(r.trial_id, r.verdict, r.deciding, r.missing, r.matched_cohorts) for r in full.results]
    assert [(r.trial_id, r.verdict, r.deciding, r.missing, r.matched_cohorts) for r in lean.results] == strip
    assert lean.questions == full.questions


def _seed_batch():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "examples"
    ts = [eligimatch.load_trial(f) for f in sorted((root / "trials").glob("*.elig"))]
    docs = [("example:" + f.name, f.read_text(encoding="utf-8")) for f in sorted((root / "patients").glob("*.json"))]
    docs.insert(3, ("bad", '{"id": "X", "birth_date": "1961-13-01"}'))
    return ts, docs


def _fields_set_tree(m):
    """Every nested model's class, fields and model_fields_set: what a rebuilt record must reproduce."""
    from pydantic import BaseModel

    if isinstance(m, BaseModel):
        return (type(m).__name__, tuple(sorted(m.model_fields_set)),
                tuple((k, _fields_set_tree(v)) for k, v in m.__dict__.items()))
    if isinstance(m, (tuple, list)):
        return tuple(_fields_set_tree(v) for v in m)
    return (type(m).__name__, m)


def test_records_rebuilt_from_the_workers_equal_the_originals():
    """Workers send each record as JSON; the caller's rebuilt models are equal to the ones a single process
    makes, down to every nested model's type, field values (float stays float, int stays int) and fields_set."""
    ts, docs = _seed_batch()
    serial = list(screen_many(docs, ts, as_of=AS_OF, workers=1))
    parallel = list(screen_many(docs, ts, as_of=AS_OF, workers=2, chunksize=3))
    assert [r.ok for r in parallel] == [r.ok for r in serial] and not serial[3].ok
    assert sum(len(r.results) for r in serial if r.ok) == len(ts) * (len(docs) - 1)
    assert parallel == serial
    assert [_fields_set_tree(r) for r in parallel] == [_fields_set_tree(r) for r in serial]
    assert [r.model_dump_json() for r in parallel] == [r.model_dump_json() for r in serial]


@pytest.mark.parametrize("with_criteria, evidence", [(True, "deciding"), (True, "none"), ("deciding", "all"),
                                                     (False, "all")])
def test_records_from_the_workers_equal_the_originals_in_every_mode(with_criteria, evidence):
    """The workers send plain tuples, from which this process makes the records: in every mode the records
    are those one process makes (chunks of one patient: most of them come from the worker)."""
    ts, docs = _seed_batch()
    kw = {"as_of": AS_OF, "with_criteria": with_criteria, "evidence": evidence}
    serial = list(screen_many(docs, ts, workers=1, **kw))
    parallel = list(screen_many(docs, ts, workers=2, chunksize=1, **kw))
    assert parallel == serial
    assert [_fields_set_tree(r) for r in parallel] == [_fields_set_tree(r) for r in serial]


@pytest.mark.parametrize("workers", [1, 2])
def test_screen_many_as_json_yields_each_record_as_its_json_text(workers):
    ts, docs = _seed_batch()
    objects = list(screen_many(docs, ts, as_of=AS_OF, workers=1))
    texts = list(screen_many(docs, ts, as_of=AS_OF, workers=workers, chunksize=3, as_json=True))
    assert all(isinstance(t, str) and "\n" not in t for t in texts)
    assert texts == [r.model_dump_json() for r in objects]
    assert [json.loads(t)["kind"] for t in texts] == [r.kind for r in objects]
    assert ScreenResult.model_validate_json(texts[0]) == objects[0]


def test_screen_many_with_deciding_criteria_keeps_the_reasons_of_each_verdict():
    """with_criteria='deciding': a NO_MATCH or UNKNOWN keeps exactly the criteria named in deciding (and a
    named cohort's own deciding criteria), each with its evidence; a MATCH keeps every criterion; verdicts,
    deciding, missing facts, cohorts and questions are those of the full results."""
    ts, docs = _seed_batch()
    full = list(screen_many(docs, ts, as_of=AS_OF, workers=1))
    lean = list(screen_many(docs, ts, as_of=AS_OF, workers=2, chunksize=3, with_criteria="deciding"))
    seen = set()
    for f, d in zip(full, lean):
        assert f.ok == d.ok
        if not f.ok:
            continue
        assert d.questions == f.questions
        for rf, rd in zip(f.results, d.results):
            assert rd.model_copy(update={"criteria": rf.criteria}) == rf
            if rf.verdict == Verdict.MATCH:
                assert rd.criteria == rf.criteria
                seen.add("match")
                continue
            wanted = set(rf.deciding)
            for c in rf.cohorts:
                if f"cohort {c.id}" in wanted:
                    wanted |= set(c.deciding)
                    seen.add("cohorts")
            assert rd.criteria == tuple(c for c in rf.criteria if c.id in wanted)
            assert {c.id for c in rd.criteria} == wanted - {f"cohort {c.id}" for c in rf.cohorts}
            assert all(c.evidence or c.missing for c in rd.criteria)
            seen.add(rf.verdict.value)
    assert seen == {"match", "no_match", "unknown", "cohorts"}
    with pytest.raises(ValueError):
        screen_many(docs, ts, with_criteria="some")


@pytest.mark.parametrize("evidence", ["all", "deciding", "none"])
def test_screen_makes_the_results_match_makes(evidence):
    """screen() makes each trial's result as soon as the trial is evaluated (not after the last): each is the
    result match() gives for that trial, field for field and down to model_fields_set, in every evidence
    mode, whatever the order the ranking gives them."""
    ts, docs = _seed_batch()
    seen = set()
    for source, text in docs:
        if source == "bad":
            continue
        patient = eligimatch.load_patient(text)
        screened = screen(patient, ts, as_of=AS_OF, evidence=evidence)
        by_trial = {r.trial_id: r for r in screened.results}
        assert len(by_trial) == len(ts)
        for t in ts:
            alone = eligimatch.match(patient, t, as_of=AS_OF, evidence=evidence)
            assert by_trial[alone.trial_id] == alone
            assert _fields_set_tree(by_trial[alone.trial_id]) == _fields_set_tree(alone)
            seen.add(alone.verdict)
    assert seen == set(Verdict)


def test_results_share_one_model_per_missing_fact():
    """Equal missing facts are one frozen model, shared by the results that report them (a record of many
    trials is that much smaller)."""
    ts, _ = _seed_batch()
    a = screen({"id": "a", "birth_date": "1960-01-01", "sex": "female"}, ts, as_of=AS_OF)
    b = screen({"id": "b", "birth_date": "1970-01-01", "sex": "female"}, ts, as_of=AS_OF)
    shared = {id(m) for r in a.results for c in r.criteria for m in c.missing}
    again = [m for r in b.results for c in r.criteria for m in c.missing]
    assert again and all(id(m) in shared for m in again)
    with pytest.raises(ValueError):
        again[0].fact = "changed"  # frozen: sharing cannot leak a change from one result into another
    assert again[0].fact != "changed"


def test_result_models_are_plain_models_whatever_dict_they_use():
    """The evaluator's results keep their fields in a key-sharing dict where that is smaller: never larger
    than a plain dict, and the models behave as any (equality, copy, JSON, validation round trip)."""
    import sys

    from eligimatch import CriterionResult, Evidence, MatchResult

    ts, docs = _seed_batch()
    r = eligimatch.match(eligimatch.load_patient(docs[0][1]), ts[0], as_of=AS_OF)
    crit = next(c for c in r.criteria if c.evidence)
    ev = crit.evidence[0]
    for m in (crit, ev, r):
        plain = dict(m.__dict__)
        assert sys.getsizeof(m.__dict__) <= sys.getsizeof(plain)
        assert list(m.__dict__) == list(type(m).model_fields)
    assert CriterionResult.model_validate_json(crit.model_dump_json()) == crit
    assert Evidence.model_validate(ev.model_dump()) == ev
    assert MatchResult.model_validate_json(r.model_dump_json()) == r
    changed = crit.model_copy(update={"text": "other"})
    assert changed.text == "other" and crit.text != "other" and changed.id == crit.id
