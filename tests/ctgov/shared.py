"""Where the shared corpora are: ``<repo>/../shared`` (CI puts ``shared/`` beside the clone),
or ``$ELIGIMATCH_SHARED``.  Tests that need them skip with a message when absent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(os.environ.get("ELIGIMATCH_SHARED", Path(__file__).resolve().parents[3] / "shared"))
CTGOV = SHARED / "corpora" / "ctgov" / "aact"
CRITERIA = SHARED / "corpora" / "criteria"
SEEDS = SHARED / "seeds"


def need(path: Path) -> Path:
    """``path``, or skip the test saying what is missing."""
    if not path.exists():
        pytest.skip(f"shared corpus not found at {path} (set ELIGIMATCH_SHARED or put shared/ beside the repo)")
    return path


def corpus_records() -> list[Any]:
    """Every registry record file of the corpus, to parametrize a test with; when the corpus is absent, one
    parameter that skips saying so (an empty list would skip with pytest's "got empty parameter set")."""
    if not CTGOV.exists():
        return [pytest.param(None, id="corpus-absent", marks=pytest.mark.skip(
            reason=f"shared corpus not found at {CTGOV} (set ELIGIMATCH_SHARED or put shared/ beside the repo)"))]
    return sorted(p for p in CTGOV.glob("*/*") if p.suffix in (".json", ".xml"))
