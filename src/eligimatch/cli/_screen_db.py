"""``eligimatch screen-db DATABASE TRIAL...``: screen every patient of a database, in the database.

    eligimatch screen-db patients.duckdb examples/trials/ --as-of 2026-03-01 --output rows.parquet
    eligimatch screen-db cdm.duckdb examples/trials/NCT05621486.elig --attrition --html report.html
    eligimatch screen-db cdm.duckdb examples/trials/NCT05621486.elig --drop I8 --threshold I7a=1.0
    eligimatch screen-db postgresql://user@host/db TRIALS... --schema cdm

DATABASE is a DuckDB file or a PostgreSQL URL holding the canonical patient tables or an OMOP CDM
database (recognised; opened read-only).  Prints, per trial, the patients by verdict and tier; with
``--attrition`` the criterion-by-criterion attrition; with ``--drop``/``--threshold``/``--replace``
(one trial) who moves between verdicts.  ``--output`` writes one row per patient and trial with the
criteria met, not met, unknown and pending review; ``--html`` a page with the waterfall charts and
tables, ``--png`` the waterfall of each trial; ``--json`` prints all of it as one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "cmd_screen_db"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    from eligimatch.cli._common import _add_catalog, _anchor, _date

    p = sub.add_parser(
        "screen-db", formatter_class=formatter, help="screen every patient of a database (DuckDB, PostgreSQL)",
        description="Compile each trial to SQL and run it in the database: DuckDB file or PostgreSQL URL, "
                    "holding the canonical patient tables (eligimatch.sql.write_duckdb) or an OMOP CDM "
                    "database. Prints the patients by trial, verdict and tier; writes one row per patient and "
                    "trial with the criteria met, not met, unknown and pending review. Attrition (criterion by "
                    "criterion) and what-if (drop a criterion, move a threshold) answer the feasibility "
                    "questions; --html and --png draw the waterfall.",
        epilog="examples:\n"
               "  eligimatch screen-db patients.duckdb examples/trials/ --as-of 2026-03-01 -o rows.parquet\n"
               "  eligimatch screen-db cdm.duckdb NCT05621486.elig --attrition --html attrition.html\n"
               "  eligimatch screen-db cdm.duckdb NCT05621486.elig --drop I8 --threshold I7a=1.0\n"
               "  eligimatch screen-db postgresql://me@dbhost/cdm examples/trials/ --schema cdm54\n\n"
               "exit status: 0 success, 1 errors (a trial that does not compile or cannot run there), 2 usage")
    p.add_argument("database", metavar="DATABASE", help="a DuckDB file, or a postgresql:// URL")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--as-of", type=_date, metavar="DATE", help="evaluation date, YYYY-MM-DD (default: today)")
    p.add_argument("--anchor", type=_anchor, action="append", default=[], metavar="NAME=DATE",
                   help="date of a named anchor for every patient who has none recorded; repeatable")
    p.add_argument("--schema", metavar="NAME", help="the database schema holding the tables (PostgreSQL)")
    p.add_argument("--complete", choices=["observation_period"], default=None,
                   help="OMOP CDM: mark conditions, therapies and procedures complete (an absent record is then an "
                        "absence) for each person whose observation period covers their life up to --as-of; "
                        "default: no history is complete")
    p.add_argument("-o", "--output", metavar="FILE", help="write one row per patient and trial: .parquet or .csv")
    p.add_argument("--attrition", action="store_true", help="print the attrition of each trial")
    p.add_argument("--drop", action="append", default=[], metavar="ID",
                   help="what-if: the trial without this criterion (one trial only); repeatable")
    p.add_argument("--threshold", action="append", default=[], metavar="ID=VALUE",
                   help="what-if: move the criterion's threshold (ID=VALUE, or ID:OLD=VALUE when it has several; "
                        "a unit may follow VALUE); repeatable")
    p.add_argument("--replace", action="append", default=[], metavar="ID=EXPR",
                   help="what-if: replace the criterion's expression; repeatable")
    p.add_argument("--examples", type=int, default=10, metavar="N",
                   help="what-if: list up to N patients of each move (default 10)")
    p.add_argument("--html", metavar="FILE", help="write a page with the attrition charts, tables and what-if")
    p.add_argument("--png", metavar="FILE", help="write the attrition waterfall as PNG (several trials: FILE-<trial>.png)")
    p.add_argument("--json", action="store_true", help="print counts, attrition and what-if as one JSON document")
    _add_catalog(p)
    p.set_defaults(func=cmd_screen_db)


def _png_path(base: Path, label: str, several: bool) -> Path:
    if not several:
        return base
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
    return base.with_name(f"{base.stem}-{safe}{base.suffix or '.png'}")


def cmd_screen_db(args: argparse.Namespace) -> int:
    import datetime as _dt

    from eligimatch.cli._common import _catalogs, _console, _distinct_trial_ids, _load_trials, _trial_paths
    from eligimatch.errors import UsageError
    from eligimatch.sql._database import open_database
    from eligimatch.sql._population import screen_population

    what_if = bool(args.drop or args.threshold or args.replace)
    if not args.database.startswith(("postgresql://", "postgres://")):
        db_path = Path(args.database)
        if not db_path.exists():
            raise UsageError(f"{args.database}: no such file (give a DuckDB file or a postgresql:// URL)")
        if not db_path.is_file():
            raise UsageError(f"{args.database}: not a file (give a DuckDB file or a postgresql:// URL)")
    paths = _trial_paths(args.trials)
    if args.output and Path(args.output).suffix.lower() not in (".parquet", ".csv"):
        raise UsageError(f"--output {args.output}: give a .parquet or .csv file")
    if args.examples < 0:
        raise UsageError("--examples: expected a whole number >= 0")
    trials = _load_trials(paths, _catalogs(args))
    _distinct_trial_ids(trials)
    if what_if and len(trials) != 1:
        raise UsageError("--drop, --threshold and --replace ask about one trial: give exactly one")
    if args.output and any(Path(args.output).resolve() == p.resolve() for p in paths):
        raise UsageError(f"{args.output}: this is also an input; write the output to another file")
    if args.anchor:
        from eligimatch.engine._matching import check_anchor_names

        check_anchor_names(trials, dict(args.anchor))
    as_of = args.as_of or _dt.date.today()
    report: dict[str, Any] = {"database": args.database, "as_of": as_of.isoformat()}
    out = _console(sys.stdout)
    with open_database(args.database, schema=args.schema, as_of=as_of, complete=args.complete) as db:
        report["kind"] = db.kind
        with screen_population(db.backend, trials, as_of=as_of, anchors=dict(args.anchor), source=db.name) as pop:
            counts, tiers = pop.counts(), pop.tiers()
            report["counts"], report["tiers"] = counts, tiers
            attritions = [pop.attrition(r.label) for r in pop.runs] if (args.attrition or args.html or args.png) \
                else []
            if attritions:
                report["attrition"] = [a.to_dict() for a in attritions]
            wi = None
            if what_if:
                wi = pop.what_if(pop.runs[0].label, drop=args.drop, thresholds=args.threshold,
                                 replace=args.replace, examples=args.examples)
                report["what_if"] = wi.to_dict()
            if args.output:
                report["rows_written"] = pop.write(args.output)
        if args.html:
            from eligimatch._safeio import atomic_output
            from eligimatch.sql._chart import attrition_html

            page = attrition_html(attritions, title=f"Attrition — {db.name} on {as_of.isoformat()}",
                                  extra=wi.html() if wi is not None else "")
            with atomic_output(Path(args.html)) as fh:
                fh.write(page)
        if args.png:
            for a in attritions:
                a.png(_png_path(Path(args.png), a.trial, len(attritions) > 1))
    if args.json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
        return 0
    _print(out, report, attritions, wi, db.kind, db.name)
    return 0


def _print(out: Any, report: dict[str, Any], attritions: list[Any], wi: Any, kind: str, name: str) -> None:
    from rich.table import Table

    counts, tiers = report["counts"], report["tiers"]
    total = next(iter(counts.values())) if counts else {}
    n = sum(total.values()) if total else 0
    out.print(f"{n:,} patients in {name} ({'OMOP CDM' if kind == 'omop' else 'canonical tables'}), "
              f"on {report['as_of']}", markup=False, highlight=False, soft_wrap=True)
    table = Table()
    for head in ("trial", "match", "unknown", "no match", "eligible", "pending review", "possible", "unlikely",
                 "not eligible"):
        table.add_column(head, justify="left" if head == "trial" else "right")
    for label, c in counts.items():
        t = tiers[label]
        table.add_row(label, f"{c['match']:,}", f"{c['unknown']:,}", f"{c['no_match']:,}", f"{t['eligible']:,}",
                      f"{t['eligible_pending_review']:,}", f"{t['possible']:,}", f"{t['unlikely']:,}",
                      f"{t['not_eligible']:,}")
    out.print(table)
    for a in attritions:
        out.print()
        out.print(a.table(), markup=False, highlight=False)
    if wi is not None:
        out.print()
        out.print(wi.table(), markup=False, highlight=False)
    if "rows_written" in report:
        out.print(f"\n{report['rows_written']:,} rows written", markup=False)
