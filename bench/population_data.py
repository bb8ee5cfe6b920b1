"""Generated populations in DuckDB, for the population benchmark (``bench/population.py``).

    python bench/population_data.py 1000000 --out bench/.cache/pop-1000000-s1.duckdb --workers 2

Patients ``0 .. N-1`` of ``bench/generate.py`` (seed 1 unless ``--seed``), written into the canonical
tables (:func:`eligimatch.sql.write_duckdb`) by ``--workers`` processes, each writing its own share to
a shard file, then merged into one DuckDB file.  Patient ``i`` is the same whatever N, so a smaller
population is a prefix of a larger one.  The file is written under a temporary name and renamed when
complete; an existing complete file is reused (``--force`` rebuilds it).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if (ROOT / "src" / "eligimatch").is_dir():
    sys.path.insert(0, str(ROOT / "src"))

CHUNK = 20_000


def _write_shard(args: tuple[int, int, int, str]) -> tuple[str, float]:
    start, n, seed, path = args
    import duckdb
    from generate import iter_patients

    from eligimatch.sql import write_duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(path)
    try:
        done = 0
        while done < n:
            k = min(CHUNK, n - done)
            write_duckdb(con, iter_patients(k, seed=seed, start=start + done))
            done += k
    finally:
        con.close()
    return path, time.perf_counter() - t0


def build(n: int, out: Path, *, seed: int = 1, workers: int = 2, force: bool = False, quiet: bool = False) -> Path:
    """The DuckDB file of patients ``0..n-1`` (seed ``seed``) at ``out``, built if absent."""
    import duckdb

    from eligimatch.sql import TABLE_NAMES

    if out.exists() and not force:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    for p in [tmp, *out.parent.glob(out.name + ".shard*")]:
        p.unlink(missing_ok=True)
    per = -(-n // workers)
    jobs = [(i * per, min(per, n - i * per), seed, str(out.with_name(f"{out.name}.shard{i}")))
            for i in range(workers) if i * per < n]
    t0 = time.perf_counter()
    if len(jobs) == 1:
        shards = [_write_shard(jobs[0])]
    else:
        with mp.get_context("spawn").Pool(len(jobs)) as pool:
            shards = pool.map(_write_shard, jobs)
    con = duckdb.connect(str(tmp))
    try:
        for k, (path, _) in enumerate(shards):
            con.execute(f"ATTACH '{path}' AS s{k} (READ_ONLY)")
            for name in TABLE_NAMES:
                if k == 0:
                    con.execute(f"CREATE TABLE {name} AS SELECT * FROM s{k}.{name}")
                else:
                    con.execute(f"INSERT INTO {name} SELECT * FROM s{k}.{name}")
            con.execute(f"DETACH s{k}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    for path, _ in shards:
        Path(path).unlink(missing_ok=True)
    os.replace(tmp, out)
    if not quiet:
        print(f"{n:,} patients written to {out} in {time.perf_counter() - t0:.0f} s "
              f"({workers} workers)", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args(argv)
    build(a.n, a.out, seed=a.seed, workers=a.workers, force=a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
