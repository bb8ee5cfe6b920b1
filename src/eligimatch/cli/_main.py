"""The ``eligimatch`` command line.

    eligimatch check TRIAL...                 compile and lint criteria files
    eligimatch match PATIENT TRIAL...         the readable report for one patient (or --json)
    eligimatch screen PATIENTS TRIAL...       many patients, many trials: CSV or JSON-lines rows
    eligimatch screen-db DATABASE TRIAL...    a whole database (DuckDB, PostgreSQL, OMOP): counts, rows,
                                              attrition, what-if
    eligimatch coverage TRIAL...              computable versus judgment-only criteria
    eligimatch fmt TRIAL... [--check]         canonical formatting (comments kept)
    eligimatch draft RECORD... [-o DIR]       draft criteria files from ClinicalTrials.gov records
    eligimatch serve TRIAL...                 the matching service (JSON API, CTMS contract, page)

Exit status: 0 success, 1 errors or findings (a criteria file that does not
compile, a patient that does not validate, a lint finding, a file ``fmt --check``
would change), 2 usage errors (unknown option, missing file, bad date).
Errors print like a compiler's (``file:line:col: message``, the line, a caret),
never as a traceback: on stderr, except for ``check``, whose findings are its
output (stdout).  ``main(argv)`` runs in-process and returns the status.

Patients are read by :func:`eligimatch.sources.load_patient_file` only.

One module per command (``_check``, ``_match``, ``_screen``, ``_serve``, ``_coverage``, ``_fmt``,
``_schema``, ``_fhir_report``, ``_screen_db``; ``draft`` is :mod:`eligimatch.ctgov.command`), each with its
``add_parser(sub, formatter)``; what they share is in ``_common``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from eligimatch import __version__
from eligimatch.cli import _check, _coverage, _fhir_report, _fmt, _match, _schema, _screen, _screen_db, _serve
from eligimatch.cli._common import _err, _Formatter
from eligimatch.errors import CriteriaError, EligimatchError, Failed, UsageError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="eligimatch", formatter_class=_Formatter,
        description="Decide whether a patient can enter a clinical trial — match, no match or unknown — "
                    "and explain every answer.",
        epilog="examples:\n"
               "  eligimatch match examples/patients/nct05621486-match-si.json examples/trials/*.elig "
               "--as-of 2026-03-01\n"
               "  eligimatch check examples/trials/\n"
               "  eligimatch screen patients.jsonl examples/trials/ --format csv --output verdicts.csv\n\n"
               "exit status: 0 success, 1 errors or findings, 2 usage errors")
    parser.add_argument("--version", action="version", version=f"eligimatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    for command in (_check, _match, _screen, _serve):
        command.add_parser(sub, _Formatter)

    from eligimatch.ctgov.command import add_parser as add_draft_parser

    add_draft_parser(sub, _Formatter)

    for command in (_coverage, _fmt, _schema, _fhir_report, _screen_db):
        command.add_parser(sub, _Formatter)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 1 or 2)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.func(args)
    except UsageError as exc:
        _err(f"eligimatch {args.command}: error: {exc}")
        return 2
    except Failed:
        return 1
    except CriteriaError as exc:
        _err("\n".join(problem.render() for problem in exc.problems))
        return 1
    except EligimatchError as exc:
        _err(str(exc))
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, and keep Python from complaining at exit
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 1
    except Exception as exc:  # a bug: say so in one line, not with a traceback
        _err(f"eligimatch {args.command}: internal error: {type(exc).__name__}: {exc}\n"
             f"This is a bug in eligimatch; please report it with the command you ran.")
        return 1
