"""``eligimatch schema NAME``: print the JSON Schema of a document format."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "cmd_schema"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``schema`` to the subcommands."""
    p = sub.add_parser("schema", formatter_class=formatter, help="print the JSON Schema of a document format",
                       description="Print the JSON Schema (draft 2020-12) of one of eligimatch's documents: "
                                   "patient (the profile match and screen read), result (one object of match "
                                   "--json, with the documented reason codes), record (a screening record: "
                                   "answers and decisions), trial (a trial's plan summary, coverage --json).",
                       epilog="example:\n  eligimatch schema patient > patient.schema.json")
    p.add_argument("name", choices=("patient", "result", "record", "trial"), metavar="NAME",
                   help="patient, result, record or trial")
    p.set_defaults(func=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    from eligimatch._schemas import schema_text

    sys.stdout.write(schema_text(args.name))
    return 0
