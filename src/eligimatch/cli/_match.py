"""``eligimatch match PATIENT TRIAL...``: the readable report for one patient (or ``--json``)."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any

from eligimatch.cli._common import (
    _add_catalog,
    _add_when,
    _catalogs,
    _count,
    _distinct_trial_ids,
    _err,
    _histories,
    _load_trials,
    _patient,
    _policy,
    _trial_paths,
)
from eligimatch.errors import PatientDataError, UsageError

__all__ = ["add_parser", "cmd_match"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``match`` to the subcommands."""
    p = sub.add_parser("match", formatter_class=formatter, help="one patient against one or more trials",
                       description="Match one patient (a JSON file) against each trial and print the readable "
                                   "report, criterion by criterion; with several trials, a ranked summary "
                                   "and the next questions to ask follow.",
                       epilog="example:\n  eligimatch match examples/patients/nct05621486-match-si.json "
                              "examples/trials/*.elig --as-of 2026-03-01 --anchor apheresis=2026-03-10\n"
                              "  eligimatch match patient.json trial.elig --json | jq '.[0].verdict'")
    p.add_argument("patient", metavar="PATIENT", help="the patient's JSON file")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--json", action="store_true", help="print a JSON list, one result object per trial")
    p.add_argument("--questions", type=_count, default=10, metavar="N",
                   help="how many questions the plan of next questions keeps (default: 10)")
    p.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML file")
    p.add_argument("--record", metavar="FILE",
                   help="a screening record (JSON): answers and investigator decisions to apply (docs/screening.md)")
    p.add_argument("--strict", action="store_true",
                   help="FHIR input: refuse the whole file at the first invalid resource (default: set invalid "
                        "resources aside, report them and use the rest)")
    p.add_argument("--report", action="store_true",
                   help="FHIR input: print the whole mapping report (default: a short summary)")
    p.add_argument("--complete", type=_histories, metavar="HISTORIES", default=None,
                   help="FHIR input: the histories the source lists completely, among conditions, therapies, "
                        "procedures, studies (comma-separated); kept only where every record of them could be mapped")
    _add_when(p)
    _add_catalog(p)
    p.set_defaults(func=cmd_match)


def cmd_match(args: argparse.Namespace) -> int:
    from eligimatch.screening._screen import screen

    paths = _trial_paths(args.trials)
    reports: list[Any] = []
    try:
        patient = _patient(args.patient, strict=args.strict, complete=args.complete, reports=reports)
    except PatientDataError as exc:
        _err(str(exc))
        return 1
    trials = _load_trials(paths, _catalogs(args))
    _distinct_trial_ids(trials)
    if not reports and (args.strict or args.report or args.complete):
        _err(f"{args.patient}: not FHIR: --strict, --report and --complete apply to FHIR input only "
             "(an eligimatch patient document states its own completeness)")
    if reports:  # a FHIR patient: what was read, before the verdicts (on stderr with --json)
        from eligimatch.sources.fhir._summary import summary

        text = reports[0].text() if args.report else summary(reports[0])
        (sys.stderr if args.json else sys.stdout).write(text + "\n\n")
    as_of = args.as_of or _dt.date.today()
    record = None
    if args.record:
        from eligimatch.screening._decisions import load_record

        try:
            record = load_record(Path(args.record).read_bytes())
        except OSError as exc:
            raise UsageError(f"{args.record}: cannot read: {exc.strerror or exc}") from None
        except PatientDataError as exc:
            _err(f"{args.record}: {exc}")
            return 1
    screened = screen(patient, trials, as_of=as_of, anchors=dict(args.anchor), policy=_policy(args),
                      questions=args.questions, decisions=record)
    ranked = sorted(zip((k.position for k in screened.ranking), screened.results), key=lambda x: x[0])
    results = [r for _, r in ranked]  # the files' order
    if args.html:
        from eligimatch.screening._html import write_report

        try:
            write_report(Path(args.html), screened, input_order=results)
        except OSError as exc:
            raise UsageError(f"{args.html}: cannot write: {exc.strerror or exc}") from None
    out = sys.stdout
    if args.json:
        out.write("[\n" + ",\n".join(r.model_dump_json(indent=2) for r in results) + "\n]\n")
        return 0
    for i, r in enumerate(results):
        if i:
            out.write("\n" + "─" * 72 + "\n\n")
        out.write(r.explain() + "\n")
    if len(results) > 1:
        out.write("\n" + "═" * 72 + "\n" + screened.explain() + "\n")
    return 0
