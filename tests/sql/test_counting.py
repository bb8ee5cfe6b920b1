"""How the compiled SQL counts records: ``COUNT(CASE WHEN … THEN 1 END)``, never ``SUM(CASE WHEN … THEN 1 ELSE
0 END)`` tested with ``> 0``.  DuckDB 2.0.1's statistics propagation was seen to fold ``SUM(CASE … ELSE 0 END)
> 0`` (and its ``COALESCE(…, 0) > 0`` form) to FALSE when the condition reads a LEFT JOINed column and the
query also joins a windowed CTE -- a silently wrong answer (see eligimatch.sql._records).  A running sum in a
window (``SUM(…) OVER (…)``: the islands of therapy courses) is not a count tested against zero."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

import eligimatch
from eligimatch.sql import compile_sql

ROOT = Path(__file__).resolve().parents[2]
TRIALS = sorted((ROOT / "examples" / "trials").glob("*.elig")) + [Path(__file__).resolve().parent / "covering.elig"]
_SUM_COUNT = re.compile(r"SUM\(\s*CASE\s+WHEN\b(?:(?!\bTHEN\b|\bCASE\b).)*THEN\s+1\s+ELSE\s+0\s+END\s*\)(?!\s*OVER\b)",
                        re.IGNORECASE | re.DOTALL)


@pytest.mark.parametrize("path", TRIALS, ids=lambda p: p.stem)
def test_no_count_is_a_sum_of_cases(path):
    st = compile_sql(eligimatch.load_trial(path), strict=False)
    query = st.query(dt.date(2026, 3, 1), {"diagnosis": dt.date(2025, 12, 1)})
    found = [m.group(0)[:160] for m in _SUM_COUNT.finditer(query)]
    assert not found, found[:3]


def test_the_pattern_is_found_where_it_is():
    assert _SUM_COUNT.search("SELECT SUM(CASE WHEN r.ins AND r.ans THEN 1 ELSE 0 END) AS n FROM t")
    assert not _SUM_COUNT.search("SELECT COUNT(CASE WHEN r.ins AND r.ans THEN 1 END) AS n FROM t")
    assert not _SUM_COUNT.search("SUM(CASE WHEN m IS NULL THEN 1 ELSE 0 END) OVER (PARTITION BY p)")
    assert not _SUM_COUNT.search("SUM(CASE WHEN a THEN LEAST(x, 0) WHEN b THEN 1 ELSE 0 END)")  # not a count
