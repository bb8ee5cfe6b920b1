"""What the commands share: argument types and options, reading trials and patients, errors and the console.

Usage errors raise :class:`~eligimatch.errors.UsageError` (exit status 2); a command that has already
reported its errors raises :class:`~eligimatch.errors.Failed` (exit status 1).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, TextIO

from eligimatch.engine._evaluate import Policy
from eligimatch.engine._trial import CompiledTrial
from eligimatch.errors import CriteriaError, EligimatchError, Failed, UsageError
from eligimatch.sources._inputs import load_patient_file
from eligimatch.sources._patient import Completeness, Patient

if TYPE_CHECKING:  # pragma: no cover
    from eligimatch.knowledge._catalogs import Catalogs


TRIAL_SUFFIX = ".elig"


def _date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _anchor(text: str) -> tuple[str, _dt.date]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"expected NAME=YYYY-MM-DD, e.g. apheresis=2026-03-10, not {text!r}")
    return name, _date(value.strip())


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return n


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 < n < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number (1-65535), not {text!r}")
    return n


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return n


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


# the histories a source can list completely (FHIR --complete): the fields of Completeness
_HISTORIES = tuple(Completeness.model_fields)


def _histories(text: str) -> dict[str, bool]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    wrong = [n for n in names if n not in _HISTORIES]
    if wrong or not names:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(_HISTORIES)} (comma-separated), "
                                         f"got {text!r}")
    return {n: True for n in names}


def _add_when(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=_date, metavar="DATE",
                   help="evaluation date, YYYY-MM-DD (default: today)")
    p.add_argument("--anchor", type=_anchor, action="append", default=[], metavar="NAME=DATE",
                   help="date of a named anchor (screening, apheresis, ...); repeatable; anchors not given "
                        "fall back to the evaluation date")
    p.add_argument("--assume-absent", action="store_true",
                   help="count a condition, therapy or procedure with no record as absent even where the "
                        "patient's history is not marked complete (every such verdict says so)")


def _add_catalog(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a site catalog (TOML): facts, analytes, conditions, procedures, drugs and attributes to add "
                        "to or replace in the bundled catalogs (docs/catalogs.md); repeatable, applied in order")


def _catalogs(args: argparse.Namespace) -> Catalogs | None:
    """The catalogs of ``--catalog`` files (loaded once per command), or None for the bundled ones."""
    files = getattr(args, "catalog", None)
    if not files:
        return None
    cached = getattr(args, "_catalogs", None)
    if cached is None:
        from eligimatch.knowledge._catalogs import Catalogs

        for f in files:
            if not Path(f).is_file():
                raise UsageError(f"--catalog {f}: " + ("a folder, not a file" if Path(f).is_dir() else "no such file"))
        cached = Catalogs.load(files)
        args._catalogs = cached
    return cached


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _trial_paths(args: Sequence[str]) -> list[Path]:
    out: list[Path] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(x for x in p.iterdir() if x.suffix == TRIAL_SUFFIX and x.is_file())
            if not found:
                raise UsageError(f"{a}: no {TRIAL_SUFFIX} files in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        elif p.exists():
            raise UsageError(f"{a}: not a file or a folder")
        else:
            raise UsageError(f"{a}: no such file or folder")
    return out


def load_trial_file(path: Path, catalogs: Catalogs | None = None) -> CompiledTrial:
    """Compile one criteria file; raises :class:`CriteriaError` (or OSError)."""
    from lark.exceptions import VisitError

    from eligimatch.engine._compile import load_trial

    try:
        return load_trial(path, catalogs=catalogs)
    except VisitError as exc:  # lark wraps what its transformer raises; unwrap ours
        if isinstance(exc.orig_exc, EligimatchError):
            raise exc.orig_exc from None
        raise


def _load_trials(paths: Sequence[Path], catalogs: Catalogs | None = None) -> list[CompiledTrial]:
    """Every trial, reporting every file's errors before giving up."""
    trials, failed = [], False
    for p in paths:
        try:
            trials.append(load_trial_file(p, catalogs))
        except CriteriaError as exc:
            _err("\n".join(problem.render() for problem in exc.problems))
            failed = True
        except OSError as exc:
            _err(f"{p}: cannot read: {exc.strerror or exc}")
            failed = True
    if failed:
        raise Failed()
    return trials


def _patient(path: str, **fhir: Any) -> Patient:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{path}: no such file")
    if p.is_dir():
        raise UsageError(f"{path}: a folder; `eligimatch match` takes one patient file "
                         f"(use `eligimatch screen` for a folder)")
    if p.suffix.lower() == ".elig" or (p.is_file() and _looks_like_criteria(p)):
        raise UsageError(f"{path}: PATIENT looks like a criteria file; did you swap the arguments? "
                         f"(eligimatch match PATIENT TRIAL...)")
    try:
        return load_patient_file(p, **fhir)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


_CRITERIA_START = re.compile(rb"^\s*(?:trial\s+\"|title\s+\"|anchors\s|inclusion\s*:|exclusion\s*:|cohort\s)")


def _looks_like_criteria(p: Path) -> bool:
    """Whether the file's first line that is not a comment starts like a criteria file (``trial "..."``)."""
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    for line in head.lstrip(b"\xef\xbb\xbf").splitlines():
        if line.strip() and not line.lstrip().startswith(b"#"):
            return bool(_CRITERIA_START.match(line))
    return False


def _policy(args: argparse.Namespace) -> Policy | None:
    return Policy(assume_absent=True) if args.assume_absent else None


def _console(file: TextIO) -> Any:
    from rich.console import Console

    width = None
    if not file.isatty() and "COLUMNS" not in os.environ:
        width = 120
    return Console(file=file, width=width, highlight=False, soft_wrap=False)


def _distinct_trial_ids(trials: Sequence[CompiledTrial]) -> None:
    """Two trials with one id give rows that cannot be told apart (issue 18 D17): refused, naming both files."""
    seen: dict[str, CompiledTrial] = {}
    for t in trials:
        if t.id is None:
            continue
        first = seen.setdefault(t.id, t)
        if first is not t:
            raise UsageError(f"trial id {t.id!r} is used by two files: {first.filename} and {t.filename}; "
                             f"give each trial its own id")
