"""Every exception a user can meet is defined in eligimatch.errors, and every reason code in a result is a member
of the documented enum eligimatch.ReasonCode."""

from __future__ import annotations

import ast
from pathlib import Path

import eligimatch
from eligimatch import ReasonCode, errors
from eligimatch.engine import REASON_DESCRIPTIONS

SRC = Path(__file__).resolve().parent.parent / "src" / "eligimatch"
_EXCEPTION_NAMES = {name for name in dir(errors) if isinstance(getattr(errors, name), type)
                    and issubclass(getattr(errors, name), BaseException)}
_BUILTIN_EXCEPTIONS = {name for name in dir(__builtins__ if isinstance(__builtins__, dict) else __builtins__)
                       if name.endswith(("Error", "Exception", "Warning", "Interrupt", "Exit"))}


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_exceptions_are_defined_in_errors_py():
    outside = []
    for path, tree in _modules():
        if path.name == "errors.py":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue  # a private class (lint's control-flow signal) never reaches a user
            bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "" for b in
                     node.bases}
            if bases & (_EXCEPTION_NAMES | _BUILTIN_EXCEPTIONS | {"BaseException", "Exception"}):
                outside.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.name}")
    assert not outside, "define exceptions in eligimatch/errors.py: " + ", ".join(outside)


def test_the_errors_users_catch_are_exported():
    for name in ("EligimatchError", "CriteriaError", "CriteriaSyntaxError", "CriteriaCheckError",
                 "CriteriaLimitError", "PatientDataError", "UnitError"):
        assert issubclass(getattr(eligimatch, name), errors.EligimatchError)


def _code_literals():
    """(where, code) for every reason code written in the source: ``code="..."``, ``make_evidence(fact, "...")``, ``ev(fact, "...")``."""
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            candidates = [kw.value for kw in node.keywords if kw.arg == "code"]
            if name in ("make_evidence", "ev") and len(node.args) > 1:  # ev(fact, code, note): the evaluator's
                candidates.append(node.args[1])
            for value in candidates:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield f"{path.relative_to(SRC)}:{node.lineno}", value.value


def test_every_reason_code_written_in_the_source_is_a_documented_member():
    found = list(_code_literals())
    assert len(found) >= 10, found  # the scan sees the evaluator's codes
    unknown = [f"{where}: {code!r}" for where, code in found if code not in {c.value for c in ReasonCode}]
    assert not unknown, "not members of eligimatch.ReasonCode: " + ", ".join(unknown)


def test_every_reason_code_is_described():
    for code in ReasonCode:
        assert REASON_DESCRIPTIONS.get(code.value) or code.description, code
