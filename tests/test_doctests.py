"""The examples in the docstrings of the main entry points run, as written (from the repository root)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import eligimatch

ROOT = Path(__file__).resolve().parent.parent

MODULES = ["eligimatch.engine._compile", "eligimatch.sources._patient", "eligimatch.engine._matching", "eligimatch.screening._screen", "eligimatch.screening._results",
           "eligimatch.engine._result", "eligimatch.engine._reasons", "eligimatch._schemas", "eligimatch.knowledge._catalogs",
           "eligimatch.engine._trial", "eligimatch.knowledge._facts", "eligimatch.language",
           "eligimatch.errors", "eligimatch._limits", "eligimatch.engine._evaluate", "eligimatch.screening._decisions",
           "eligimatch.knowledge._names"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name files under examples/
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             raise_on_error=False, verbose=False)
    assert result.attempted > 0, f"{name}: no examples found"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} doctest examples failed"


def test_the_entry_points_have_examples():
    for fn in (eligimatch.load_trial, eligimatch.load_patient, eligimatch.match, eligimatch.screen,
               eligimatch.compile_trial, eligimatch.MatchResult, eligimatch.Catalogs):
        assert ">>> " in (fn.__doc__ or ""), fn.__qualname__


def test_every_public_name_has_its_own_docstring():
    for name in eligimatch.__all__:
        obj = getattr(eligimatch, name)
        doc = obj.__doc__ or ""
        # not the docstring a dataclass or pydantic writes, nor the one of a base class
        inherited = any(doc == (base.__doc__ or "") for base in getattr(obj, "__mro__", ())[1:])
        assert doc.strip() and not doc.startswith(f"{name}(") and not inherited, name


def test_every_public_class_and_function_has_an_example():
    # issue 19: "every public name has a docstring with an example that is run as a doctest"; the examples
    # run through MODULES above (a constant such as SCHEMA_VERSION has no docstring of its own)
    missing = []
    for name in eligimatch.__all__:
        obj = getattr(eligimatch, name)
        if not (isinstance(obj, type) or callable(obj)):
            continue
        if ">>> " not in (obj.__doc__ or ""):
            missing.append(name)
        module = getattr(obj, "__module__", "")
        assert module in MODULES or module == "eligimatch", f"{name}: its module {module} is not in MODULES"
    assert not missing, f"public names without an example: {missing}"
