"""Draft every record of the ClinicalTrials.gov corpus and tabulate what became computable.

    PYTHONPATH=src python bench/draft_corpus.py [--shared ../shared] [--out DIR] [--markdown]

For each distinct trial (the first file of each NCT id, in path order): items,
drafted (computable), judgment, the reasons for judgment, and whether the drafted
file compiles and passes ``check`` (no lint finding).  Records without criteria text
are listed with the drafter's message.  ``--markdown`` prints the tables used in
docs/drafting.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from eligimatch import compile_trial
from eligimatch.ctgov import draft_trial, load_record
from eligimatch.errors import EligimatchError, RegistryError
from eligimatch.language import lint


def _reason_class(reason: str) -> str:
    """The reason without its particulars ("words the drafter does not read: x y" -> "words the drafter does not
    read")."""
    return re.sub(r"\s*[:(].*$", "", reason).strip()


def run(root: Path, out: Path | None = None) -> dict[str, object]:
    files = sorted(p for p in (root / "corpora" / "ctgov" / "aact").glob("*/*") if p.suffix in (".json", ".xml"))
    seen: set[str] = set()
    rows = []
    no_text = []
    reasons: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    failures = []
    categories: dict[str, Counter[str]] = {name: Counter() for name, _ in CATEGORIES}
    for path in files:
        record = load_record(path)
        if record.id in seen:
            continue
        seen.add(record.id)
        try:
            draft = draft_trial(record)
        except RegistryError as exc:
            no_text.append((record.id, path.name, str(exc)))
            continue
        try:
            trial = compile_trial(draft.text, filename=f"{record.id}.elig")
            findings = list(lint(trial))
        except EligimatchError as exc:
            failures.append((record.id, str(exc)))
            findings = []
        if findings:
            failures.extend((record.id, f.render()) for f in findings)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{record.id}.elig").write_text(draft.text, encoding="utf-8")
        for d in draft.items:
            categories[category(d.item.text)]["drafted" if d.computable else "judgment"] += 1
            if not d.computable and d.reason:
                reasons[_reason_class(d.reason)] += 1
            for word in d.missing:
                missing[word.lower().strip(" ,;:()")] += 1
            if d.reason and d.reason.startswith("words the drafter does not read"):
                for w in d.reason.split(":", 1)[1].split():
                    missing[w.lower()] += 1
            if d.reason in ("no form the drafter reads", "a number whose subject the catalogs do not know"):
                for phrase in set(_topics(d.item.text)):
                    topics[phrase] += 1
        rows.append((record.id, path.parent.name, len(draft.items), draft.computable, draft.judgment,
                     len(draft.structured)))
    return {"rows": rows, "no_text": no_text, "reasons": reasons, "missing": missing, "failures": failures,
            "topics": topics, "categories": categories}


# criterion categories, the first that applies (keywords of the item's sentence; a rough but fixed partition)
CATEGORIES = [
    ("age", r"\b(?:age[sd]?|years?\s+old|year-old|older|younger)\b|^\s*\d+\s*(?:years|yrs)"),
    ("sex / pregnancy / contraception", r"\b(?:pregnan\w*|lactat\w*|breast-?feed\w*|nursing|contracept\w*|"
     r"childbearing|child-bearing|birth control|male|female|men|women)\b"),
    ("performance status", r"\b(?:ecog|karnofsky|zubrod|performance status|lansky)\b"),
    ("labs and organ function", r"\b(?:count|platelet\w*|neutrophil\w*|anc|hemoglobin|haemoglobin|hb|bilirubin|ast|"
     r"alt|sgot|sgpt|creatinine|clearance|gfr|egfr|uln|inr|albumin|wbc|leukocyte\w*|lab\w*|serum|plasma|mg/dl|"
     r"g/dl|mm3|10\^9|109/l)\b"),
    ("consent / compliance", r"\b(?:consent|comply|compliance|willing\w*|able to|ability to)\b"),
    ("infections (HIV/HBV/HCV/TB)", r"\b(?:hiv|hepatitis|hbv|hcv|tuberculosis|infection\w*)\b"),
    ("prior / concurrent therapy", r"\b(?:therap\w*|treatment\w*|chemotherap\w*|drug\w*|medication\w*|agent\w*|"
     r"vaccin\w*|surgery|radiotherap\w*|radiation|transplant\w*|steroid\w*|received|receiving)\b"),
    ("life expectancy", r"\b(?:life expectancy|survival|expected to live)\b"),
    ("conditions and history", r"\b(?:history|disease\w*|disorder\w*|cancer|carcinoma|tumou?r\w*|metasta\w*|"
     r"syndrome|diabetes|infarction|stroke|diagnos\w*|condition\w*)\b"),
    ("other (study logistics, scales, ...)", r""),
]


def category(text: str) -> str:
    return next(name for name, pat in CATEGORIES if not pat or re.search(pat, text, re.IGNORECASE))


_STOP = set("""a an the and or of with in on to for be is are was were must should have has had not no any other than
who which that this these those as by at from within after before prior during patients patient subjects subject
participants participant study trial investigator judgment opinion may can will would all able willing e.g i.e
such including include includes known history current currently previous previously least more less than years
year months month weeks week days day use used using based defined per criteria following time treatment therapy
""".split())


def _topics(text: str) -> list[str]:
    """Two-word phrases of content words: a rough view of the concepts an unread item is about."""
    words = [w for w in re.findall(r"[a-z][a-z\-]+", text.lower())]
    out = []
    for a, b in zip(words, words[1:]):
        if a not in _STOP and b not in _STOP and len(a) > 2 and len(b) > 2:
            out.append(f"{a} {b}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("ELIGIMATCH_SHARED",
                                                       str(Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--out", default=None, help="write the drafted files into this folder")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    res = run(Path(args.shared), Path(args.out) if args.out else None)
    rows = res["rows"]
    assert isinstance(rows, list)
    total_items = sum(r[2] for r in rows)
    total_comp = sum(r[3] for r in rows)
    print(f"{len(rows)} trials drafted, {len(res['no_text'])} without criteria text; "  # type: ignore[arg-type]
          f"{total_items} items: {total_comp} drafted ({total_comp / max(total_items, 1):.0%}), "
          f"{total_items - total_comp} judgment; failures (compile or check): {len(res['failures'])}")  # type: ignore[arg-type]
    for tid, msg in res["failures"]:  # type: ignore[attr-defined]
        print(f"FAIL {tid}: {msg}")
    if args.markdown:
        print("\n| trial | format | items | drafted | judgment | drafted % |\n|---|---|---:|---:|---:|---:|")
        for tid, fmt, n, comp, judg, _ in rows:
            print(f"| {tid} | {fmt} | {n} | {comp} | {judg} | {comp / n:.0%} |")
        print(f"| **all {len(rows)}** | | **{total_items}** | **{total_comp}** | **{total_items - total_comp}** | "
              f"**{total_comp / max(total_items, 1):.0%}** |")
        print("\n| category (first that applies) | items | drafted | judgment | drafted % |\n|---|---:|---:|---:|---:|")
        for name, c in res["categories"].items():  # type: ignore[attr-defined]
            n = c["drafted"] + c["judgment"]
            print(f"| {name} | {n} | {c['drafted']} | {c['judgment']} | {c['drafted'] / max(n, 1):.0%} |")
        print("\n| why an item stayed judgment | items |\n|---|---:|")
        for reason, n in res["reasons"].most_common():  # type: ignore[attr-defined]
            print(f"| {reason} | {n} |")
        print("\n| words the drafter did not read (most frequent) | items |\n|---|---:|")
        for word, n in res["missing"].most_common(30):  # type: ignore[attr-defined]
            print(f"| {word} | {n} |")
        print("\n| phrases in items no reader placed (most frequent) | items |\n|---|---:|")
        for phrase, n in res["topics"].most_common(30):  # type: ignore[attr-defined]
            print(f"| {phrase} | {n} |")
        print("\n| record without criteria text | message |\n|---|---|")
        for tid, name, msg in res["no_text"]:  # type: ignore[attr-defined]
            print(f"| {tid} ({name}) | {msg} |")
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
