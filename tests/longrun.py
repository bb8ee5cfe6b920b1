"""The long run of the soundness properties, as plain seeded loops in resumable chunks (not a test).

Runs the body of each property of ``tests/test_soundness.py`` and ``tests/test_properties.py`` on seeds
``random.Random(seed)`` -- the same generators and the same assertions as the hypothesis tests, without
hypothesis's per-draw bookkeeping (which is most of a hypothesis example's cost: it records every random
choice so that a failure can shrink).  Each example is one seed; a failure is recorded with its seed and
replays exactly with ``--replay PROP SEED`` (then shrink it under hypothesis if needed).

Seeds come in chunks; each finished chunk is appended to the log as one JSON line (property, first seed,
examples, failures with seed and message, CPU and wall seconds, commit).  A run resumes where it stopped:
chunks already in the log are skipped.  Two processes may share a log (``--shard 0/2`` and ``--shard 1/2``
take alternate chunks).  ``--summary`` prints the totals per property from the log.

    PYTHONPATH=src:tests nice -n 19 python tests/longrun.py --log LOG --examples 100000 \\
        --props blurring,vocabulary,removal [--shard 0/2]
    PYTHONPATH=src:tests python tests/longrun.py --log LOG --summary
    PYTHONPATH=src:tests python tests/longrun.py --replay blurring 12345

docs/reliability.md ("Long runs") has the last run.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import test_properties as P
import test_soundness as S

# property name -> (module, test function); the soundness properties first
PROPS: dict[str, tuple[Any, Any]] = {
    "blurring": (S, S.test_blurring_information_never_creates_a_decision),  # 9
    "vocabulary": (S, S.test_values_outside_the_vocabulary_never_decide),  # 10
    "removal": (P, P.test_removing_information_never_creates_a_match),  # 4
    "order": (S, S.test_record_order_never_decides),  # 11
    "windows": (S, S.test_one_window_arithmetic_for_every_record),  # 12
    "ages": (S, S.test_exact_age_against_fractional_thresholds),  # 12
    "malformed": (S, S.test_malformed_documents_are_refused_naming_the_field),  # 13
    "no_data": (P, P.test_no_data_no_verdict),  # 4
    "documents": (P, P.test_patient_documents_validate_or_name_the_field),  # 3
    "units": (P, P.test_unit_invariance),  # 5
    "date_shift": (P, P.test_date_shift_invariance),  # 6
    "determinism": (P, P.test_deterministic_in_process),  # 7
    "criteria": (P, P.test_generated_criteria_compile_or_raise_located_error),  # 1
    "token_soup": (P, P.test_token_soup_compiles_or_raises_located_error),  # 1
    "mutated": (P, P.test_mutated_trial_files_compile_or_raise_located_error),  # 1
    "round_trip": (P, P.test_render_round_trip),  # 2
}
PROPS_INDEX = {name: i for i, name in enumerate(PROPS)}  # seeds: each property its own range
SOUNDNESS = ["blurring", "vocabulary", "removal", "order", "windows", "ages", "malformed"]

# Seeds of different properties never coincide with those of the CI census (tests/census.py uses 0..n).
SEED_BASE = 1_000_000_000

_notes: list[str] = []


def _quiet(*_a: Any, **_k: Any) -> None:
    return None


for _m in (S, P):  # hypothesis's note/event outside a hypothesis test: collect the notes, drop the events
    _m.note = _notes.append
    _m.event = _quiet


def _body(name: str) -> Callable[[random.Random], None]:
    return PROPS[name][1].hypothesis.inner_test


def run_one(name: str, seed: int) -> str | None:
    """Run property ``name`` on ``seed``; None when it holds, else the failure (message and notes)."""
    _notes.clear()
    try:
        _body(name)(random.Random(seed))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # an assertion, or a crash: both are findings
        text = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, AssertionError):
            text += "\n" + "".join(traceback.format_exception(exc)[-6:])
        return (text[:4000] + "\nnotes:\n" + "\n".join(n[:4000] for n in _notes[:4]))
    return None


def _commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by an interruption: that chunk runs again
                continue
    return out


def _append(path: Path, entry: dict) -> None:
    data = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)  # one write of one line: shards appending to one log do not interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def run(args: argparse.Namespace) -> int:
    log = Path(args.log)
    done = {(e["prop"], e["first_seed"]) for e in _read_log(log)}
    names = SOUNDNESS if args.props == "soundness" else list(PROPS) if args.props == "all" else args.props.split(",")
    for n in names:
        if n not in PROPS:
            raise SystemExit(f"unknown property {n!r}; known: {', '.join(PROPS)}")
    shard, shards = (int(x) for x in args.shard.split("/"))
    commit = _commit()
    deadline = (dt.datetime.fromisoformat(args.until).replace(tzinfo=dt.timezone.utc) if args.until else None)
    chunks = args.examples // args.chunk
    # interleave the properties chunk by chunk, so a run stopped early has covered each of them
    order = [(k, n) for k in range(chunks) for n in names]
    for index, (k, name) in enumerate(order):
        if index % shards != shard:
            continue
        first = SEED_BASE + args.seed + PROPS_INDEX[name] * 10_000_000 + k * args.chunk
        if (name, first) in done:
            continue
        if deadline is not None and dt.datetime.now(dt.timezone.utc) >= deadline:
            print(f"stopped at the deadline {args.until} UTC", flush=True)
            return 0
        t0, c0 = time.perf_counter(), time.process_time()
        failures = []
        for seed in range(first, first + args.chunk):
            problem = run_one(name, seed)
            if problem is not None:
                failures.append({"seed": seed, "failure": problem})
                print(f"FAILURE {name} seed {seed}: {problem[:400]}", flush=True)
        entry = {"prop": name, "first_seed": first, "examples": args.chunk, "failures": failures,
                 "cpu_s": round(time.process_time() - c0, 2), "wall_s": round(time.perf_counter() - t0, 2),
                 "commit": commit, "finished": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        _append(log, entry)
        print(f"{entry['finished']} {name} seeds {first}..{first + args.chunk - 1}: {len(failures)} failures, "
              f"{entry['cpu_s']} s CPU, {entry['wall_s']} s wall", flush=True)
    return 0


def summary(path: Path) -> int:
    entries = _read_log(path)
    per: dict[str, dict[str, Any]] = collections.defaultdict(
        lambda: {"examples": 0, "failures": 0, "cpu": 0.0, "wall": 0.0, "commits": set(), "first": None, "last": None})
    for e in entries:
        s = per[e["prop"]]
        s["examples"] += e["examples"]
        s["failures"] += len(e["failures"])
        s["cpu"] += e["cpu_s"]
        s["wall"] += e["wall_s"]
        s["commits"].add(e["commit"])
        s["first"] = min(filter(None, (s["first"], e["finished"])))
        s["last"] = max(filter(None, (s["last"], e["finished"])))
    print("| property | examples | failures | CPU s | CPU ms/example | wall s | commits | last chunk |")
    print("|---|---|---|---|---|---|---|---|")
    total = fails = 0
    for name in PROPS:
        if name not in per:
            continue
        s = per[name]
        total += s["examples"]
        fails += s["failures"]
        print(f"| {name} | {s['examples']:,} | {s['failures']} | {s['cpu']:,.0f} | "
              f"{1000 * s['cpu'] / max(1, s['examples']):.1f} | {s['wall']:,.0f} | {', '.join(sorted(s['commits']))} "
              f"| {s['last']} |")
    print(f"\ntotal: {total:,} examples, {fails} failures")
    for e in entries:
        for f in e["failures"]:
            print(f"\nFAILURE {e['prop']} seed {f['seed']} ({e['commit']}):\n{f['failure'][:2000]}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", default="longrun.jsonl", help="the results log (JSON lines; resumed if it exists)")
    ap.add_argument("--props", default="soundness",
                    help="comma-separated property names, 'soundness' (default) or 'all'")
    ap.add_argument("--examples", type=int, default=100_000, help="examples per property")
    ap.add_argument("--chunk", type=int, default=500, help="examples per logged chunk")
    ap.add_argument("--seed", type=int, default=0, help="offset of the seeds (another run: other seeds)")
    ap.add_argument("--shard", default="0/1", help="K/N: this process takes every N-th chunk, from the K-th")
    ap.add_argument("--until", default="", help="stop starting new chunks at this UTC time (YYYY-MM-DDTHH:MM)")
    ap.add_argument("--summary", action="store_true", help="print the totals of the log and exit")
    ap.add_argument("--replay", nargs=2, metavar=("PROP", "SEED"), help="run one example and print its failure")
    args = ap.parse_args()
    if args.summary:
        return summary(Path(args.log))
    if args.replay:
        problem = run_one(args.replay[0], int(args.replay[1]))
        print(problem or "holds")
        return 1 if problem else 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
