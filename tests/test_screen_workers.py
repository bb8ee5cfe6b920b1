"""``eligimatch screen`` chooses its workers by the size of the batch (docs/performance.md); blocks of patients;
the collector in a worker process."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import json
import weakref
from pathlib import Path
from typing import Any

import pytest

import eligimatch
from eligimatch.cli import main
from eligimatch.screening import SMALL_BATCH_PAIRS, default_workers, workers_for

# the module (``eligimatch.screen`` as an attribute is the function of that name)
screen_mod = importlib.import_module("eligimatch.screening._screen")

ROOT = Path(__file__).resolve().parent.parent
PATIENTS = ROOT / "examples" / "patients"
TRIALS = ROOT / "examples" / "trials"
AS_OF = dt.date(2026, 3, 1)


@pytest.fixture
def chosen(monkeypatch):
    """The worker counts ``_stream`` was called with."""
    seen: list[int] = []
    real = screen_mod._stream

    def spy(items, job, workers, *rest):
        seen.append(workers)
        return real(items, job, workers, *rest)

    monkeypatch.setattr(screen_mod, "_stream", spy)
    return seen


def test_the_example_patients_are_screened_in_one_worker_by_default(chosen, tmp_path, monkeypatch):
    monkeypatch.setattr(screen_mod, "default_workers", lambda: 8)  # as on a machine with many cores
    assert len(list(PATIENTS.glob("*.json"))) >= 22
    assert main(["screen", str(PATIENTS), str(TRIALS), "--as-of", "2026-03-01", "-o", str(tmp_path / "o.csv")]) == 0
    assert chosen == [1]
    # the same batch as JSON lines (a stream without a length) is read ahead and found small too
    jsonl = tmp_path / "batch.jsonl"
    jsonl.write_text("".join(p.read_text().replace("\n", " ") + "\n" for p in sorted(PATIENTS.glob("*.json"))))
    assert main(["screen", str(jsonl), str(TRIALS), "--as-of", "2026-03-01", "-o", str(tmp_path / "o2.csv")]) == 0
    assert chosen == [1, 1]


def test_an_explicit_worker_count_is_kept(chosen, tmp_path):
    assert main(["screen", str(PATIENTS), str(TRIALS), "--as-of", "2026-03-01", "--workers", "2",
                 "-o", str(tmp_path / "o.csv")]) == 0
    assert chosen == [2]


def test_a_large_or_endless_batch_uses_every_cpu(monkeypatch):
    monkeypatch.setattr(screen_mod, "default_workers", lambda: 8)
    assert workers_for(22, 5) == 1
    assert workers_for(SMALL_BATCH_PAIRS // 5 - 1, 5) == 1
    assert workers_for(SMALL_BATCH_PAIRS // 5, 5) == 8
    assert workers_for(None, 1) == 8
    assert default_workers.__module__ == "eligimatch.screening._screen"


def test_a_long_stream_is_read_ahead_and_not_lost(chosen, monkeypatch):
    # a generator longer than the threshold: the items read ahead are screened, in order, with the rest
    monkeypatch.setattr(screen_mod, "SMALL_BATCH_PAIRS", 6)
    monkeypatch.setattr(screen_mod, "default_workers", lambda: 1)  # in this process: fast and simple
    trial = eligimatch.compile_trial('trial "W"\ninclusion:\n  - I1 "Age >= 18": age >= 18 years\n')
    patients = ({"id": f"p{i}", "birth_date": "1980-01-01"} for i in range(10))
    records = list(eligimatch.screen_many(patients, trial, as_of=dt.date(2026, 3, 1)))
    assert [r.patient_id for r in records] == [f"p{i}" for i in range(10)]
    assert chosen == [1]


# ---- blocks: with many trials, a few patients are screened together, trial by trial ----------------------

def _many_trials(copies: int = 4) -> list[eligimatch.CompiledTrial]:
    """The example trials, each ``copies`` times under its own id (as a site's list of a few dozen)."""
    out = []
    for path in sorted(TRIALS.glob("*.elig")):
        text = path.read_text(encoding="utf-8")
        for c in range(copies):
            out.append(eligimatch.compile_trial(text.replace('trial "', f'trial "copy{c}-', 1), filename=path.name))
    return out


def _example_patients(bad_at: int) -> list[Any]:
    docs: list[Any] = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(PATIENTS.glob("*.json"))]
    docs.insert(bad_at, {"id": "BAD", "birth_date": "1961-13-01"})  # fails validation, inside a block
    return docs


@pytest.fixture(scope="module")
def many_trials():
    ts = _many_trials()
    assert screen_mod.block_size(len(ts)) > 1, "this many trials are screened in blocks"
    assert screen_mod.block_size(5) == 1, "the five example trials, one patient at a time"
    return ts


@pytest.fixture
def blocks(monkeypatch):
    """The patient ids of each block ``screen_many`` screened in this process."""
    seen: list[list[str | None]] = []
    real = screen_mod.screen_plain

    def spy(patients, *rest, **kw):
        seen.append([p.id for _, _, p in patients])
        return real(patients, *rest, **kw)

    monkeypatch.setattr(screen_mod, "screen_plain", spy)
    return seen


def _same_as_alone(records: list[Any], docs: list[Any], trials: list[Any]) -> None:
    """Each record is the one ``screen`` makes of its patient alone (with its index in the batch)."""
    assert len(records) == len(docs)
    for r, doc in zip(records, docs):
        if doc["id"] == "BAD":
            assert not r.ok and "birth_date" in r.message
            continue
        alone = eligimatch.screen(doc, trials, as_of=AS_OF)
        assert r == alone.model_copy(update={"index": r.index, "source": r.source}), doc["id"]
        assert r.results == alone.results  # field for field, down to the evidence


def test_many_trials_are_screened_a_block_of_patients_at_a_time_with_the_same_records(many_trials, blocks):
    docs = _example_patients(bad_at=5)
    records = list(eligimatch.screen_many(docs, many_trials, as_of=AS_OF, workers=1))
    assert [r.index for r in records] == list(range(len(docs)))
    size = screen_mod.block_size(len(many_trials))
    # in this process, blocks of items as they are read: the invalid one is left out of its block
    assert [len(b) for b in blocks][:2] == [size, size - 1]
    assert "BAD" not in {i for b in blocks for i in b}
    assert [i for b in blocks for i in b] == [d["id"] for d in docs if d["id"] != "BAD"]
    _same_as_alone(records, docs, many_trials)
    # verdicts vary across patients and trials, so a result given to the wrong patient would show
    assert len({tuple(x.verdict for x in r.results) for r in records if r.ok}) > 3


def test_blocks_in_workers_and_in_the_caller_give_the_same_records(many_trials):
    # chunks of 9: the caller makes the records of a worker's chunk 4 at a time (and the invalid patient alone)
    docs = _example_patients(bad_at=2)
    records = list(eligimatch.screen_many(docs, many_trials, as_of=AS_OF, workers=2, chunksize=9))
    assert [r.index for r in records] == list(range(len(docs)))
    _same_as_alone(records, docs, many_trials)


def test_a_block_that_fails_is_screened_again_one_patient_at_a_time(many_trials, blocks, monkeypatch):
    # should screening raise for one patient (an error of its data), its record is the error, and the other
    # patients of its block are screened alone, with their own records
    spy = screen_mod.screen_plain
    docs = _example_patients(bad_at=0)
    victim = docs[3]["id"]

    def failing(patients, *rest, **kw):
        if any(p.id == victim for _, _, p in patients):
            raise eligimatch.PatientDataError(f"{victim}: cannot be screened")
        return spy(patients, *rest, **kw)

    monkeypatch.setattr(screen_mod, "screen_plain", failing)
    named = [(f"batch.jsonl:{i + 1}", d) for i, d in enumerate(docs)]  # each item with its source
    records = list(eligimatch.screen_many(named, many_trials, as_of=AS_OF, workers=1))
    assert [r.source for r in records] == [s for s, _ in named]  # the ones screened again alone too
    failed = [r for r in records if not r.ok]
    assert [(r.index, r.patient_id) for r in failed] == [(0, "BAD"), (3, victim)]
    assert "cannot be screened" in failed[1].message
    size = screen_mod.block_size(len(many_trials))
    # the first block (items 0-3: BAD left out) failed; its two other patients were screened one at a time,
    # then the next block was a whole block again
    assert [len(b) for b in blocks[:3]] == [1, 1, size]
    assert [i for b in blocks for i in b] == [d["id"] for d in docs if d["id"] not in ("BAD", victim)]
    _same_as_alone([r for r in records if r.patient_id != victim],
                   [d for d in docs if d["id"] != victim], many_trials)


class _Node:
    """An object in a reference cycle of its own (reference counting never frees it)."""

    def __init__(self) -> None:
        self.me = self


def test_a_worker_runs_without_the_collector_and_collects_between_chunks():
    """In a worker process (ours), the collector is off once the trials are loaded and frozen, and a
    collection before each chunk frees what the last chunk left in reference cycles: memory stays bounded
    by one chunk (docs/performance.md, "The collector and the pool")."""
    before = gc.get_threshold(), gc.isenabled()
    try:
        screen_mod.tune_worker()
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        ref = weakref.ref(_Node())
        [_Node() for _ in range(5000)]  # allocations that would have set off a young collection
        assert ref() is not None, "the collector is off: the cycle is still there"
        screen_mod.between_chunks()
        assert ref() is None, "collected before the next chunk"
    finally:
        gc.unfreeze()
        gc.set_threshold(*before[0])
        if before[1]:
            gc.enable()


def test_a_worker_collects_before_each_chunk(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(screen_mod, "between_chunks", lambda: calls.append("collect"))
    real = screen_mod._screen_items
    monkeypatch.setattr(screen_mod, "_screen_items", lambda *a, **k: calls.append("screen") or real(*a, **k))
    trials = tuple(eligimatch.load_trial(p) for p in sorted(TRIALS.glob("*.elig"))[:2])
    monkeypatch.setattr(screen_mod, "_WORKER_JOB", screen_mod._Job(trials, AS_OF, (), None))
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(PATIENTS.glob("*.json"))[:2]]
    for _ in range(2):
        sent = screen_mod._work(list(enumerate(docs)))
        assert len(sent) == 2 and all(isinstance(w, tuple) for w in sent)
    assert calls == ["collect", "screen", "collect", "screen"]
