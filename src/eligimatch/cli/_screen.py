"""``eligimatch screen PATIENTS TRIAL...``: many patients, many trials, CSV or JSON-lines rows."""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

from eligimatch._limits import INPUT_LIMITS
from eligimatch._safeio import atomic_output, same_file
from eligimatch.cli._common import (
    _add_catalog,
    _add_when,
    _catalogs,
    _console,
    _distinct_trial_ids,
    _load_trials,
    _policy,
    _trial_paths,
    _workers,
)
from eligimatch.engine._result import Verdict
from eligimatch.engine._trial import CompiledTrial
from eligimatch.errors import PatientDataError, UsageError
from eligimatch.sources._inputs import JSONL_SUFFIXES, PATIENT_SUFFIXES, iter_patient_files

__all__ = ["add_parser", "cmd_screen"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``screen`` to the subcommands."""
    p = sub.add_parser("screen", formatter_class=formatter, help="many patients against many trials",
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
    def __init__(self, fmt: str, out: IO[str]):
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
    fh: IO[str]
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


def _screen_rows(args: argparse.Namespace, src: Path, trials: list[CompiledTrial], fh: IO[str],
                 order: dict[str, int], counts: dict[str, Counter[str]], errors: list[str]) -> int:
    """Screen every patient, writing the rows to ``fh``; the number of patients."""
    from eligimatch.screening._results import ScreenError
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
        if isinstance(record, ScreenError):  # record.ok is False
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
