"""Run the soundness properties as plain seeded loops and count the failures by kind (not a test).

Hypothesis stops a property at its first failure and shrinks it; to see *every* class of defect a property
finds, this runs each property's body on ``--n`` seeds (``random.Random(seed)``, the same generators) and
tallies the failing seeds by what the generator did (the blurring, the respelling...), with the first
failure of each kind.  Used for docs/reliability.md ("what the properties find on the code before the
issue-18 fixes"):

    PYTHONPATH=src:tests python tests/census.py --n 400 [--only blurring,vocabulary] [--single]
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import time

import test_soundness as S


def _kind(prop: str, notes: list[str], message: str) -> str:
    if prop == "blurring":
        m = re.search(r"blurred: \[(.*?)\]$", notes[0] if notes else "")
        kinds = sorted({w.strip("'\" ").split(" ")[0] for w in (m.group(1).split("', '") if m else [])})
        return "+".join(kinds) or "?"
    if prop == "vocabulary":
        if notes and notes[0].startswith("observations."):
            return "implausible result"
        m = re.match(r"(facts\.(\w+)|(conditions|procedures)\.\d+\.attributes\.(\w+)): (.*) \(meaning (.*)\)",
                     notes[0] if notes else "")
        if not m:
            return "?"
        if m.group(2):
            fd = S.F.CATS.facts.resolve(m.group(2))
            kind = f"{fd.type} fact" if fd else "fact"
        else:
            kind = "yes/no attribute" if m.group(4) not in ("stage", "grade") else "coded attribute"
        return f"{kind}, {'declared spelling' if m.group(6) != 'None' else 'undeclared value'}"
    if prop == "malformed":
        if notes and notes[0].startswith("a byte-order mark"):
            return "a byte-order mark: refused"
        m = re.match(r"(.*): must be refused at (\S+)", notes[0] if notes else "")
        how = m.group(1) if m else "?"
        if "DID NOT RAISE" in message:
            return f"{how}: accepted"
        return f"{how}: refused without naming the field"
    if prop == "order":
        return "same-date pair" if any(n.startswith("same-date pair") for n in notes) else "order"
    return message.split("\n")[0][:80]


PROPS = {
    "blurring": S.test_blurring_information_never_creates_a_decision,
    "vocabulary": S.test_values_outside_the_vocabulary_never_decide,
    "order": S.test_record_order_never_decides,
    "windows": S.test_one_window_arithmetic_for_every_record,
    "ages": S.test_exact_age_against_fractional_thresholds,
    "malformed": S.test_malformed_documents_are_refused_naming_the_field,
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--only", default="")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--single", action="store_true", help="one blurring operation per case (one kind per failure)")
    args = ap.parse_args()
    if args.single:
        blur = S.B.blur
        S.B.blur = lambda doc, r: blur(doc, r, max_ops=1)
    notes: list[str] = []
    S.note = notes.append  # the properties' notes, collected instead of hypothesis's
    S.event = lambda *a, **k: None
    chosen = [p for p in PROPS if not args.only or p in args.only.split(",")]
    for name in chosen:
        inner = PROPS[name].hypothesis.inner_test
        counts: collections.Counter[str] = collections.Counter()
        first: dict[str, tuple[int, list[str], str]] = {}
        errors = 0
        t0 = time.perf_counter()
        for seed in range(args.seed, args.seed + args.n):
            notes.clear()
            try:
                inner(random.Random(seed))
            except AssertionError as exc:
                msg = str(exc)
                kind = _kind(name, list(notes), msg)
            except BaseException as exc:  # a crash is a finding too
                if isinstance(exc, KeyboardInterrupt):
                    raise
                msg = str(exc)
                if type(exc).__name__ == "Failed":  # pytest.raises: DID NOT RAISE
                    kind = _kind(name, list(notes), "DID NOT RAISE")
                else:
                    errors += 1
                    kind = f"crash {type(exc).__name__}: {msg[:60]}"
            else:
                continue
            counts[kind] += 1
            first.setdefault(kind, (seed, list(notes), msg))
        dt = time.perf_counter() - t0
        failed = sum(counts.values())
        print(f"## {name}: {failed} of {args.n} seeds fail ({dt:.0f} s)")
        for kind, n in counts.most_common():
            seed, ns, msg = first[kind]
            print(f"- {n:4d}  {kind}   (first: seed {seed})")
            for line in (msg.split("\n")[:3] + ns[:1]):
                print(f"        {line[:300]}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
