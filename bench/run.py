"""eligimatch's benchmark: one command, every measurement, ratios to a hand-written baseline.

    python bench/run.py            # full: 2,000-patient evaluation runs, batch of 100,000 patients x 5 trials
    python bench/run.py --quick    # a few minutes: smaller populations and batches

What it measures, each repeated and interleaved (eligimatch and the baseline
alternate, in a shuffled order, so that load from other processes hits both):

* import: a cold ``import eligimatch`` in a fresh interpreter (``-X importtime``
  and wall time minus the bare interpreter's start-up);
* compile: each seed trial (``examples/trials/*.elig``), once the parser is
  built; and the first compilation in a fresh process (parser build included);
* evaluation: ``match()`` of one patient against NCT05621486's computable
  criteria (``bench/nct05621486.elig``) with its full MatchResult, against
  ``bench/baseline.py`` doing the same by hand, per patient, over a generated
  population; and ``match()`` against each seed trial;
* throughput: the same from a patient document (validation included);
* agreement: eligimatch and the baseline on every patient: verdict, and per
  criterion the outcome, the reason codes and the missing facts; the count of
  disagreements must be 0;
* batch: ``screen_many`` over generated patients x the seed trials in a fresh
  process, with 1 worker and with every core; wall time, time to the first
  result, and the peak resident memory of the whole process tree (sampled from
  /proc, and the sum of each process's own peak, VmHWM), for two batch sizes.
  (``getrusage``'s ru_maxrss is not used: a process started by fork and exec
  from a large process reports that process's peak.)

Medians are printed with their spread (min-max over repetitions).  Times of
single-threaded work (evaluation, compile) are CPU times (``time.process_time``),
which other programs competing for the cores do not inflate the way they
inflate wall time; compile and import also give wall time.  Nothing here
asserts a timing; ``tests/test_bench.py`` runs the agreement check small.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if (ROOT / "src" / "eligimatch").is_dir():
    sys.path.insert(0, str(ROOT / "src"))

import generate  # noqa: E402  (bench/generate.py)

AS_OF = generate.AS_OF
BENCH_TRIAL = HERE / "nct05621486.elig"
FALLBACK_TRIALS = [BENCH_TRIAL, Path("/tmp/sample.elig")]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def seed_trials() -> list[Path]:
    found = sorted((ROOT / "examples" / "trials").glob("*.elig"))
    return found if found else [p for p in FALLBACK_TRIALS if p.is_file()]


# ---- statistics and printing --------------------------------------------------------------------

class Stat:
    def __init__(self, xs: list[float]):
        self.xs = sorted(xs)
        self.median = statistics.median(xs)
        self.min, self.max = self.xs[0], self.xs[-1]

    def fmt(self, digits: int = 1, unit: str = "") -> str:
        f = f"{{:.{digits}f}}"
        return f"{f.format(self.median)}{unit} ({f.format(self.min)}–{f.format(self.max)})"


ROWS: list[tuple[str, str, str, str]] = []  # (section, measure, value, target/ratio)


def row(section: str, measure: str, value: str, note: str = "") -> None:
    ROWS.append((section, measure, value, note))
    print(f"  {measure:<58} {value:<30} {note}", flush=True)


def header(title: str) -> None:
    print(f"\n== {title}", flush=True)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    commit = ""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if dirty:
            commit += " (+ uncommitted changes)"
    except (OSError, subprocess.SubprocessError):
        pass
    import lark
    import pydantic

    import eligimatch

    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"python": f"{platform.python_implementation()} {platform.python_version()}", "os": platform.platform(),
            "cpu": cpu, "cores": cores, "memory": mem, "eligimatch": f"{eligimatch.__version__} {commit}".strip(),
            "pydantic": pydantic.VERSION, "lark": lark.__version__,
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


# ---- import ----------------------------------------------------------------------------------------

def bench_import(reps: int) -> None:
    header("import (fresh interpreter)")
    env = _env()
    cum, wall, cpu = [], [], []

    def child_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    for _ in range(reps):
        t, c = time.perf_counter(), child_cpu()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        bare, bare_cpu = time.perf_counter() - t, child_cpu() - c
        t, c = time.perf_counter(), child_cpu()
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import eligimatch"], env=env, check=True,
                             capture_output=True, text=True)
        wall.append(time.perf_counter() - t - bare)
        cpu.append(child_cpu() - c - bare_cpu)
        for line in out.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "eligimatch":
                cum.append(int(parts[1]) / 1e6)
    if cum:
        row("import", "import eligimatch, -X importtime cumulative", Stat(cum).fmt(3, " s"), "target < 0.5 s")
    row("import", "import eligimatch, wall minus bare interpreter", Stat(wall).fmt(3, " s"), "target < 0.5 s")
    row("import", "import eligimatch, CPU minus bare interpreter", Stat(cpu).fmt(3, " s"), "target < 0.5 s")
    out = subprocess.run([sys.executable, "-c", "import sys, eligimatch; print(' '.join(sorted(m for m in "
                          "('lark', 'pint', 'rich', 'typer', 'click', 'numpy') if m in sys.modules)))"],
                         env=env, check=True, capture_output=True, text=True)
    row("import", "heavy modules loaded by import eligimatch", out.stdout.strip() or "none")


# ---- compile ---------------------------------------------------------------------------------------

def bench_compile(trials: list[Path], reps: int) -> None:
    header("compile")
    env = _env()
    first = []
    code = ("import time, eligimatch, sys; t = time.perf_counter(); eligimatch.load_trial(sys.argv[1]); "
            "print(time.perf_counter() - t)")
    for _ in range(max(3, reps // 3)):
        out = subprocess.run([sys.executable, "-c", code, str(trials[0])], env=env, check=True,
                             capture_output=True, text=True)
        first.append(float(out.stdout) * 1e3)
    row("compile", f"first compile in a process ({trials[0].stem}, parser built)", Stat(first).fmt(0, " ms"))

    import eligimatch
    from eligimatch.language import parse

    parse('inclusion:\n  - I1: age >= 18 years\n')  # builds the process-wide parser before timing
    texts = {p.stem: p.read_text(encoding="utf-8") for p in trials}
    times: dict[str, list[float]] = {k: [] for k in texts}
    cpu: dict[str, list[float]] = {k: [] for k in texts}
    for _ in range(reps):
        order = list(texts)
        random.shuffle(order)
        for k in order:
            t, c = time.perf_counter(), time.process_time()
            eligimatch.compile_trial(texts[k], filename=k)
            times[k].append((time.perf_counter() - t) * 1e3)
            cpu[k].append((time.process_time() - c) * 1e3)
    for k, xs in times.items():
        trial = eligimatch.compile_trial(texts[k], filename=k)
        row("compile", f"compile {k} ({len(trial.all_criteria())} criteria, {len(texts[k]):,} chars), wall",
            Stat(xs).fmt(1, " ms"), "target < 20 ms")
        row("compile", f"compile {k}, CPU", Stat(cpu[k]).fmt(1, " ms"), "target < 20 ms")


# ---- evaluation ------------------------------------------------------------------------------------

def _time_pass(fn: Callable[[Any], Any], items: list) -> float:
    """CPU time per item, µs (single-threaded work: CPU time is the work, whatever else runs)."""
    t = time.process_time()
    for x in items:
        fn(x)
    return (time.process_time() - t) / len(items) * 1e6


def bench_eval(n: int, reps: int, trials: list[Path]) -> dict[str, Any]:
    import baseline
    import eligimatch

    header(f"evaluation: one patient against NCT05621486's computable criteria ({n} patients, {reps} rounds)")
    trial = eligimatch.load_trial(BENCH_TRIAL)
    pats = generate.patients(n, seed=1)
    match, evaluate = eligimatch.match, baseline.evaluate

    def eli(p: Any) -> Any:
        return match(p, trial, as_of=AS_OF)

    def base(p: Any) -> Any:
        return evaluate(p, AS_OF)

    for p in pats[:50]:  # warm up: catalogs' memos, caches of the interpreter
        eli(p), base(p)
    b, e, ratio = [], [], []
    for _ in range(reps):
        if random.random() < 0.5:
            tb, te = _time_pass(base, pats), _time_pass(eli, pats)
        else:
            te, tb = _time_pass(eli, pats), _time_pass(base, pats)
        b.append(tb)
        e.append(te)
        ratio.append(te / tb)
    row("evaluation", "baseline (hand-written), per patient", Stat(b).fmt(1, " µs"))
    row("evaluation", "eligimatch match() with full MatchResult, per patient", Stat(e).fmt(1, " µs"))
    row("evaluation", "ratio eligimatch / baseline", Stat(ratio).fmt(2, "×"), "target ≤ 3×")

    header("throughput from a patient document (validation included)")
    docs = [generate.patient_dict(i, seed=1) for i in range(n)]
    validate = eligimatch.Patient.model_validate

    def eli_doc(d: dict) -> Any:
        return match(validate(d), trial, as_of=AS_OF)

    def base_doc(d: dict) -> Any:
        return evaluate(validate(d), AS_OF)

    b2, e2, r2 = [], [], []
    for _ in range(max(3, reps // 2)):
        if random.random() < 0.5:
            tb, te = _time_pass(base_doc, docs), _time_pass(eli_doc, docs)
        else:
            te, tb = _time_pass(eli_doc, docs), _time_pass(base_doc, docs)
        b2.append(1e6 / tb)
        e2.append(1e6 / te)
        r2.append(te / tb)
    row("throughput", "baseline: validate + evaluate, patients/s", Stat(b2).fmt(0))
    row("throughput", "eligimatch: validate + match, patients/s", Stat(e2).fmt(0))
    row("throughput", "ratio of time per patient eligimatch / baseline", Stat(r2).fmt(2, "×"))

    header("evaluation against each seed trial (match(), full MatchResult)")
    compiled = [eligimatch.load_trial(p) for p in trials]
    sub = pats[: max(200, n // 4)]
    per: dict[str, list[float]] = {t.filename: [] for t in compiled}
    for _ in range(max(3, reps // 2)):
        for t in random.sample(compiled, len(compiled)):
            per[t.filename].append(_time_pass(lambda p, t=t: match(p, t, as_of=AS_OF), sub))
    for t in compiled:
        row("seed trials", f"match() {Path(t.filename).stem} ({len(t.all_criteria())} criteria), per patient",
            Stat(per[t.filename]).fmt(0, " µs"))
    return {"patients": pats, "trial": trial}


# ---- agreement -------------------------------------------------------------------------------------

def compare(result: Any, base: Any) -> list[tuple[str, str, Any, Any]]:
    """Differences between eligimatch's MatchResult and the baseline's Result: (criterion, what, eli, base)."""
    import baseline

    out = []
    if result.verdict.value != base.verdict:
        out.append(("*", "verdict", result.verdict.value, base.verdict))
    ours = {c.id: c for c in result.criteria}
    for b in base.criteria:
        c = ours.get(b.id)
        if c is None:
            out.append((b.id, "criterion", None, b.id))
            continue
        pairs = [("outcome", c.outcome.value, baseline.OUTCOME[b.outcome]),
                 ("reasons", sorted(set(c.reasons)), sorted(set([r[0] for r in b.reasons] + list(b.causes)))),
                 ("missing", sorted({m.fact for m in c.missing}), sorted(set(b.missing)))]
        out.extend((b.id, what, x, y) for what, x, y in pairs if x != y)
    return out


def agreement(pats: list, trial: Any, show: int = 5) -> int:
    import baseline
    import eligimatch

    header(f"agreement with the baseline ({len(pats)} patients)")
    bad = 0
    kinds: dict[tuple[str, str], int] = {}
    examples = []
    verdicts: dict[str, int] = {}
    for p in pats:
        r = eligimatch.match(p, trial, as_of=AS_OF)
        verdicts[r.verdict.value] = verdicts.get(r.verdict.value, 0) + 1
        diffs = compare(r, baseline.evaluate(p, AS_OF))
        if diffs:
            bad += 1
            for d in diffs:
                kinds[d[:2]] = kinds.get(d[:2], 0) + 1
            if len(examples) < show:
                examples.append((p.id, diffs[:3]))
    row("agreement", "verdicts of the population", ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    row("agreement", "patients where eligimatch and the baseline disagree", str(bad), "must be 0")
    for (cid, what), k in sorted(kinds.items()):
        print(f"    {cid} {what}: {k}")
    for pid, diffs in examples:
        print(f"    e.g. {pid}: {diffs}")
    return bad


# ---- batch -----------------------------------------------------------------------------------------

def _tree(root: int, hwm: dict[int, int] | None = None) -> tuple[int, dict[int, float]]:
    """Resident memory (KiB) of ``root`` and all its descendants, and the CPU seconds each has used (/proc).

    ``hwm``: filled with each process's own peak resident memory (VmHWM, KiB)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(statm.split()[1]) * page_kb
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    total, stack, seen = 0, [root], {}
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        seen[pid] = cpu.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
        if hwm is not None:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        hwm[pid] = max(hwm.get(pid, 0), int(line.split()[1]))
            except (OSError, ValueError):
                pass
    return total, seen


_CRITERIA_MODES: dict[int, bool | str] = {0: False, 1: True, 2: "deciding"}  # --batch-worker's 4th number


def batch_worker(n: int, workers: int, seed: int, criteria_mode: int = 1, as_json: int = 0) -> None:
    """Child process: screen n generated patients against the seed trials, streaming; print a JSON line."""
    import eligimatch
    from eligimatch.screening import screen_many

    trials = [eligimatch.load_trial(p) for p in seed_trials()]
    peak = [0]
    cpu: dict[int, float] = {}  # CPU seconds per process of the tree, as last seen
    hwm: dict[int, int] = {}  # each process's own peak resident memory, as last seen
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss, seen = _tree(os.getpid(), hwm)
            peak[0] = max(peak[0], rss)
            cpu.update(seen)
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    counts: dict[str, int] = {}
    first = None
    t = time.perf_counter()
    done = 0
    sink = open(os.devnull, "w", encoding="utf-8")  # as_json: the records are written out, as a batch job would
    for rec in screen_many(generate.iter_dicts(n, seed=seed), trials, as_of=AS_OF, workers=workers,
                           with_criteria=_CRITERIA_MODES[criteria_mode], as_json=bool(as_json)):
        if first is None:
            first = time.perf_counter() - t
        done += 1
        if isinstance(rec, str):
            sink.write(rec)
            sink.write("\n")
            counts["bytes"] = counts.get("bytes", 0) + len(rec) + 1
            continue
        if not rec.ok:
            counts["error"] = counts.get("error", 0) + 1
            continue
        for r in rec.results:
            counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
    elapsed = time.perf_counter() - t
    sink.close()
    stop.set()
    sampler.join()
    rss, seen = _tree(os.getpid(), hwm)
    peak[0] = max(peak[0], rss)
    cpu.update(seen)
    self_use = resource.getrusage(resource.RUSAGE_SELF)
    cpu[os.getpid()] = self_use.ru_utime + self_use.ru_stime
    print(json.dumps({"n": n, "workers": workers, "done": done, "seconds": elapsed, "first": first,
                      "tree_peak_kb": peak[0], "hwm_sum_kb": sum(hwm.values()), "counts": counts,
                      "cpu_total": sum(cpu.values()), "cpu_self": cpu[os.getpid()]}))


def _run_batch(n: int, workers: int, seed: int, with_criteria: bool | str = True,
               as_json: bool = False) -> dict[str, Any]:
    mode = next(k for k, v in _CRITERIA_MODES.items() if v == with_criteria and type(v) is type(with_criteria))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--batch-worker", str(n), str(workers),
                          str(seed), str(mode), str(int(as_json))],
                         env=_env(), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _burn(n: int) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i % 7
    return time.perf_counter() - t


def machine_scaling(cores: int) -> float:
    """How much faster ``cores`` processes burn a fixed amount of pure-Python work than one, right now:
    the ceiling any batch can reach while other programs share the machine."""
    import multiprocessing

    n = 3_000_000
    t = time.perf_counter()
    for _ in range(cores):
        _burn(n)
    serial = time.perf_counter() - t
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        t = time.perf_counter()
        pool.map(_burn, [n] * cores)
        parallel = time.perf_counter() - t
    return serial / parallel


def bench_batch(small: int, large: int, speed_n: int, reps: int, trials: list[Path]) -> None:
    cores = len(os.sched_getaffinity(0))
    header(f"batch: screen_many x {len(trials)} seed trials, {cores} cores")
    ceilings = [machine_scaling(cores)]
    modes = (("full results", True, False), ("deciding criteria (with_criteria='deciding')", "deciding", False),
             ("summaries (with_criteria=False)", False, False),
             ("full results as JSON lines (as_json=True)", True, True))
    for mode, with_criteria, as_json in modes:
        if not speed_n:  # --batch-speed 0: the memory runs only
            break
        one, many = [], []
        for i in range(reps):
            order = [1, cores] if i % 2 == 0 else [cores, 1]
            for w in order:
                r = _run_batch(speed_n, w, seed=7 + i, with_criteria=with_criteria, as_json=as_json)
                (one if w == 1 else many).append(r)
            ceilings.append(machine_scaling(cores))
        rate1 = [r["done"] / r["seconds"] for r in one]
        rate2 = [r["done"] / r["seconds"] for r in many]
        row("batch", f"{mode}: {speed_n:,} patients, 1 worker, patients/s", Stat(rate1).fmt(0))
        row("batch", f"{mode}: {speed_n:,} patients, {cores} workers, patients/s", Stat(rate2).fmt(0))
        row("batch", f"{mode}: speed-up {cores} workers / 1 (wall clock)",
            Stat([b / a for a, b in zip(rate1, rate2)]).fmt(2, "×"), "target ≥ 1.6×")
        cpu1 = [r["cpu_total"] / r["done"] * 1e3 for r in one]
        cpu2 = [r["cpu_total"] / r["done"] * 1e3 for r in many]
        parent2 = [r["cpu_self"] / r["done"] * 1e3 for r in many]
        row("batch", f"{mode}: CPU per patient, 1 worker", Stat(cpu1).fmt(2, " ms"))
        row("batch", f"{mode}: CPU per patient, {cores} workers (all processes; the caller's)",
            Stat(cpu2).fmt(2, " ms") + f"; {statistics.median(parent2):.2f} ms")
        est = [c1 / max(c2 / cores, p2) for c1, c2, p2 in zip(cpu1, cpu2, parent2)]
        row("batch", f"{mode}: speed-up on {cores} idle cores, from CPU time", Stat(est).fmt(2, "×"),
            "target ≥ 1.6×")
        firsts = [r["first"] for r in many if r["first"] is not None]
        row("batch", f"{mode}: time to the first result, {cores} workers (streaming)", Stat(firsts).fmt(2, " s"))
    row("batch", f"the machine's ceiling meanwhile: {cores} processes of pure Python / 1", Stat(ceilings).fmt(2, "×"),
        "2× on an idle machine")
    mem = {}
    for n in (small, large):
        r = _run_batch(n, cores, seed=11)
        mem[n] = r
        row("batch", f"full results: {n:,} patients, {cores} workers, wall time",
            f"{r['seconds']:.1f} s ({r['done'] / r['seconds']:.0f} patients/s)")
        row("batch", f"full results: {n:,} patients, peak RSS of the process tree (sampled)",
            f"{r['tree_peak_kb'] / 1024:.0f} MiB")
        row("batch", f"full results: {n:,} patients, sum of each process's own peak RSS (VmHWM)",
            f"{r['hwm_sum_kb'] / 1024:.0f} MiB")
        row("batch", f"full results: {n:,} patients, verdicts",
            ", ".join(f"{k} {v}" for k, v in sorted(r["counts"].items())))
    growth = mem[large]["tree_peak_kb"] / mem[small]["tree_peak_kb"] - 1
    row("batch", f"peak memory growth {small:,} → {large:,} patients (sampled tree)", f"{growth * 100:+.1f} %",
        "target within 20 %")
    growth = mem[large]["hwm_sum_kb"] / mem[small]["hwm_sum_kb"] - 1
    row("batch", f"peak memory growth {small:,} → {large:,} patients (VmHWM sum)", f"{growth * 100:+.1f} %",
        "target within 20 %")


# ---- main ------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller populations and batches (a few minutes)")
    ap.add_argument("--only", choices=["import", "compile", "eval", "agree", "batch"], action="append",
                    help="run only these sections (repeatable)")
    ap.add_argument("--patients", type=int, help="population for the evaluation runs")
    ap.add_argument("--reps", type=int, help="repetitions of each timed run")
    ap.add_argument("--batch", type=int, nargs=2, metavar=("SMALL", "LARGE"), help="the two batch sizes")
    ap.add_argument("--batch-speed", type=int, help="batch size for the 1-worker / all-workers comparison "
                                                   "(0: skip it)")
    ap.add_argument("--json", type=Path, help="also write the table as JSON here")
    ap.add_argument("--batch-worker", nargs="+", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.batch_worker:
        batch_worker(*args.batch_worker)
        return 0
    quick = args.quick
    n = args.patients or (500 if quick else 2000)
    reps = args.reps or (5 if quick else 9)
    small, large = args.batch or ((2_000, 10_000) if quick else (10_000, 100_000))
    speed_n = args.batch_speed if args.batch_speed is not None else (2_000 if quick else 5_000)
    only = set(args.only or ["import", "compile", "eval", "agree", "batch"])
    trials = seed_trials()
    info = machine()
    print("eligimatch benchmark —", "quick" if quick else "full", "—", dt.datetime.now().isoformat(timespec="seconds"))
    for k, v in info.items():
        print(f"  {k}: {v}")
    print("  seed trials:", ", ".join(p.stem for p in trials))
    random.seed(20260301)
    bad = 0
    if "import" in only:
        bench_import(reps)
    if "compile" in only:
        bench_compile(trials, reps * 3)
    data = None
    if "eval" in only:
        data = bench_eval(n, reps, trials)
    if "agree" in only:
        import eligimatch

        if data is None:
            data = {"patients": generate.patients(n, seed=1), "trial": eligimatch.load_trial(BENCH_TRIAL)}
        bad = agreement(data["patients"], data["trial"])
        if not quick:
            bad += agreement(generate.patients(20_000, seed=2), data["trial"])
    data = None
    gc.collect()
    if "batch" in only:
        bench_batch(small, large, speed_n, 2, trials)
    info["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n  load average at the end: {info['load_end']}")
    print("\n| section | measure | median (min–max) | target |\n|---|---|---|---|")
    for sec, measure, value, note in ROWS:
        print(f"| {sec} | {measure} | {value} | {note} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": ROWS}, indent=1, ensure_ascii=False))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
