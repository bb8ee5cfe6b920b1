"""How much of a folder of FHIR bundles eligimatch maps: the coverage table of docs/fhir.md.

    PYTHONPATH=src python bench/fhir_coverage.py ../shared/corpora/fhir/ [--top N]

The same as ``eligimatch fhir-report DIR`` (eligimatch.sources.fhir._coverage): the share of clinically
relevant resources (Condition; Observation of labs, vitals, performance status, tumour markers,
staging; MedicationStatement/Request/Administration; Procedure) that map into the profile, by
resource type, kind and code system, and the codes most often left unmapped.  A measurement,
not a test: nothing is asserted here (tests/test_fhir_coverage.py holds the floor).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from eligimatch.sources.fhir import bundle_paths, measure_coverage as measure, render_coverage as render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    paths = bundle_paths(args.folder)
    started = time.perf_counter()
    cov = measure(paths)
    print(render(cov, top=args.top))
    print(f"\n({len(paths)} files read in {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
