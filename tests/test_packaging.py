"""The wheel ships the grammar and the catalogs, and an installed copy finds them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import eligimatch
from eligimatch.language import grammar_path as _grammar_path

ROOT = Path(__file__).resolve().parent.parent


def test_public_surface():
    for name in eligimatch.__all__:
        assert hasattr(eligimatch, name), name
    for name in ("load_trial", "compile_trial", "match", "Patient", "Verdict", "MatchResult"):
        assert name in eligimatch.__all__


def test_grammar_found_from_the_source_tree():
    path = _grammar_path()
    assert path is not None and path.name == "criteria.lark"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_wheel_contains_grammar_catalogs_and_py_typed(tmp_path):
    build = pytest.importorskip("build")
    del build
    out = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path),
                          str(ROOT)], capture_output=True, text=True)
    if out.returncode != 0 and "hatchling" in (out.stderr + out.stdout):
        pytest.skip("hatchling is not installed for a no-isolation build")
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("eligimatch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("eligimatch/grammar/criteria.lark", "eligimatch/py.typed", "eligimatch/catalog/facts.toml",
                     "eligimatch/catalog/analytes.toml", "eligimatch/catalog/drugs.toml",
                     "eligimatch/catalog/conditions.toml", "eligimatch/catalog/procedures.toml",
                     "eligimatch/service/static/index.html", "eligimatch/service/static/app.js",
                     "eligimatch/service/static/style.css"):
        assert required in names, required
    # an installed wheel (unpacked apart from the source tree) compiles a trial using the packaged grammar
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = ("import eligimatch, eligimatch.language._parser as p; "
            "assert 'site' in str(p._grammar_path()), p._grammar_path(); "
            "t = eligimatch.compile_trial('inclusion:\\n - I1 \"x\": age >= 18 years\\n'); print(len(t.criteria))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "1"
