"""``eligimatch draft RECORD... [-o DIR] [--catalog FILE]``: draft a criteria file per registry record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from eligimatch.errors import RegistryError

__all__ = ["add_parser", "cmd_draft"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser("draft", formatter_class=formatter, help="draft criteria files from ClinicalTrials.gov records",
                       description="Read each ClinicalTrials.gov record (API v2 JSON, legacy XML, classic JSON, "
                                   "or the study page saved as text) and write <NCT id>.elig: the registry's age "
                                   "and sex limits compiled, every criterion item kept with its sentence and "
                                   "number, the items the drafter can read as criteria marked `draft`, the rest "
                                   "as `judgment`. Review every `draft` criterion (`eligimatch check` lists them).",
                       epilog="example:\n  eligimatch draft NCT00023673.xml -o drafts/\n"
                              "  eligimatch check drafts/ && eligimatch coverage drafts/\n"
                              "  eligimatch draft NCT00023673.xml -o drafts/ --catalog site.toml\n"
                              "  eligimatch check --catalog site.toml drafts/")
    p.add_argument("records", nargs="+", metavar="RECORD", help="a registry record file")
    p.add_argument("-o", "--output", metavar="DIR", default=None,
                   help="write the files into DIR (created if needed); without it, print to stdout")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--catalog", action="append", default=[], metavar="FILE",
                   help="a site catalog (TOML) to read names against and compile the drafts with, as for check "
                        "and match (docs/catalogs.md); repeatable, applied in order. Check the drafts with the "
                        "same --catalog files")
    p.set_defaults(func=cmd_draft)


def cmd_draft(args: argparse.Namespace) -> int:
    from eligimatch.ctgov.draft import draft_trial
    from eligimatch.ctgov.load import load_record

    catalogs = None
    if args.catalog:
        from eligimatch.errors import UsageError
        from eligimatch.knowledge._catalogs import Catalogs

        for f in args.catalog:
            if not Path(f).is_file():
                raise UsageError(f"--catalog {f}: " + ("a folder, not a file" if Path(f).is_dir() else "no such file"))
        catalogs = Catalogs.load(args.catalog)
    out_dir = Path(args.output) if args.output else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in args.records:
        try:
            draft = draft_trial(load_record(name), catalogs=catalogs)
        except RegistryError as exc:
            print(f"{name}: {exc}" if name not in str(exc) else str(exc), file=sys.stderr)
            failed += 1
            continue
        if out_dir is None:
            sys.stdout.write(draft.text)
            continue
        target = out_dir / f"{draft.record.id}.elig"
        if target.exists() and not args.force:
            print(f"{target}: exists (use --force to overwrite); {name} not written", file=sys.stderr)
            failed += 1
            continue
        target.write_text(draft.text, encoding="utf-8")
        print(f"{name} -> {target}: {len(draft.items)} items, {draft.computable} drafted, "
              f"{draft.judgment} judgment", file=sys.stderr)
    return 1 if failed else 0
