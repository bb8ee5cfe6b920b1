"""``eligimatch fhir-report FOLDER``: how much of a folder of FHIR bundles maps into profiles."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from eligimatch.cli._common import (
    _workers,
)
from eligimatch.errors import UsageError

__all__ = ["add_parser", "cmd_fhir_report"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``fhir-report`` to the subcommands."""
    p = sub.add_parser("fhir-report", formatter_class=formatter,
                       help="how much of a folder of FHIR bundles maps into profiles",
                       description="Read every FHIR bundle under a folder (*.json, recursively) and print, as "
                                   "Markdown tables, the share of clinically relevant resources (conditions, labs, "
                                   "vitals, performance status, tumour markers, staging, medications, procedures) "
                                   "that map, by resource type, kind and code system, with the codes most often "
                                   "left unmapped.",
                       epilog="example:\n  eligimatch fhir-report ../shared/corpora/fhir/")
    p.add_argument("folder", metavar="FOLDER", help="a folder of FHIR bundles")
    p.add_argument("--top", type=_workers, default=15, metavar="N", help="how many unmapped codes to list")
    p.set_defaults(func=cmd_fhir_report)


def cmd_fhir_report(args: argparse.Namespace) -> int:
    from eligimatch.sources.fhir._coverage import bundle_paths, measure, render

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{args.folder}: not a folder")
    paths = bundle_paths(folder)
    if not paths:
        raise UsageError(f"{args.folder}: no *.json files")
    print(render(measure(paths), top=args.top))
    return 0
