"""The engine's overhead on 13 simple criteria (issue 12): eligimatch against the hand-written function.

    python bench/run_simple13.py              # 10,000 patients, 7 rounds
    python bench/run_simple13.py --quick      # 1,000 patients, 5 rounds
    python bench/run_simple13.py --patients 200 --rounds 1 --no-timing   # agreement only

The workload: ``bench/simple13.elig`` (age, ECOG, ANC, platelets, bilirubin,
ALT and AST x ULN with the liver-metastases branch, creatinine or
Cockcroft-Gault clearance, three washouts, major surgery, corticosteroid dose)
and ``bench/simple13.py``, the same criteria as one plain function, on seeded
patients from ``bench/generate.py`` (about 10 % of values missing, about a
third of the labs in another unit than the threshold's), with about 3 % of
patients given a bilirubin, ALT, AST or creatinine at exactly the limit
(1.5 x or 2.5 x the ULN, rounded as a laboratory would print it): those are
decided by the documented tolerance (relative 1e-9), ``<=`` met.

Three ways of getting the answer, timed in one process in CPU time
(``time.process_time``) per patient, in a shuffled order each round, median
and min-max of the rounds:

* ``hand-written``: ``simple13.evaluate(patient, as_of)`` (verdict and
  deciding criteria);
* ``verdicts only``: ``eligimatch.engine.evaluate(patient, trial,
  evidence="none")``, the verdict as plain data (an ``Evaluation``: no pydantic
  object, no ``Evidence``); the criterion functions still write their
  evidence records (plain tuples) until the row engine gets a verdict-only path;
* ``match(evidence="none")``: the same with its ``MatchResult`` (the criteria's
  outcomes, causes and missing facts; no evidence);
* ``match(evidence="deciding")``: evidence for the criteria behind the verdict;
* ``full``: ``eligimatch.match()`` with its full ``MatchResult``.

Agreement: the verdict and the deciding criteria of ``match()`` and of the
hand-written function on every patient; the count of disagreements must be 0
(the exit status is 1 otherwise).  Nothing here asserts a timing;
``tests/test_bench.py`` runs the agreement small.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if (ROOT / "src" / "eligimatch").is_dir():
    sys.path.insert(0, str(ROOT / "src"))

import generate  # noqa: E402
import simple13  # noqa: E402

AS_OF = generate.AS_OF
TRIAL = HERE / "simple13.elig"
# analyte spellings of the generator -> canonical name, for the boundary patients
_BOUNDARY = {"total_bilirubin": 1.5, "alt": 2.5, "ast": 2.5, "creatinine": 1.5}


def patient_dict(i: int, seed: int) -> dict:
    """Patient ``i`` of ``generate.py``; about 3 % get one lab at exactly its limit."""
    d = generate.patient_dict(i, seed=seed)
    rng = random.Random(f"boundary:{seed}:{i}")
    if rng.random() < 0.03:
        labs = [o for o in d["observations"] if "reference_range" in o
                and simple13.ANALYTES.get(o["analyte"].lower()) in _BOUNDARY]
        if labs:
            o = rng.choice(labs)
            times = _BOUNDARY[simple13.ANALYTES[o["analyte"].lower()]]
            o["value"] = round(times * o["reference_range"]["high"], 2)  # as printed: 1.5 x 1.2 = 1.8
    return d


def patients(n: int, seed: int) -> list[Any]:
    from eligimatch import Patient

    return [Patient.model_validate(patient_dict(i, seed)) for i in range(n)]


def describe(pats: list[Any]) -> dict[str, float]:
    """How much is missing, how many labs are in another unit than the threshold's, how many at a limit."""
    wanted = ("anc", "platelets", "total_bilirubin", "alt", "ast", "creatinine")
    missing = total = 0
    labs = other = 0
    for p in pats:
        seen = {simple13.ANALYTES.get(o.analyte.lower()) for o in p.observations}
        checks = [p.birth_date is not None, p.facts.get("ecog") is not None, p.sex is not None]
        checks += [a in seen for a in wanted + ("weight",)]
        checks += [p.complete.conditions, p.complete.therapies, p.complete.procedures]
        total += len(checks)
        missing += checks.count(False)
        for o in p.observations:
            aid = simple13.ANALYTES.get(o.analyte.lower())
            if aid in wanted or aid == "weight":
                labs += 1
                canonical = {"anc": "10^9/L", "platelets": "10^9/L", "total_bilirubin": "mg/dL", "alt": "U/L",
                             "ast": "U/L", "creatinine": "mg/dL", "weight": "kg"}[aid]
                other += o.unit != canonical
    return {"missing": missing / total, "other_unit": other / labs}


def verdict_only(trial: Any) -> Callable[[Any], tuple[str, tuple[str, ...]]]:
    """The engine's verdict without result objects: ``evaluate(..., evidence="none")``."""
    from eligimatch.engine import evaluate

    def run(p: Any) -> tuple[str, tuple[str, ...]]:
        e = evaluate(p, trial, as_of=AS_OF, evidence="none")
        return e.verdict.value, e.deciding
    return run


def disagreements(pats: list[Any], trial: Any) -> list[tuple[str, Any, Any]]:
    """(patient id, eligimatch's (verdict, deciding), the hand-written one's) where they differ; the
    verdicts-only path is held to the same answer."""
    import eligimatch

    fast = verdict_only(trial)
    out = []
    for p in pats:
        r = eligimatch.match(p, trial, as_of=AS_OF)
        ours = (r.verdict.value, tuple(r.deciding))
        hand = simple13.evaluate(p, AS_OF)
        if ours != hand or fast(p) != ours:
            out.append((p.id, ours, hand))
    return out


def _cpu_per_patient(fn: Callable[[Any], Any], items: list) -> float:
    t = time.process_time()
    for x in items:
        fn(x)
    return (time.process_time() - t) / len(items) * 1e6


def _fmt(xs: list[float], digits: int, unit: str) -> str:
    f = f"{{:.{digits}f}}"
    return f"{f.format(statistics.median(xs))}{unit} ({f.format(min(xs))}–{f.format(max(xs))})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 patients, 5 rounds")
    ap.add_argument("--patients", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-timing", action="store_true", help="the agreement only")
    args = ap.parse_args()
    n = args.patients or (1_000 if args.quick else 10_000)
    rounds = max(args.rounds or (5 if args.quick else 7), 1)

    import eligimatch

    trial = eligimatch.load_trial(TRIAL)
    print(f"bench/simple13.elig ({len(trial.all_criteria())} criteria), {n:,} patients (seed {args.seed}), "
          f"as of {AS_OF}, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", flush=True)
    pats = patients(n, args.seed)
    info = describe(pats)
    print(f"  inputs missing: {info['missing'] * 100:.1f} %; labs in another unit than the threshold's: "
          f"{info['other_unit'] * 100:.1f} %")
    bad = disagreements(pats, trial)
    verdicts: dict[str, int] = {}
    for p in pats:
        v = simple13.evaluate(p, AS_OF)[0]
        verdicts[v] = verdicts.get(v, 0) + 1
    print(f"  verdicts: {', '.join(f'{k} {v:,}' for k, v in sorted(verdicts.items()))}")
    print(f"  patients where eligimatch and the hand-written function disagree: {len(bad)} (must be 0)")
    for pid, ours, hand in bad[:5]:
        print(f"    e.g. {pid}: eligimatch {ours}, hand-written {hand}")
    if args.no_timing:
        return 1 if bad else 0

    fast = verdict_only(trial)
    runs: dict[str, Callable[[Any], Any]] = {
        "hand-written": lambda p: simple13.evaluate(p, AS_OF),
        "eligimatch, verdicts only (evaluate, evidence='none')": fast,
        "eligimatch, match(evidence='none')": lambda p: eligimatch.match(p, trial, as_of=AS_OF, evidence="none"),
        "eligimatch, match(evidence='deciding')": lambda p: eligimatch.match(p, trial, as_of=AS_OF,
                                                                             evidence="deciding"),
        "eligimatch, match() full": lambda p: eligimatch.match(p, trial, as_of=AS_OF),
    }
    for fn in runs.values():  # warm up
        for p in pats[:200]:
            fn(p)
    times: dict[str, list[float]] = {k: [] for k in runs}
    rng = random.Random(20261206)
    for _ in range(rounds):
        order = list(runs)
        rng.shuffle(order)
        for k in order:
            times[k].append(_cpu_per_patient(runs[k], pats))
    base = times["hand-written"]
    print(f"\n  CPU per patient, median (min–max) of {rounds} rounds; ratio to the hand-written function "
          f"of the same round")
    print("| run | CPU per patient | ratio |\n|---|---|---|")
    for k, xs in times.items():
        ratio = "1" if k == "hand-written" else _fmt([x / b for x, b in zip(xs, base)], 1, "×")
        print(f"| {k} | {_fmt(xs, 1, ' µs')} | {ratio} |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
