"""``eligimatch fmt TRIAL... [--check]``: canonical formatting (comments kept)."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from eligimatch.cli._common import (
    _err,
    _trial_paths,
)
from eligimatch.errors import CriteriaError, EligimatchError

__all__ = ["add_parser", "cmd_fmt"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``fmt`` to the subcommands."""
    p = sub.add_parser("fmt", formatter_class=formatter, help="format criteria files canonically",
                       description="Rewrite each criteria file in canonical form: one criterion per item, "
                                   "its expression on the next line, canonical spelling. Comments are kept "
                                   "(a trailing comment stays on the line of its code; a comment on its own "
                                   "line stays above what followed it); blank lines and hand-wrapped long "
                                   "expressions are not. A file is written only when the result parses to "
                                   "the same criteria with the same comments.",
                       epilog="example:\n  eligimatch fmt examples/trials/*.elig\n"
                              "  eligimatch fmt --check examples/trials/   # in CI: exit 1 and a diff if "
                              "a file would change")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--check", action="store_true", help="change nothing; print a diff and exit 1 if a file "
                                                        "would change")
    p.set_defaults(func=cmd_fmt)


def _write_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cmd_fmt(args: argparse.Namespace) -> int:
    from eligimatch.language._fmt import format_text

    paths = _trial_paths(args.trials)
    failed = changed = 0
    for p in paths:
        try:
            data = p.read_bytes()
            text = data.decode("utf-8")
        except OSError as exc:
            _err(f"{p}: cannot read: {exc.strerror or exc}")
            failed += 1
            continue
        except UnicodeDecodeError:
            _err(f"{p}: not valid UTF-8 text; left as it is")
            failed += 1
            continue
        try:
            formatted = format_text(text, filename=str(p))
        except CriteriaError as exc:
            _err("\n".join(problem.render() for problem in exc.problems))
            failed += 1
            continue
        except EligimatchError as exc:
            _err(str(exc))
            failed += 1
            continue
        if formatted == text:
            continue
        changed += 1
        if args.check:
            diff = difflib.unified_diff(text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                                        fromfile=f"{p} (now)", tofile=f"{p} (formatted)")
            sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in diff)
        else:
            try:
                _write_atomically(p, formatted)
            except OSError as exc:
                _err(f"{p}: cannot write: {exc.strerror or exc}")
                failed += 1
                continue
            _err(f"reformatted {p}")
    n = len(paths)
    if args.check:
        _err(f"{changed} of {n} file{'s' if n != 1 else ''} would be reformatted")
        return 1 if changed or failed else 0
    return 1 if failed else 0
