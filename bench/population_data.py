"""Generated populations in DuckDB, for the population benchmark (``bench/population.py``).

    python bench/population_data.py 1000000 --out /work/cache/pop-1000000-s1.duckdb --workers 2
    python bench/population_data.py --check 2000 --out /work/cache/pop-1000000-s1.duckdb

Patients ``0 .. N-1`` of ``bench/generate.py`` (seed 1 unless ``--seed``), as the canonical tables.
Patient ``i`` is the same whatever N, so a smaller population is a prefix of a larger one.

How it is fast and still the same patients: each of ``--workers`` processes takes chunks of patient
numbers, builds each patient exactly as before (``generate.patient_dict`` -> ``Patient`` validation ->
:func:`eligimatch.sql.patient_rows`, the function ``write_duckdb`` uses), with the catalog look-ups
memoised (the generator uses a few hundred spellings), and appends the rows to one CSV file per table
and chunk (Python's C ``csv`` writer: no per-row JSON, no database round trip).  DuckDB then reads
every chunk of a table at once (its parallel CSV reader, with the declared column types) into the
file.  Every non-number is quoted (Python's ``csv.QUOTE_NONNUMERIC``) and NULL is ``\\N`` (a text
``\\N`` is refused), so an empty text and a NULL stay apart; doubles are written in their shortest exact form (``repr``), so a value read back is the same
number.  ``--check K`` proves it: K patients spread over the file are written again with
``write_duckdb`` and every table's rows of those patients must be identical.

The file is written under a temporary name and renamed when complete; an existing complete file is
reused (``--force`` rebuilds it).  Keep it outside the repository (default: ``$ELIGIMATCH_CACHE`` or
``/work/cache`` when it exists, else ``bench/.cache``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if (ROOT / "src" / "eligimatch").is_dir():
    sys.path.insert(0, str(ROOT / "src"))

CHUNK = 25_000


def default_cache() -> Path:
    env = os.environ.get("ELIGIMATCH_CACHE")
    if env:
        return Path(env)
    return Path("/work/cache") if Path("/work/cache").is_dir() else HERE / ".cache"


def schema_tag() -> str:
    """A short digest of the canonical tables' schema: part of a cached file's name, so that a file written
    under an older schema (a column added since) is never read as if it had the current one."""
    import hashlib

    from eligimatch.sql import ddl

    return hashlib.sha1("\n".join(ddl("duckdb")).encode()).hexdigest()[:8]


def cached_path(n: int, seed: int = 1, cache: Path | None = None) -> Path:
    """Where the population of ``n`` patients (seed ``seed``) under the current schema is cached."""
    return (cache or default_cache()) / f"pop-{n}-s{seed}-{schema_tag()}.duckdb"


class _Memo:
    """A catalog whose ``resolve`` and ``is_a`` are memoised (pure functions of their arguments)."""

    def __init__(self, catalog: Any):
        self._catalog = catalog
        self.resolve = lru_cache(maxsize=None)(catalog.resolve)
        if hasattr(catalog, "is_a"):
            self.is_a = lru_cache(maxsize=None)(catalog.is_a)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


class _MemoCatalogs:
    """The default catalogs with memoised look-ups, for :func:`eligimatch.sql.patient_rows`."""

    def __init__(self, cats: Any):
        self._cats = cats
        self.analytes = _Memo(cats.analytes)
        self.conditions = _Memo(cats.conditions)
        self.drugs = _Memo(cats.drugs)
        self.procedures = _Memo(cats.procedures)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cats, name)


_NULL = "\\N"


def _cell(v: Any) -> Any:
    if v is None:
        return _NULL  # Python's csv quotes every non-number, None included: NULL is the text \N
    if v == _NULL:
        raise ValueError("a text value \\N would read back as NULL")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return v


def _write_chunk(args: tuple[int, int, int, str]) -> tuple[int, float]:
    """Patients ``start .. start+n-1`` as CSV files ``<folder>/<table>/<start>.csv``."""
    start, n, seed, folder = args
    from generate import patient_dict

    from eligimatch import Patient
    from eligimatch.knowledge import Catalogs
    from eligimatch.sql import TABLE_NAMES, patient_rows

    t0 = time.process_time()
    cats = _MemoCatalogs(Catalogs.default())
    handles = {}
    writers = {}
    for name in TABLE_NAMES:
        path = Path(folder) / name / f"{start:09d}.csv"
        handles[name] = fh = open(path.with_suffix(".partial"), "w", newline="", encoding="utf-8")
        writers[name] = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    try:
        for i in range(start, start + n):
            p = Patient.model_validate(patient_dict(i, seed))
            for name, rows in patient_rows(p, cats).items():  # type: ignore[arg-type]
                if rows:
                    writers[name].writerows([_cell(v) for v in row] for row in rows)
    finally:
        for fh in handles.values():
            fh.close()
    for name in TABLE_NAMES:
        path = Path(folder) / name / f"{start:09d}.csv"
        path.with_suffix(".partial").rename(path)
    return n, time.process_time() - t0


_DUCK = {"TEXT": "VARCHAR", "DATE": "DATE", "TIME": "TIME", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT",
         "INTEGER": "INTEGER", "BOOLEAN": "BOOLEAN"}


def _load(con: Any, folder: Path) -> None:
    from eligimatch.sql import TABLES, ddl

    for stmt in ddl("duckdb"):
        con.execute(stmt)
    for t in TABLES:
        files = sorted(f for f in (folder / t.name).glob("*.csv") if f.stat().st_size)
        if not files:
            continue
        cols = ", ".join(f"'{c.name}': '{_DUCK[c.type]}'" for c in t.columns)
        listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con.execute(f"INSERT INTO {t.name} SELECT * FROM read_csv([{listing}], auto_detect = false, header = false, delim = ',', "
                    f"quote = '\"', escape = '\"', nullstr = '\\N', columns = {{{cols}}})")


def build(n: int, out: Path, *, seed: int = 1, workers: int = 2, force: bool = False, quiet: bool = False) -> Path:
    """The DuckDB file of patients ``0..n-1`` (seed ``seed``) at ``out``, built if absent."""
    import duckdb

    from eligimatch.sql import TABLE_NAMES

    if out.exists() and not force:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="eligimatch-pop-", dir=out.parent))
    try:
        for name in TABLE_NAMES:
            (staging / name).mkdir()
        jobs = [(s, min(CHUNK, n - s), seed, str(staging)) for s in range(0, n, CHUNK)]
        t0 = time.perf_counter()
        cpu = 0.0
        if workers <= 1:
            for j in jobs:
                cpu += _write_chunk(j)[1]
        else:
            with mp.get_context("spawn").Pool(workers) as pool:
                done = 0
                for k, c in pool.imap_unordered(_write_chunk, jobs):
                    done += k
                    cpu += c
                    if not quiet:
                        print(f"  {done:,} / {n:,} patients generated ({time.perf_counter() - t0:.0f} s)",
                              file=sys.stderr, flush=True)
        gen = time.perf_counter() - t0
        t1 = time.perf_counter()
        con = duckdb.connect(str(tmp))
        try:
            _load(con, staging)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        load = time.perf_counter() - t1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    os.replace(tmp, out)
    if not quiet:
        print(f"{n:,} patients written to {out} in {gen + load:.0f} s: generated in {gen:.0f} s "
              f"({cpu:.0f} s CPU, {workers} workers), loaded by DuckDB in {load:.0f} s", file=sys.stderr)
    return out


def check(db: Path, k: int, *, seed: int = 1) -> int:
    """Write ``k`` patients spread over ``db`` again with :func:`eligimatch.sql.write_duckdb` and compare
    every table's rows; the number of differing rows (0 when the file holds the same patients)."""
    import duckdb
    from generate import iter_patients

    from eligimatch.sql import TABLE_NAMES, write_duckdb

    con = duckdb.connect(str(db), read_only=True)
    total = con.execute("SELECT COUNT(*) FROM patients").fetchone()[0]
    step = max(1, total // k)
    ids = list(range(0, total, step))[:k]
    ref = duckdb.connect()
    write_duckdb(ref, (p for i in ids for p in iter_patients(1, seed=seed, start=i)))
    ref.execute(f"ATTACH '{db}' AS big (READ_ONLY)")
    ref.execute("CREATE TEMP TABLE wanted AS SELECT patient_id FROM patients")
    bad = 0
    for name in TABLE_NAMES:
        mine = f"SELECT * FROM big.main.{name} WHERE patient_id IN (SELECT patient_id FROM wanted)"
        theirs = f"SELECT * FROM main.{name}"
        n = ref.execute(f"SELECT COUNT(*) FROM (({mine}) EXCEPT ALL ({theirs})) UNION ALL "
                        f"SELECT COUNT(*) FROM (({theirs}) EXCEPT ALL ({mine}))").fetchall()
        diff = sum(r[0] for r in n)
        rows = ref.execute(f"SELECT COUNT(*) FROM ({theirs})").fetchone()[0]
        print(f"  {name}: {rows:,} rows of {len(ids):,} patients, {diff} differing", file=sys.stderr)
        bad += diff
    con.close()
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, nargs="?")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--check", type=int, metavar="K", help="compare K patients of --out with write_duckdb's rows")
    a = ap.parse_args(argv)
    if a.n is not None:
        build(a.n, a.out, seed=a.seed, workers=a.workers, force=a.force)
    if a.check:
        bad = check(a.out, a.check, seed=a.seed)
        print(f"check: {bad} differing rows", file=sys.stderr)
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
