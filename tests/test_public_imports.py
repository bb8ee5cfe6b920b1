"""Tests use the public API: they import from ``eligimatch`` or a package's ``__init__``, never from a private
module (a ``_name`` module), so that the internals can be reorganised without touching the tests.

Exceptions are named here, each with the reason; the issue allows the registry and conformance tests
(which check every criterion kind's phases and run the cases as data), and a few white-box tests that patch
a private singleton or limit.  Adding to this list needs a reason as good as these.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
BENCH = ROOT / "bench"

#: (file relative to the repository, private module) -> why the test needs it.
ALLOWED = {
    ("bench/population.py", "eligimatch.sql._staged"):
        "white-box: ELIGIMATCH_BENCH_PG_ONE_QUERY replaces PostgreSQL's staged runner by the one-piece query, "
        "to measure what staging changes",
    ("tests/population/test_postgres_backend.py", "eligimatch.sql._staged"):
        "white-box: cuts a compiled trial's query into its steps, to compare the staged run with the one-piece "
        "query and check that no step table is left behind",
    ("tests/test_units.py", "eligimatch.knowledge._units"):
        "white-box: resets the unit registry singleton to prove it is built once under concurrency, and reads "
        "the parse cache's counters",
    ("tests/test_soundness_input.py", "eligimatch.cli._screen"):
        "white-box: interrupts `screen` inside its row sink (D18) and lowers its JSON-lines line limit (D15)",
    ("tests/test_fhir_input_soundness.py", "eligimatch.sources.fhir._bundle"):
        "white-box: lowers the FHIR file size limit to test the bound by bytes read (D15)",
    ("tests/test_screen_workers.py", "eligimatch.screening._screen"):
        "white-box: lowers the small-batch threshold and spies on the worker count screen_many chooses "
        "(the choice itself is not visible in the records), on the blocks of patients screened together, and "
        "on a worker process's collector (off, and run before each chunk)",
    ("tests/test_evidence_modes.py", "eligimatch.engine._result"):
        "white-box: counts the evidence objects the engine builds in each evidence mode",
    ("tests/test_short_circuit.py", "eligimatch.engine._evaluate"):
        "white-box: runs the compiled criteria with and without the short-circuit evaluation context",
    ("tests/sql/test_tables.py", "eligimatch.sql._schema"):
        "runs the module's doctests and compares its Markdown of the tables with docs/sql.md",
    ("tests/sql/test_tables.py", "eligimatch.sql._writer"):
        "runs the module's doctests",
    ("tests/sql/test_compiler.py", "eligimatch.sql._compiler"):
        "white-box, the SQL compiler's registry test: every plan expression kind has a handler in REGISTRY",
    ("tests/sql/test_compiler.py", "eligimatch.sql._sqltext"):
        "white-box: the SQL text of a tolerant comparison with a constant is checked value by value on DuckDB "
        "against eligimatch.knowledge.compare",
    ("tests/omop/omop_writer.py", "eligimatch.sources._codes"):
        "test fixture: writes OMOP rows with the route codes the shared mapping core reads back",
    ("tests/omop/test_omop_views.py", "eligimatch.sources.omop._views"):
        "white-box: the concept of one record as the OMOP views compute it",
}


#: The registry test (every criterion kind implements every phase) and the conformance tests read the
#: internals by design (issue 12).
REGISTRY_AND_CONFORMANCE = ("tests/test_kinds.py",)


def _is_registry_or_conformance(rel: str) -> bool:
    name = Path(rel).name
    return rel in REGISTRY_AND_CONFORMANCE or "registry" in name or "conformance" in name


def _private(module: str) -> bool:
    return any(part.startswith("_") and part != "__init__" for part in module.split("."))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError, ValueError):  # a name inside a module, not a submodule
        return False


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or \
        (isinstance(func, ast.Name) and func.id == "import_module")


def private_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, private module)`` for every import of a private eligimatch module in the file."""
    out: list[tuple[int, str]] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "eligimatch":
            if _private(node.module):
                out.append((node.lineno, node.module))
            for alias in node.names:  # `from eligimatch.knowledge import _units`
                if alias.name.startswith("_") and _is_module(f"{node.module}.{alias.name}"):
                    out.append((node.lineno, f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.args[0].value  # importlib.import_module("eligimatch.x._y"): an import all the same
            if name.split(".")[0] == "eligimatch" and _private(name):
                out.append((node.lineno, name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "eligimatch" and _private(alias.name):
                    out.append((node.lineno, alias.name))
    return out


def _files() -> list[Path]:
    return sorted([*TESTS.rglob("*.py"), *BENCH.rglob("*.py")])


def test_tests_and_benchmarks_import_only_public_names():
    bad = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        if _is_registry_or_conformance(rel):
            continue
        for line, module in private_imports(path):
            if (rel, module) not in ALLOWED:
                bad.append(f"{rel}:{line}: imports the private module {module}; import from the package instead")
    assert not bad, "\n".join(bad)


def test_every_allowed_exception_is_still_needed():
    used = {(path.relative_to(ROOT).as_posix(), module) for path in _files() for _, module in private_imports(path)}
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"no longer needed, remove from ALLOWED: {stale}"


@pytest.mark.parametrize("source, expected", [
    ("from eligimatch.knowledge._units import parse_unit", ["eligimatch.knowledge._units"]),
    ("from eligimatch.knowledge import _units as units", ["eligimatch.knowledge._units"]),
    ("import eligimatch.engine._evaluate", ["eligimatch.engine._evaluate"]),
    ("from eligimatch.knowledge import parse_unit", []),
    ("from eligimatch import _limits", ["eligimatch._limits"]),
    ("import eligimatch.language.ast as A", []),
    ("import importlib\nm = importlib.import_module('eligimatch.screening._screen')", ["eligimatch.screening._screen"]),
    ("import importlib\nm = importlib.import_module('eligimatch.screening')", []),
])
def test_the_scan_sees_every_form_of_import(tmp_path, source, expected):
    f = tmp_path / "t.py"
    f.write_text(source + "\n")
    assert [m for _, m in private_imports(f)] == expected
