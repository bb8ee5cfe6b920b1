"""``screen_many`` per patient-trial pair: 5 trials against 100, one worker against two (issue 12, step 4).

    python bench/run_workers.py                 # 400 patients per run, 5 rounds
    python bench/run_workers.py --patients 200 --rounds 3
    python bench/run_workers.py --rounds 12 --against ../main   # alternate with another checkout
    python bench/run_workers.py --evidence deciding   # screen_many(..., evidence="deciding")

Each run is a fresh process that screens generated patients (``bench/generate.py``,
as dicts, validated by whoever screens them) against either the five seed trials
(``examples/trials/*.elig``) or 100 trials (the five, twenty times each, every copy
under its own id: as many compiled trials as a site's full list), with
``screen_many(..., workers=W)`` and full results as objects (what a program that
reads the explanations gets), reading every record's verdicts.  Every run of a round
screens the same patients (so 20 times as many pairs with 100 trials as with 5): per
pair, the runs compare the same work, not one sample of patients against another (with
the same number of pairs in every run, as before 2026-12-07, 100 trials saw 1/20 as many
patients, and other ones).  ``chunksize`` is ``screen_many``'s default, 16 patients (until 2026-12-07 it
was cut to 80 pairs per chunk, one patient with 100 trials: a worker screens a block of patients together
only within a chunk, and users get the default).  Runs of the
same code minutes apart vary by up to ±10 % on a shared machine: compare checkouts with
``--against``, over many rounds.

Measured: the CPU time of every process of the run's tree (the caller, the
forkserver and the workers, from /proc), from the first record to the last,
divided by the pairs screened meanwhile (worker start-up, which compiles the
trials in each worker, is left out; the same for every run); the caller's own
share of it; and the wall time per pair.  The four runs of a round go in a
shuffled order; medians (min–max) over the rounds, and the ratios of each round:

* 2 workers / 1: the speed-up on this machine's cores from CPU time,
  ``cpu(1 worker) / max(cpu(2 workers, all processes) / cores, cpu(the caller))``
  (the wall-clock speed-up is printed too; on a machine shared with other jobs it
  measures them as much as us);
* 100 trials / 5: CPU per pair with 100 trials over CPU per pair with 5.

Targets (issue 12): two workers at least as fast as one with full results (≥ 1×);
100 trials no slower per pair than 5 (≤ 1×, within the noise).  Nothing here
asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if (ROOT / "src" / "eligimatch").is_dir():
    sys.path.insert(0, str(ROOT / "src"))

import generate  # noqa: E402
from run import _env, _tree, seed_trials  # noqa: E402

AS_OF = generate.AS_OF
_WARM = 0.1  # the share of the patients screened before the measurement starts


def trial_texts(n: int) -> list[str]:
    """``n`` trial texts: the seed trials in turn, each copy after the first under its own id."""
    seeds = [p.read_text(encoding="utf-8") for p in seed_trials()]
    out = []
    for i in range(n):
        text = seeds[i % len(seeds)]
        copy = i // len(seeds)
        if copy:
            text = re.sub(r'^trial "([^"]+)"', lambda m: f'trial "{m.group(1)}-{copy}"', text, count=1, flags=re.M)
        out.append(text)
    return out


def child(n_patients: int, n_trials: int, workers: int, seed: int, evidence: str) -> None:
    """A run, in this (fresh) process: print one JSON line."""
    import eligimatch
    from eligimatch.screening import screen_many

    trials = [eligimatch.compile_trial(t) for t in trial_texts(n_trials)]
    me = os.getpid()
    warm = max(1, int(n_patients * _WARM))
    extra: dict[str, Any] = {} if evidence == "all" else {"evidence": evidence}
    counts: dict[str, int] = {}
    start_cpu = start_wall = 0.0
    done = 0
    for rec in screen_many(generate.iter_dicts(n_patients, seed=seed), trials, as_of=AS_OF, workers=workers,
                           **extra):
        for r in rec.results:
            counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
        done += 1
        if done == warm:
            start_cpu = sum(_tree(me)[1].values())
            start_self = time.process_time()
            start_wall = time.perf_counter()
        if done == n_patients:  # the last record: measure before the pool shuts down
            end_cpu = sum(_tree(me)[1].values())
            end_self = time.process_time()
            end_wall = time.perf_counter()
    pairs = (n_patients - warm) * n_trials
    print(json.dumps({"trials": n_trials, "workers": workers, "pairs": pairs, "counts": counts,
                      "cpu_us": (end_cpu - start_cpu) / pairs * 1e6,
                      "caller_us": (end_self - start_self) / pairs * 1e6,
                      "wall_us": (end_wall - start_wall) / pairs * 1e6}))


def run(n_patients: int, n_trials: int, workers: int, seed: int, evidence: str,
        checkout: Path = ROOT) -> dict[str, Any]:
    """One run in a fresh process, with ``checkout``'s own ``bench/run_workers.py`` and ``src``."""
    env = _env()
    if checkout != ROOT:
        env["PYTHONPATH"] = str(checkout / "src")
    out = subprocess.run([sys.executable, str(checkout / "bench" / "run_workers.py"), "--child", str(n_patients),
                          str(n_trials), str(workers), str(seed), evidence],
                         env=env, check=True, capture_output=True, text=True, cwd=checkout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(xs: list[float], digits: int = 0, unit: str = "") -> str:
    f = f"{{:.{digits}f}}"
    return f"{f.format(statistics.median(xs))}{unit} ({f.format(min(xs))}–{f.format(max(xs))})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=400, help="patients per run (the same in every run of a round)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--evidence", choices=["all", "deciding", "none"], default="all")
    ap.add_argument("--against", type=Path, metavar="CHECKOUT",
                    help="another checkout (a git worktree of main, say): in each round its four runs and this "
                         "one's go in one shuffled order, on the same patients, and both are reported")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n, t, w, s, e = args.child
        child(int(n), int(t), int(w), int(s), e)
        return 0
    cores = len(os.sched_getaffinity(0))
    configs = [(5, 1), (5, cores), (100, 1), (100, cores)]
    print(f"screen_many, full results (evidence={args.evidence!r}), {args.patients:,} patients per run, {args.rounds} "
          f"rounds, {cores} cores, load average {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC", flush=True)
    checkouts = {"this checkout": ROOT}
    if args.against is not None:
        other = args.against.resolve()
        if not (other / "bench" / "run_workers.py").is_file() or not (other / "src" / "eligimatch").is_dir():
            ap.error(f"--against {args.against}: not a checkout of eligimatch (no bench/run_workers.py, src/)")
        checkouts[f"--against {args.against}"] = other
    every: dict[str, dict[tuple[int, int], list[dict[str, Any]]]] = {k: {c: [] for c in configs} for k in checkouts}
    rng = random.Random(20261206)
    for i in range(args.rounds):
        order = [(k, c) for k in checkouts for c in configs]
        rng.shuffle(order)
        for k, (trials, workers) in order:
            every[k][(trials, workers)].append(run(args.patients, trials, workers, seed=30 + i,
                                                   evidence=args.evidence, checkout=checkouts[k]))
        print(f"  round {i + 1} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    for k, res in every.items():
        if len(every) > 1:
            print(f"\n### {k} ({checkouts[k]})")
        _report(res, configs, cores)
    return 0


def _report(res: dict[tuple[int, int], list[dict[str, Any]]], configs: list[tuple[int, int]], cores: int) -> None:
    print("\n| trials | workers | CPU per pair, all processes | the caller's | wall per pair |\n|---|---|---|---|---|")
    for trials, workers in configs:
        rs = res[(trials, workers)]
        print(f"| {trials} | {workers} | {_fmt([r['cpu_us'] for r in rs], 0, ' µs')} | "
              f"{_fmt([r['caller_us'] for r in rs], 0, ' µs')} | {_fmt([r['wall_us'] for r in rs], 0, ' µs')} |")
    print("\n| ratio (per round) | median (min–max) | target |\n|---|---|---|")
    for trials in (5, 100):
        one, many = res[(trials, 1)], res[(trials, cores)]
        est = [a["cpu_us"] / max(b["cpu_us"] / cores, b["caller_us"]) for a, b in zip(one, many)]
        wall = [a["wall_us"] / b["wall_us"] for a, b in zip(one, many)]
        print(f"| {trials} trials: speed-up {cores} workers / 1, from CPU time | {_fmt(est, 2, '×')} | ≥ 1× |")
        print(f"| {trials} trials: speed-up {cores} workers / 1, wall clock (shared machine) | {_fmt(wall, 2, '×')} | |")
    for workers in (1, cores):
        a, b = res[(5, workers)], res[(100, workers)]
        ratio = [y["cpu_us"] / x["cpu_us"] for x, y in zip(a, b)]
        print(f"| {workers} worker{'s' if workers > 1 else ''}: CPU per pair, 100 trials / 5 | {_fmt(ratio, 2, '×')} "
              f"| ≤ 1× |")


if __name__ == "__main__":
    sys.exit(main())
