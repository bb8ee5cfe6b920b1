"""``eligimatch screen`` chooses its workers by the size of the batch (docs/performance.md)."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import pytest

import eligimatch
from eligimatch.cli import main
from eligimatch.screening import SMALL_BATCH_PAIRS, default_workers, workers_for

# the module (``eligimatch.screen`` as an attribute is the function of that name)
screen_mod = importlib.import_module("eligimatch.screening._screen")

ROOT = Path(__file__).resolve().parent.parent
PATIENTS = ROOT / "examples" / "patients"
TRIALS = ROOT / "examples" / "trials"


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
