"""Every criterion value of the five seed trials on the first N patients: PostgreSQL against DuckDB.

    python bench/population_pg_compare.py 10000 [DB]     # DB: a population file (bench/population_data.py)

Copies the patients into a throw-away PostgreSQL server (tests/population/pgserver.py), runs each trial there
(staged: eligimatch.sql._staged) and in DuckDB, and counts the values (patient id, every expressible criterion,
the verdict) that differ; exit status 1 when any does.
"""
import datetime as dt
import glob
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "population"), str(ROOT / "bench"), str(ROOT / "src")]
import duckdb
import population as B
import psycopg
from pgserver import PostgresServer
from population_data import cached_path

import eligimatch
from eligimatch.sql import compile_sql, connect_backend, copy_to_postgres, prepare

n = int(sys.argv[1])
db = sys.argv[2] if len(sys.argv) > 2 else str(cached_path(100_000))
duck = duckdb.connect(db, read_only=True)
total = duck.execute("SELECT count(*) FROM patients").fetchone()[0]
B._prefix_view(duck, n, total)
AS = dt.date(2026, 3, 1)
trials = [eligimatch.load_trial(f) for f in sorted(glob.glob(str(ROOT / "examples" / "trials" / "*.elig")))]
dbe = connect_backend(duck)
values = diffs = 0
with PostgresServer.start() as server, psycopg.connect(server.conninfo) as conn:
    copy_to_postgres(duck, conn)
    pbe = connect_backend(conn)
    for t in trials:
        rows = {}
        for be in (dbe, pbe):
            st = compile_sql(t, be.dialect, strict=False)
            prepare(be, st, AS)
            be.materialize("cmp_r", st.query(AS))
            names, got = be.columns("SELECT * FROM cmp_r ORDER BY patient_id")
            rows[be.dialect] = (names, got)
        (dn, dr), (pn, pr) = rows["duckdb"], rows["postgres"]
        assert dn == pn, (dn, pn)
        assert len(dr) == len(pr) == n
        for a, b in zip(dr, pr):
            values += len(a)
            diffs += sum(1 for x, y in zip(a, b) if x != y)
        print(t.id, len(dn) - 1, "columns", flush=True)
print(f"{n} patients x {len(trials)} trials: {values} values compared, {diffs} differing")
sys.exit(1 if diffs else 0)
