"""The documentation site (mkdocs.yml over docs/) builds with warnings as errors.

Needs the [docs] extra (mkdocs, mkdocs-material, mkdocstrings[python]); skipped without it, except in CI
(``CI`` set, as .ci/run does), where a missing tool is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _have_mkdocs() -> bool:
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError:
        return False
    return True


def test_the_documentation_site_builds_strictly(tmp_path):
    if not _have_mkdocs():
        if os.environ.get("CI"):
            pytest.fail("CI needs the [docs] extra (mkdocs, mkdocs-material, mkdocstrings[python])")
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], check=False, cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("load_trial", "MatchResult", "Verdict", "ReasonCode", "Catalogs"):
        assert name in api, name
    assert (tmp_path / "site" / "formats" / "index.html").is_file()


def test_every_page_is_in_the_navigation():
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f": {page.name}" in text, f"{page.name} is not in mkdocs.yml's nav"
