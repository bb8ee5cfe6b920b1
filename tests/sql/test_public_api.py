"""eligimatch.sql's public names: each has its own docstring with an example, and the examples run.

The examples run from the repository root, as written (they build small DuckDB databases in memory).
Those that need a PostgreSQL server or a Spark session are marked ``+SKIP`` and named in
``NEEDS_A_SERVER``: every other public class and function has at least one example that runs here.
"""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

import pytest

pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

from eligimatch import sql

ROOT = Path(__file__).resolve().parents[2]

#: their examples connect to a PostgreSQL server: shown, not run (tests/population runs the real thing)
NEEDS_A_SERVER = {"copy_to_postgres", "write_postgres"}

CALLABLES = [n for n in sql.__all__ if isinstance(getattr(sql, n), type) or callable(getattr(sql, n))]


def test_every_public_name_exists_once():
    assert len(sql.__all__) == len(set(sql.__all__))
    for name in sql.__all__:
        assert hasattr(sql, name), name


@pytest.mark.parametrize("name", CALLABLES)
def test_every_public_class_and_function_has_its_own_docstring_with_an_example(name, monkeypatch):
    obj = getattr(sql, name)
    doc = obj.__doc__ or ""
    inherited = any(doc == (base.__doc__ or "") for base in getattr(obj, "__mro__", ())[1:])
    assert doc.strip() and not doc.startswith(f"{name}(") and not inherited, f"{name}: no docstring of its own"
    assert ">>> " in doc, f"{name}: no example in its docstring"
    monkeypatch.chdir(ROOT)
    globs = vars(sys.modules[obj.__module__]).copy()  # as doctest.testmod runs them: in their module
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name, globs=globs) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
    if name not in NEEDS_A_SERVER:
        assert result.attempted > 0, f"{name}: every example is skipped"
