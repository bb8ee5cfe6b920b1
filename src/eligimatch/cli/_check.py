"""``eligimatch check TRIAL...``: compile and lint criteria files."""

from __future__ import annotations

import argparse
from typing import Any

from eligimatch.cli._common import (
    _add_catalog,
    _catalogs,
    _err,
    _trial_paths,
    load_trial_file,
)
from eligimatch.errors import CriteriaError, UsageError

__all__ = ["add_parser", "cmd_check"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``check`` to the subcommands."""
    p = sub.add_parser("check", formatter_class=formatter, help="compile and lint criteria files",
                       description="Compile each criteria file and report its errors, then lint it: "
                                   "contradictory comparisons, an `or` that is always true, duplicate "
                                   "criteria, an inclusion equal to an exclusion, `at least N of` N items, "
                                   "criteria without the protocol's sentence.",
                       epilog="example:\n  eligimatch check examples/trials/*.elig\n\n"
                              "exit status: 0 clean, 1 errors or findings, 2 usage errors")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--ignore", action="append", default=[], metavar="CODE",
                   help="a finding code not to report (e.g. no-text); repeatable")
    _add_catalog(p)
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from eligimatch.language._lint import CODES, lint

    unknown_codes = [c for c in args.ignore if c not in CODES]
    if unknown_codes:
        raise UsageError(f"unknown finding code {unknown_codes[0]!r}; the codes are {', '.join(CODES)}")
    paths = _trial_paths(args.trials)
    errors = findings = drafted = 0
    for p in paths:
        try:
            trial = load_trial_file(p, _catalogs(args))
        except CriteriaError as exc:
            print("\n".join(problem.render() for problem in exc.problems))
            errors += len(exc.problems)
            continue
        except OSError as exc:
            print(f"{p}: cannot read: {exc.strerror or exc}")
            errors += 1
            continue
        for f in lint(trial):
            if f.code not in args.ignore:
                print(f.render())
                findings += 1
        drafts = [c for c in trial.all_criteria() if c.drafted]
        if drafts:  # listed for the reviewer; not a finding (a drafted file that compiles passes)
            drafted += len(drafts)
            print(f"{p}: {len(drafts)} drafted criteri{'a' if len(drafts) != 1 else 'on'} to review "
                  "against the sentence:")
            for c in drafts:
                cid = f"{c.cohort}/{c.id}" if c.cohort else c.id
                print(f"  {p}:{c.line}: {cid} ({c.kind}) {c.source}")
        from eligimatch.screening._disease import describe, disease_profile

        profile = disease_profile(trial)
        if not (profile.diseases_declared and profile.defining_declared):
            _err(f"{p}: note: {describe(trial)}")
    n = len(paths)
    _err(f"checked {n} file{'s' if n != 1 else ''}: {errors} error{'s' if errors != 1 else ''}, "
         f"{findings} finding{'s' if findings != 1 else ''}"
         + (f", {drafted} drafted criteri{'a' if drafted != 1 else 'on'} to review" if drafted else ""))
    return 1 if errors or findings else 0
