"""``eligimatch coverage TRIAL...``: computable versus judgment-only criteria."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from eligimatch.cli._common import (
    _add_catalog,
    _catalogs,
    _console,
    _load_trials,
    _trial_paths,
)

__all__ = ["add_parser", "cmd_coverage"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``coverage`` to the subcommands."""
    p = sub.add_parser("coverage", formatter_class=formatter, help="computable versus judgment-only criteria",
                       description="For each trial: which criteria eligimatch computes from data, which only "
                                   "the investigator can decide, and which data each computable criterion "
                                   "reads.",
                       epilog="example:\n  eligimatch coverage examples/trials/*.elig\n"
                              "  eligimatch coverage examples/trials/ --json")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per trial")
    _add_catalog(p)
    p.set_defaults(func=cmd_coverage)


def cmd_coverage(args: argparse.Namespace) -> int:
    from rich.table import Table

    from eligimatch.language._coverage import coverage

    trials = _load_trials(_trial_paths(args.trials), _catalogs(args))
    reports = [coverage(t) for t in trials]
    if args.json:
        sys.stdout.write("[\n" + ",\n".join(r.model_dump_json(indent=2) for r in reports) + "\n]\n")
        return 0
    console = _console(sys.stdout)
    for rep in reports:
        name = rep.trial_id or Path(rep.filename or "").stem
        table = Table(title=f"{name}" + (f" — {rep.title}" if rep.title else ""), title_justify="left",
                      show_lines=False)
        table.add_column("criterion", no_wrap=True)
        table.add_column("kind")
        table.add_column("decided by")
        table.add_column("needs")
        for c in rep.criteria:
            by = "judgment" if c.judgment else ("data + judgment" if c.partly_judgment else "data")
            if c.drafted:
                by += " (drafted)"
            cid = f"{c.cohort}/{c.id}" if c.cohort else c.id
            table.add_row(cid, c.kind, by, "; ".join(c.needs), style="dim" if c.judgment else None)
        console.print(table)
        console.print(f"{name}: {rep.total} criteria, {rep.computable} computable "
                      f"({rep.fraction:.0%}), {rep.judgment} judgment only"
                      + (f", {rep.partly_judgment} partly judgment" if rep.partly_judgment else "")
                      + (f"; {rep.drafted} drafted, to review" if rep.drafted else ""), markup=False)
        console.print()
    if len(reports) > 1:
        table = Table(title="coverage", title_justify="left")
        for head in ("trial", "criteria", "computable", "judgment only", "computable %"):
            table.add_column(head, justify="left" if head == "trial" else "right")
        for rep in reports:
            table.add_row(rep.trial_id or Path(rep.filename or "").stem, str(rep.total), str(rep.computable),
                          str(rep.judgment), f"{rep.fraction:.0%}")
        console.print(table)
    return 0
