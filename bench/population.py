"""The population benchmark (issue 16): the five seed trials on generated patients stored in a database.

    nice -n 19 python bench/population.py                  # 1M patients in DuckDB, Spark and PostgreSQL on
                                                           # smaller N, row engine sample, agreement on 100,000
    python bench/population.py --quick                     # 20,000 patients, agreement on 5,000
    python bench/population.py --patients 200000 --skip spark,postgres

What it measures, each backend in a fresh child process (so its peak memory is its own):

* **DuckDB**: the five trials (examples/trials/*.elig) compiled to SQL and run on ``--patients``
  patients stored in a DuckDB file (``bench/population_data.py`` writes it once, cached outside the
  repository: ``$ELIGIMATCH_CACHE``, else ``/work/cache``, else ``bench/.cache/``): wall and CPU time
  from the open database to the counts by trial and verdict, for all five; peak memory (max RSS of the process, DuckDB included); the same at smaller prefixes of the
  population (how the cost grows with patients) and per trial (how it grows with criteria);
* **Spark** ``local[2]`` on ``--spark-patients`` (the canonical tables as Parquet): wall time from
  the registered tables to the counts; peak memory of the driver and its JVM;
* **PostgreSQL** (a throw-away server, tests/population/pgserver.py) on ``--pg-patients``: the
  tables copied in and analysed (not timed), then the same wall time; the server's memory sampled.
  Each trial's query runs in steps, its common table expressions as analysed temporary tables
  (``eligimatch.sql._staged``); ``ELIGIMATCH_BENCH_PG_ONE_QUERY=1`` runs each as one query instead,
  for the comparison (quadratic in the patients: keep ``--pg-patients`` small with it);
* **the row engine**: ``eligimatch.match`` (verdicts and per-criterion outcomes) on a sample of
  ``--row-sample`` patients x 5 trials, CPU time per pair, extrapolated to ``--patients``;
* **agreement**: for each of the first ``--agree`` patients and each trial, the verdict and every
  criterion's outcome from the SQL run (DuckDB) and from the row engine must be equal; the number
  of disagreements is printed (and the exit status is 1 when it is not 0).

Wall clock on a shared machine measures the queue as much as the work: every run also reports CPU time
(DuckDB's threads, Spark's driver JVM, PostgreSQL's backend process).  Read them as orders of magnitude
and ratios.  Nothing
here asserts a timing; the tests run the agreement small (tests/population/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
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

AS_OF = dt.date(2026, 3, 1)
#: session settings of the PostgreSQL run: memory for the hash aggregations and joins of an analytic query
#: (the default 4 MB makes PostgreSQL sort or spill them), as a DBA sets it for reporting sessions
#: Spark settings of the benchmark's session beside eligimatch.spark.local_session's own (``k=v;k=v``)
SPARK_CONF = dict(kv.split("=", 1) for kv in os.environ.get("ELIGIMATCH_BENCH_SPARK", "").split(";") if "=" in kv)
PG_SETTINGS = [s for s in os.environ.get("ELIGIMATCH_BENCH_PG", "SET work_mem = '256MB'").split(";") if s.strip()]
TRIALS = [Path(p) for p in os.environ["ELIGIMATCH_BENCH_TRIALS"].split(os.pathsep)] \
    if os.environ.get("ELIGIMATCH_BENCH_TRIALS") else sorted((ROOT / "examples" / "trials").glob("*.elig"))


def _cache() -> Path:
    from population_data import default_cache

    return default_cache()


def _cpu_s() -> float:
    """CPU time of this process, every thread (DuckDB's included), user + system."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _proc_cpu_s(pid: int) -> float:
    """CPU time of process ``pid`` so far (Linux /proc), user + system; 0 when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _trials() -> list[Any]:
    import eligimatch

    return [eligimatch.load_trial(p) for p in TRIALS]


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def _prefix_view(con: Any, n: int | None, total: int, start: int = 0) -> None:
    """Temp views named as the canonical tables, holding patients ``start .. n-1`` (ids sort in order)."""
    from eligimatch.sql import TABLE_NAMES

    if (n is None or n >= total) and start == 0:
        for name in TABLE_NAMES:
            con.execute(f"DROP VIEW IF EXISTS temp.{name}")
        return
    db = con.execute("SELECT current_database()").fetchone()[0]  # temp objects are in schema main too
    hi = f"patient_id < 'S1-{n:07d}'" if n is not None and n < total else "TRUE"
    lo = f"patient_id >= 'S1-{start:07d}'" if start else "TRUE"
    for name in TABLE_NAMES:
        con.execute(f'CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM "{db}".main.{name} WHERE {lo} AND {hi}')


def _screen(backend: Any, trials: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run every trial on ``backend`` as :func:`eligimatch.sql.screen_population` does (compile, mapping
    tables, the query's rows kept in the database, counts by verdict); a trial the SQL backend does not
    express whole runs its expressible criteria (no verdict), and says so."""
    from eligimatch.sql import compile_sql, prepare

    counts: dict[str, Any] = {}
    coverage: dict[str, Any] = {}
    for k, t in enumerate(trials):
        st = compile_sql(t, backend.dialect, strict=False)
        coverage[t.id] = {"criteria": len(st.criteria), "expressible": sum(c.expressible for c in st.criteria)}
        prepare(backend, st, AS_OF)
        table = f"bench_run_{k}"
        backend.materialize(table, st.query(AS_OF))
        if st.complete:
            counts[t.id] = {str(v): int(n) for v, n in backend.rows(f"SELECT verdict, COUNT(*) FROM {table} GROUP BY 1")}
        else:
            counts[t.id] = {"rows (no verdict: criteria missing)": int(backend.rows(f"SELECT COUNT(*) FROM {table}")[0][0])}
        backend.drop(table)
    return counts, coverage


def _patients_of(counts: dict[str, Any]) -> int:
    return sum(next(iter(counts.values())).values())


# ---- child measurements ----------------------------------------------------------------------------

def measure_duckdb(db: str, n: int | None, total: int, per_trial: bool) -> dict[str, Any]:
    import duckdb

    from eligimatch.sql import connect_backend

    trials = _trials()
    con = duckdb.connect(db, read_only=True)
    con.execute("SET enable_progress_bar = false")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    _prefix_view(con, n, total)
    out: dict[str, Any] = {"backend": "duckdb", "threads": threads}
    backend = connect_backend(con)
    t0, c0 = time.perf_counter(), _cpu_s()
    counts, coverage = _screen(backend, trials)
    out["wall_s"], out["cpu_s"] = time.perf_counter() - t0, _cpu_s() - c0
    out["counts"], out["coverage"] = counts, coverage
    out["patients"] = _patients_of(counts)
    if per_trial:
        out["per_trial"] = {}
        for t in trials:
            t0, c0 = time.perf_counter(), _cpu_s()
            _, cov = _screen(backend, [t])
            out["per_trial"][t.id] = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu_s() - c0,
                                      "criteria": len(t.all_criteria()),
                                      "expressible": cov[t.id]["expressible"]}
    out["peak_mb"] = _peak_mb()
    return out


def measure_spark(folder: str) -> dict[str, Any]:
    import eligimatch.spark as es
    from eligimatch.sql import connect_backend

    trials = _trials()
    t_start = time.perf_counter()
    conf = {"spark.driver.memory": "6g", **SPARK_CONF}
    spark = es.local_session("local[2]", "eligimatch-bench", conf)
    spark.sparkContext.setLogLevel("ERROR")
    start_s = time.perf_counter() - t_start
    es.tables(spark, folder)
    backend = connect_backend(spark)
    jvm = int(spark.sparkContext._jvm.ProcessHandle.current().pid())  # the driver JVM: its executors' threads
    t0 = time.perf_counter()
    counts, _ = _screen(backend, trials)
    cold = time.perf_counter() - t0
    # again in the same session: Spark plans and generates code for each new query shape the first time
    t0, c0 = time.perf_counter(), _proc_cpu_s(jvm) + _cpu_s()
    again, _ = _screen(backend, trials)
    wall, cpu = time.perf_counter() - t0, _proc_cpu_s(jvm) + _cpu_s() - c0
    assert again == counts
    spark.stop()
    return {"backend": "spark local[2]", "conf": conf, "wall_s": wall, "cpu_s": cpu, "cold_s": cold, "session_start_s": start_s,
            "counts": counts, "patients": _patients_of(counts), "peak_mb": _peak_mb()}


def measure_postgres(db: str, n: int, total: int) -> dict[str, Any]:
    import threading

    import duckdb
    import psycopg

    sys.path.insert(0, str(ROOT / "tests" / "population"))
    from pgserver import PostgresServer

    from eligimatch.sql import connect_backend, copy_to_postgres

    trials = _trials()
    if os.environ.get("ELIGIMATCH_BENCH_PG_ONE_QUERY"):  # the comparison: each trial as one query, unstaged
        import contextlib

        from eligimatch.sql import _staged

        _staged.staged = contextlib.contextmanager(lambda conn, sql: iter([sql]))  # as before eligimatch.sql._staged
    duck = duckdb.connect(db, read_only=True)
    _prefix_view(duck, n, total)
    server_peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            try:
                out = subprocess.run(["ps", "-u", os.environ.get("ELIGIMATCH_PG_USER", "postgres"), "-o", "rss="],
                                     check=False, capture_output=True, text=True, timeout=5).stdout
                server_peak[0] = max(server_peak[0], sum(int(x) for x in out.split()) / 1024.0)
            except (OSError, subprocess.SubprocessError, ValueError):
                pass

    with PostgresServer.start() as server, psycopg.connect(server.conninfo) as conn:
        t0 = time.perf_counter()
        copy_to_postgres(duck, conn)
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.commit()
        load_s = time.perf_counter() - t0
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        backend = connect_backend(conn)
        for setting in PG_SETTINGS:
            backend.execute(setting)
        pid = int(backend.rows("SELECT pg_backend_pid()")[0][0])
        t0, c0 = time.perf_counter(), _proc_cpu_s(pid)
        counts, _ = _screen(backend, trials)
        wall, cpu = time.perf_counter() - t0, _proc_cpu_s(pid)
        stop.set()
        sampler.join()
    return {"backend": "postgresql", "wall_s": wall, "cpu_s": cpu - c0, "settings": PG_SETTINGS,
            "load_s": load_s, "counts": counts,
            "patients": _patients_of(counts), "peak_mb": _peak_mb(), "server_peak_mb": server_peak[0]}


def measure_rows(sample: int, seed: int = 1) -> dict[str, Any]:
    from generate import patients

    import eligimatch

    trials = _trials()
    ps = patients(sample, seed=seed)
    t0 = time.process_time()
    w0 = time.perf_counter()
    for p in ps:
        for t in trials:
            eligimatch.match(p, t, as_of=AS_OF)
    cpu = time.process_time() - t0
    return {"backend": "row engine", "patients": sample, "pairs": sample * len(trials), "cpu_s": cpu,
            "wall_s": time.perf_counter() - w0, "us_per_pair": 1e6 * cpu / (sample * len(trials)),
            "peak_mb": _peak_mb()}


def measure_agreement(db: str, n: int, seed: int = 1, chunk: int = 10_000) -> dict[str, Any]:
    """The SQL backend's agreement check (:func:`eligimatch.sql.disagreements`: the verdict and
    every expressible criterion's outcome, row engine against SQL) on patients ``0 .. n-1`` of the DuckDB
    file, ``chunk`` patients at a time (temp views restrict the tables to the chunk)."""
    import duckdb
    from generate import iter_patients

    from eligimatch.sql import compile_sql, disagreements

    trials = _trials()
    con = duckdb.connect(db, read_only=True)
    con.execute("SET enable_progress_bar = false")
    total = con.execute("SELECT count(*) FROM patients").fetchone()[0]
    compiled = [compile_sql(t, "duckdb", strict=False) for t in trials]
    per_patient = sum(sum(c.expressible for c in st.criteria) + (1 if st.complete else 0) for st in compiled)
    found: list[Any] = []
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        _prefix_view(con, start + k, total, start)
        patients = list(iter_patients(k, seed=seed, start=start))
        found += disagreements(con, trials, patients, AS_OF, None, strict=False)
    _prefix_view(con, None, total)
    return {"backend": "agreement", "patients": n, "pairs": n * len(trials), "disagreements": len(found),
            "examples": [str(d) for d in found[:10]], "values_compared": n * per_patient,
            "complete_trials": sum(st.complete for st in compiled), "wall_s": time.perf_counter() - t0}


# ---- driver -----------------------------------------------------------------------------------------

def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "_child", *args], check=False, capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _export_parquet(db: str, n: int, total: int, folder: Path) -> None:
    import duckdb

    from eligimatch.sql import TABLES

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(db, read_only=True)
    con.execute("SET enable_progress_bar = false")
    _prefix_view(con, n, total)
    for t in TABLES:
        cols = ", ".join(f'CAST("{c.name}" AS VARCHAR) AS "{c.name}"' if c.type == "TIME" else f'"{c.name}"'
                         for c in t.columns)
        con.execute(f"COPY (SELECT {cols} FROM {t.name}) TO '{folder / (t.name + '.parquet')}' (FORMAT parquet)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_child":
        kind, rest = argv[1], argv[2:]
        if kind == "duckdb":
            res = measure_duckdb(rest[0], int(rest[1]) or None, int(rest[2]), rest[3] == "1")
        elif kind == "spark":
            res = measure_spark(rest[0])
        elif kind == "postgres":
            res = measure_postgres(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "rows":
            res = measure_rows(int(rest[0]))
        else:
            res = measure_agreement(rest[0], int(rest[1]))
        print(json.dumps(res))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int)
    ap.add_argument("--spark-patients", type=int)
    ap.add_argument("--pg-patients", type=int)
    ap.add_argument("--row-sample", type=int)
    ap.add_argument("--agree", type=int)
    ap.add_argument("--scaling", help="smaller prefixes timed on DuckDB (comma-separated)")
    ap.add_argument("--db", type=Path, help="the DuckDB file of generated patients (default: built in bench/.cache)")
    ap.add_argument("--skip", default="", help="comma-separated: duckdb, spark, postgres, rows, agree, scaling")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    a = ap.parse_args(argv)
    defaults = ({"patients": 20_000, "spark_patients": 5_000, "pg_patients": 5_000, "row_sample": 200,
                 "agree": 5_000, "scaling": "5000,10000"} if a.quick else
                {"patients": 1_000_000, "spark_patients": 200_000, "pg_patients": 200_000, "row_sample": 1_000,
                 "agree": 100_000, "scaling": "100000,250000,500000"})
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    skip = set(filter(None, a.skip.split(",")))
    from population_data import cached_path, schema_tag

    db = a.db or cached_path(a.patients, cache=_cache())
    if not db.exists():
        import population_data

        population_data.build(a.patients, db)
    import duckdb

    total = duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM patients").fetchone()[0]
    n = min(a.patients, total)
    results: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                               "cpus": os.cpu_count(), "db": str(db), "patients": n}
    print(f"population benchmark: {n:,} patients in {db}, {len(TRIALS)} trials, {os.cpu_count()} CPUs",
          file=sys.stderr)
    if "duckdb" not in skip:
        results["duckdb"] = _child("duckdb", str(db), str(n), str(total), "1")
        _report("DuckDB", results["duckdb"])
    if "scaling" not in skip:
        results["scaling"] = [_child("duckdb", str(db), str(k), str(total), "0")
                              for k in map(int, a.scaling.split(",")) if k < n]
        for r in results["scaling"]:
            _report(f"DuckDB {r['patients']:,}", r)
    if "rows" not in skip:
        results["rows"] = _child("rows", str(a.row_sample))
        r = results["rows"]
        r["extrapolated_s"] = r["us_per_pair"] * 1e-6 * n * len(TRIALS)
        vs = (f" ({r['extrapolated_s'] / results['duckdb']['wall_s']:.0f}x DuckDB's wall time)"
              if "duckdb" in results else "")
        print(f"row engine: {r['us_per_pair']:.0f} µs CPU per pair on {r['pairs']:,} pairs; {n:,} x {len(TRIALS)} "
              f"trials extrapolated: {r['extrapolated_s'] / 60:.0f} min on one core{vs}", file=sys.stderr)
    if "spark" not in skip:
        folder = _cache() / f"parquet-{a.spark_patients}-{schema_tag()}"
        if not (folder / "patients.parquet").exists():
            _export_parquet(str(db), a.spark_patients, total, folder)
        results["spark"] = _child("spark", str(folder))
        _report("Spark local[2]", results["spark"])
    if "postgres" not in skip:
        results["postgres"] = _child("postgres", str(db), str(a.pg_patients), str(total))
        _report("PostgreSQL", results["postgres"])
    status = 0
    if "agree" not in skip:
        results["agreement"] = _child("agree", str(db), str(min(a.agree, n)))
        g = results["agreement"]
        print(f"agreement: {g['disagreements']} disagreements on {g['patients']:,} patients x {len(TRIALS)} trials "
              f"({g['pairs']:,} pairs, {g['values_compared']:,} verdicts and criterion outcomes compared) in {g['wall_s']:.0f} s", file=sys.stderr)
        for e in g["examples"]:
            print("  " + e, file=sys.stderr)
        status = 1 if g["disagreements"] else 0
    print(json.dumps(results, indent=1))
    if a.json:
        a.json.write_text(json.dumps(results, indent=1) + "\n")
    return status


def _report(name: str, r: dict[str, Any]) -> None:
    pairs = r["patients"] * len(TRIALS)
    extra = ""
    if "per_trial" in r:
        extra = "; per trial: " + ", ".join(f"{k} {v['wall_s']:.1f} s wall, {v['cpu_s']:.1f} s CPU "
                                            f"({v['expressible']} of {v['criteria']} criteria)"
                                            for k, v in r["per_trial"].items())
    if "cold_s" in r:
        extra += f"; first run in the session {r['cold_s']:.1f} s, session start {r['session_start_s']:.1f} s"
    if "load_s" in r:
        extra += f"; copying the tables in took {r['load_s']:.1f} s; server peak {r['server_peak_mb']:.0f} MB"
    cpu = f", {r['cpu_s']:.1f} s CPU" if r.get("cpu_s") is not None else ""
    print(f"{name}: {r['patients']:,} patients x {len(TRIALS)} trials in {r['wall_s']:.1f} s wall{cpu} "
          f"({pairs / r['wall_s']:,.0f} pairs/s), peak {r['peak_mb']:.0f} MB{extra}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
