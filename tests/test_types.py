"""Types are a gate: ``python -m mypy src`` (plain mode, settings in pyproject.toml's [tool.mypy]) reports nothing.

CI runs it here and as its own step in .ci/run.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_is_clean_on_src():
    if importlib.util.find_spec("mypy") is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs mypy (the [test] extra)")
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    proc = subprocess.run([sys.executable, "-m", "mypy", "src"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, check=False)
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert proc.returncode == 0 and not errors, "\n".join(errors[:50]) or proc.stdout[-3000:] + proc.stderr[-3000:]
