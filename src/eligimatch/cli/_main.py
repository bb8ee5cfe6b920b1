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

Patients are read by :func:`eligimatch.sources._inputs.load_patient_file` only.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import difflib
import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence, TextIO

from eligimatch import __version__
from eligimatch.errors import CriteriaError, EligimatchError, PatientDataError
from eligimatch.errors import Failed, UsageError  # noqa: F401  (defined in errors.py; importable from here as before)
from eligimatch.engine._evaluate import Policy
from eligimatch.sources._inputs import JSONL_SUFFIXES, PATIENT_SUFFIXES, iter_patient_files, load_patient_file
from eligimatch._limits import INPUT_LIMITS
from eligimatch.sources._patient import Patient
from eligimatch.engine._result import Verdict
from eligimatch._safeio import atomic_output, same_file
from eligimatch.engine._trial import CompiledTrial

if TYPE_CHECKING:  # pragma: no cover
    from eligimatch.knowledge._catalogs import Catalogs

__all__ = ["main"]

TRIAL_SUFFIX = ".elig"


# ---- arguments ---------------------------------------------------------------------------------

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


_HISTORIES = ("conditions", "therapies", "procedures")


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
                   help="a site catalog (TOML): facts, analytes, conditions, procedures and drugs to add to or "
                        "replace in the bundled catalogs (docs/catalogs.md); repeatable, applied in order")


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


def build_parser() -> argparse.ArgumentParser:
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

    p = sub.add_parser("check", formatter_class=_Formatter, help="compile and lint criteria files",
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

    p = sub.add_parser("match", formatter_class=_Formatter, help="one patient against one or more trials",
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
                        "procedures (comma-separated); kept only where every record of them could be mapped")
    _add_when(p)
    _add_catalog(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("screen", formatter_class=_Formatter, help="many patients against many trials",
                       description="Screen every patient against every trial, on every core, and write one "
                                   "row per patient and trial (CSV or JSON lines). A summary per trial goes "
                                   "to stderr; a patient that does not validate gives an error row, and the "
                                   "batch goes on.",
                       epilog="example:\n  eligimatch screen examples/patients/ examples/trials/ --as-of 2026-03-01\n"
                              "  eligimatch screen batch.jsonl trials/ --format jsonl --output rows.jsonl "
                              "--workers 8")
    p.add_argument("patients", metavar="PATIENTS",
                   help="a folder of patient JSON files, a JSON-lines file (.jsonl, one patient per line) "
                        "or one JSON file")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--format", choices=("csv", "jsonl", "records"), default="csv",
                   help="csv or jsonl: one row per patient and trial (default: csv); records: one JSON line per "
                        "patient, its ranked results with the evidence of the criteria that decided each verdict "
                        "and the next questions")
    p.add_argument("--output", "-o", metavar="FILE", help="write the rows here (default: stdout)")
    p.add_argument("--workers", type=_workers, metavar="N",
                   help="processes to use (default: 1 for fewer than 10,000 patient-trial evaluations, where "
                        "starting processes costs more than it saves, else every CPU; 1 runs in this process)")
    p.add_argument("--chunksize", type=_workers, default=16, metavar="N",
                   help="patients sent to a worker at a time (default: 16)")
    _add_when(p)
    _add_catalog(p)
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("serve", formatter_class=_Formatter, help="the matching service and the coordinators' page",
                       description="Serve the trials over HTTP: a JSON API (POST /match, /screen, /decide; GET "
                                   "/trials), the mCODE clinical-trial-matching-service contract (GET /, POST "
                                   "/getClinicalTrial), the coordinators' page (/ui/) and the OpenAPI "
                                   "documentation (/docs), all under --prefix. Needs the [serve] extra.",
                       epilog="example:\n  eligimatch serve examples/trials/ --patients examples/patients/\n"
                              "  eligimatch serve examples/trials/ --host 0.0.0.0 --port 8080 --prefix /eligimatch")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    p.add_argument("--prefix", default="", metavar="PATH", help="serve everything under this path, e.g. /eligimatch")
    p.add_argument("--patients", metavar="DIR", help="a folder of example patient files the page offers to pick")
    p.add_argument("--as-of", type=_date, metavar="DATE", help="evaluation date (default: each request's day)")
    p.add_argument("--max-body", type=_workers, default=5_000_000, metavar="BYTES",
                   help="largest request body accepted (default: 5000000)")
    _add_catalog(p)
    p.set_defaults(func=cmd_serve)

    from eligimatch.ctgov.command import add_parser as add_draft_parser

    add_draft_parser(sub, _Formatter)

    from eligimatch.cli._screen_db import add_parser as add_screen_db_parser

    add_screen_db_parser(sub, _Formatter)

    p = sub.add_parser("coverage", formatter_class=_Formatter, help="computable versus judgment-only criteria",
                       description="For each trial: which criteria eligimatch computes from data, which only "
                                   "the investigator can decide, and which data each computable criterion "
                                   "reads.",
                       epilog="example:\n  eligimatch coverage examples/trials/*.elig\n"
                              "  eligimatch coverage examples/trials/ --json")
    p.add_argument("trials", nargs="+", metavar="TRIAL", help="a .elig file, or a folder of them")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per trial")
    _add_catalog(p)
    p.set_defaults(func=cmd_coverage)

    p = sub.add_parser("fmt", formatter_class=_Formatter, help="format criteria files canonically",
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

    p = sub.add_parser("schema", formatter_class=_Formatter, help="print the JSON Schema of a document format",
                       description="Print the JSON Schema (draft 2020-12) of one of eligimatch's documents: "
                                   "patient (the profile match and screen read), result (one object of match "
                                   "--json, with the documented reason codes), record (a screening record: "
                                   "answers and decisions), trial (a trial's plan summary, coverage --json).",
                       epilog="example:\n  eligimatch schema patient > patient.schema.json")
    p.add_argument("name", choices=("patient", "result", "record", "trial"), metavar="NAME",
                   help="patient, result, record or trial")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("fhir-report", formatter_class=_Formatter,
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
    return parser


# ---- helpers -----------------------------------------------------------------------------------

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


# ---- check ---------------------------------------------------------------------------------------

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


# ---- match ---------------------------------------------------------------------------------------

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


# ---- screen --------------------------------------------------------------------------------------

def _patient_items(path: str) -> Iterator[Any]:
    """Items for :func:`screen_many`: paths (read by the workers) or ``(source, line)`` pairs.

    A line longer than ``INPUT_LIMITS.max_line_bytes`` is not read into memory: it becomes an error
    row for that line, and the next line is read."""
    p = Path(path)
    if p.is_dir():
        yield from iter_patient_files(p)
    elif p.suffix.lower() in JSONL_SUFFIXES and not _is_fhir_ndjson(p):
        limit = INPUT_LIMITS.max_line_bytes
        with p.open("rb") as fh:
            lineno = 0
            while True:
                line = fh.readline(limit + 1)
                if not line:
                    break
                lineno += 1
                if len(line) > limit and not line.endswith(b"\n"):
                    while line and not line.endswith(b"\n"):  # skip the rest of the line, a bounded piece at a time
                        line = fh.readline(limit + 1)
                    yield (f"{p}:{lineno}", PatientDataError(f"{p}:{lineno}: the line is longer than the limit of "
                                                             f"{limit} bytes for one patient"))
                elif line.strip():
                    yield (f"{p}:{lineno}", line.decode("utf-8", errors="replace"))
    else:
        yield p


def _is_fhir_ndjson(p: Path) -> bool:
    """FHIR Bulk Data NDJSON (one resource a line) is one patient's file, not one patient a line."""
    with p.open("rb") as fh:
        for line in fh:
            if line.strip():
                return b'"resourceType"' in line
    return False


_COLUMNS = ("patient", "source", "trial", "verdict", "rank", "deciding", "missing", "matched_cohorts", "error")


def _rows(record: Any, order: dict[str, int]) -> Iterator[dict[str, Any]]:
    if not record.ok:
        yield {"patient": record.patient_id or "", "source": record.source or "", "trial": "", "verdict": "error",
               "rank": "", "deciding": [], "missing": "", "missing_facts": [], "matched_cohorts": [],
               "error": record.message, "errors": [e.model_dump() for e in record.errors]}
        return
    tiers = list(record.ranking) or [None] * len(record.results)
    ranked = list(enumerate(zip(record.results, tiers), 1))
    ranked.sort(key=lambda x: order.get(x[1][0].trial_id or "", len(order)))
    for rank, (r, rk) in ranked:
        facts = list(dict.fromkeys(m.fact for m in r.missing))
        row = {"patient": record.patient_id or "", "source": record.source or "", "trial": r.trial_id or "",
               "verdict": r.verdict.value, "rank": rank, "deciding": list(r.deciding), "missing": len(facts),
               "missing_facts": facts, "matched_cohorts": list(r.matched_cohorts), "error": ""}
        if rk is not None:  # JSON lines only: the CSV columns stay as they are
            row["tier"] = rk.tier.value
            row["score"] = rk.score
        yield row


class _Sink:
    def __init__(self, fmt: str, out: TextIO):
        self.fmt = fmt
        self.out = out
        self.writer = None
        if fmt == "csv":
            self.writer = csv.writer(out, lineterminator="\n")
            self.writer.writerow(_COLUMNS)

    def write(self, row: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.writerow([";".join(v) if isinstance(v, list) else v for v in (row[c] for c in _COLUMNS)])
        else:
            if row["verdict"] != "error":
                row = {k: v for k, v in row.items() if k not in ("error", "errors")}
            self.out.write(json.dumps(row, ensure_ascii=False) + "\n")


def cmd_screen(args: argparse.Namespace) -> int:
    from eligimatch.screening._screen import trial_label

    src = Path(args.patients)
    if not src.exists():
        raise UsageError(f"{args.patients}: no such file or folder")
    if not src.is_dir() and not src.is_file():  # a named pipe or a device: it could block or never end (D15)
        raise UsageError(f"{args.patients}: not a regular file or a folder (a named pipe or a device?)")
    if src.is_file() and src.suffix.lower() not in JSONL_SUFFIXES + PATIENT_SUFFIXES:
        raise UsageError(f"{args.patients}: give a folder of .json files, a .jsonl file or a .json file")
    paths = _trial_paths(args.trials)
    if args.output:
        _check_output(Path(args.output), src, paths)
    trials = _load_trials(paths, _catalogs(args))
    _distinct_trial_ids(trials)
    labels = [trial_label(t) for t in trials]
    order = {label: i for i, label in reversed(list(enumerate(labels)))}
    counts: dict[str, Counter[str]] = {label: Counter() for label in labels}
    errors: list[str] = []
    n_patients = 0
    out_path = Path(args.output) if args.output else None
    fh: TextIO
    stack = contextlib.ExitStack()
    if out_path is not None:
        try:  # a temporary file beside the output, renamed over it only once every row is written (D14, D18)
            fh = stack.enter_context(atomic_output(out_path))
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    else:
        fh = sys.stdout
    with stack:
        n_patients = _screen_rows(args, src, trials, fh, order, counts, errors)
        if out_path is None:
            fh.flush()
    _summary(counts, n_patients, errors)
    return 1 if errors else 0


def _check_output(out: Path, src: Path, trials: Sequence[Path]) -> None:
    """An output that is also an input would be emptied before it is read (issue 18 D14): refused."""
    for p in (src, *trials):
        if same_file(out, p):
            raise UsageError(f"{out}: this is also an input ({p}); write the output to another file")
    if src.is_dir() and out.suffix.lower() in PATIENT_SUFFIXES + JSONL_SUFFIXES:
        try:
            inside = out.resolve().parent == src.resolve()
        except OSError:
            inside = False
        if inside:
            raise UsageError(f"{out}: inside the folder of patients {src}, where the next run would read it as a "
                             f"patient; write the output elsewhere")


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


def _screen_rows(args: argparse.Namespace, src: Path, trials: list[CompiledTrial], fh: TextIO,
                 order: dict[str, int], counts: dict[str, Counter[str]], errors: list[str]) -> int:
    """Screen every patient, writing the rows to ``fh``; the number of patients."""
    from eligimatch.screening._screen import screen_many

    n_patients = 0
    sink = _Sink(args.format, fh)
    items: Any = list(iter_patient_files(src)) if src.is_dir() else _patient_items(args.patients)
    whole = args.format == "records"
    if args.anchor:  # a name no trial declares is an error before any patient is read
        from eligimatch.engine._matching import check_anchor_names
        check_anchor_names(trials, dict(args.anchor))
    records = screen_many(items, trials, as_of=args.as_of or _dt.date.today(),
                          anchors=dict(args.anchor), policy=_policy(args), workers=args.workers,
                          chunksize=args.chunksize, progress=True,
                          with_criteria="deciding" if whole else False)
    for record in records:
        n_patients += 1
        if not record.ok:
            errors.append(record.message)
        else:
            for r in record.results:
                counts.setdefault(r.trial_id or "", Counter())[r.verdict.value] += 1
        if whole:
            fh.write(record.model_dump_json() + "\n")
            continue
        for row in _rows(record, order):
            sink.write(row)
    return n_patients


def _summary(counts: dict[str, Counter[str]], n_patients: int, errors: list[str]) -> None:
    from rich.table import Table

    console = _console(sys.stderr)
    table = Table(title=f"{n_patients} patient{'s' if n_patients != 1 else ''} screened", title_justify="left")
    table.add_column("trial")
    for v, head in ((Verdict.MATCH, "match"), (Verdict.UNKNOWN, "unknown"), (Verdict.NO_MATCH, "no match")):
        table.add_column(head, justify="right")
    for label, c in counts.items():
        table.add_row(label, str(c[Verdict.MATCH.value]), str(c[Verdict.UNKNOWN.value]),
                      str(c[Verdict.NO_MATCH.value]))
    console.print(table)
    if errors:
        console.print(f"{len(errors)} patient{'s' if len(errors) != 1 else ''} could not be screened "
                      f"(error rows in the output):", markup=False)
        for e in errors[:20]:
            console.print("  " + e.replace("\n", "\n  "), markup=False)
        if len(errors) > 20:
            console.print(f"  ... and {len(errors) - 20} more", markup=False)


# ---- serve ---------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from eligimatch.service import create_app
    except ImportError as exc:
        raise UsageError(f"the service needs the [serve] extra (pip install 'eligimatch[serve]'): {exc}") from None
    trials = _load_trials(_trial_paths(args.trials), _catalogs(args))
    patients = None
    if args.patients:
        patients = Path(args.patients)
        if not patients.is_dir():
            raise UsageError(f"{args.patients}: not a folder")
    app = create_app(trials, prefix=args.prefix, patients_dir=patients, max_body=args.max_body, as_of=args.as_of)
    prefix = "/" + args.prefix.strip("/") if args.prefix.strip("/") else ""
    _err(f"eligimatch: serving {len(trials)} trial{'s' if len(trials) != 1 else ''} on "
         f"http://{args.host}:{args.port}{prefix}/ (page: {prefix}/ui/, API documentation: {prefix}/docs)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


# ---- coverage ------------------------------------------------------------------------------------

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


# ---- fmt -----------------------------------------------------------------------------------------

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


def cmd_schema(args: argparse.Namespace) -> int:
    from eligimatch._schemas import schema_text

    sys.stdout.write(schema_text(args.name))
    return 0


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


# ---- entry point ---------------------------------------------------------------------------------

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
