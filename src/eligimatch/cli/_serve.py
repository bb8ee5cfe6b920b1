"""``eligimatch serve TRIAL...``: the matching service (JSON API, CTMS contract, page)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from eligimatch.cli._common import (
    _add_catalog,
    _catalogs,
    _date,
    _err,
    _load_trials,
    _port,
    _trial_paths,
    _workers,
)
from eligimatch.errors import UsageError

__all__ = ["add_parser", "cmd_serve"]


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``serve`` to the subcommands."""
    p = sub.add_parser("serve", formatter_class=formatter, help="the matching service and the coordinators' page",
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
