"""docs/language.md, "Every form, from a real protocol": every form of the language has an example there,
every example compiles against the bundled catalogs, and every sentence it quotes is in the record it cites.

The forms are derived from the grammar (``grammar/criteria.lark``, through the public
``eligimatch.language.grammar_text``): each rule or alternative that can appear in a parse tree, and, for
each history predicate (conditions, therapies, procedures, doses, washouts, participation), each modifier
its rule allows (``where``, ``except``, windows, ``diagnosed``, timings, indications...).  A form added to
the grammar without an example in the page fails here.
"""

from __future__ import annotations

import html
import json
import os
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lark import Lark, Tree

import eligimatch
from eligimatch.language import grammar_text

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ELIGIMATCH_SHARED", ROOT.parent / "shared"))
PAGE = ROOT / "docs" / "language.md"
SECTION = "## Every form, from a real protocol"

#: Forms with no example, each with the reason; an entry that gains an example must leave this list.
WITHOUT_EXAMPLE = {
    "fact_recency": "no protocol of the seeds or the shared corpora states one window for all of its "
                    "recorded facts (the page says so and shows how such a statement is written)",
    "condition_current with window": "the checker refuses it (a window applies to `history of`); the page "
                                     "says so",
    "washout with span_max": "no protocol of the seeds or the shared corpora words a washout with "
                             "'whichever is longer' (the exposure form `therapy ... within max(...)` has one)",
    "washout with selectors_all": "no protocol of the seeds or the shared corpora asks for a washout from one "
                                  "record of several classes (`therapy (a and b)` has one)",
}

#: The history predicates whose modifiers each need an example of their own.
HISTORIES = ("condition_current", "condition_history", "therapy", "procedure", "washout", "participation",
             "dose", "total_dose", "stable_dose")

SOURCE = re.compile(r"^#\s*(?P<id>NCT\d{8}|CT1192-SLE|Clinical-Trial-Parser)\b")
BLOCK = re.compile(r"^```elig\n(?P<body>.*?)^```\s*$", re.M | re.S)
SENTENCE = re.compile(r'^\s*- \w+\s+(?P<strings>(?:"(?:[^"\\\n]|\\.)*"\s*)+)', re.M)
QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


@cache
def _parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", start="start")


def _name(symbol: Any) -> str:
    return str(symbol.name)


@cache
def _grammar_forms() -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """(the node names a parse tree can hold, the (history predicate, modifier) pairs the grammar allows)."""
    rules = _parser().rules
    by_origin: dict[str, list[Any]] = {}
    for r in rules:
        by_origin.setdefault(_name(r.origin), []).append(r)
    nodes: set[str] = set()
    for r in rules:
        origin = _name(r.origin)
        if origin.startswith("_"):
            continue
        if r.alias:
            nodes.add(str(r.alias))
        elif not r.options.expand1 or len([s for s in r.expansion
                                           if not (s.is_term and s.filter_out)]) > 1:
            nodes.add(origin)

    def becomes(symbol: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """The node names a nonterminal can appear as, directly under its parent."""
        if symbol in seen:
            return set()
        out: set[str] = set()
        for r in by_origin.get(symbol, []):
            if r.alias:
                out.add(str(r.alias))
                continue
            kept = [s for s in r.expansion if not (s.is_term and s.filter_out)]
            if symbol.startswith("_"):
                for s in kept:
                    if not s.is_term:
                        out |= becomes(_name(s), seen | {symbol})
            elif r.options.expand1 and len(kept) == 1:
                if not kept[0].is_term:
                    out |= becomes(_name(kept[0]), seen | {symbol})
            else:
                out.add(symbol)
        return out

    pairs: set[tuple[str, str]] = set()
    for r in rules:
        parent = str(r.alias) if r.alias else _name(r.origin)
        if parent not in HISTORIES:
            continue
        for s in r.expansion:
            if not s.is_term:
                for child in becomes(_name(s)):
                    if child not in ("concepts", "selectors", "duration", "quantity", "ref_multiple", "symbol",
                                     "text"):
                        pairs.add((parent, child))
    return frozenset(nodes), frozenset(pairs)


def _examples() -> list[tuple[str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    assert SECTION in text, f"{PAGE.name} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    out = []
    for m in BLOCK.finditer(section):
        body = m.group("body")
        first = body.splitlines()[0]
        source = SOURCE.match(first)
        assert source, f"an example does not name its record on its first line: {first!r}"
        out.append((source.group("id"), body))
    assert out, f"{SECTION}: no examples"
    return out


def _trial_text(source: str, body: str) -> str:
    if re.search(r"^trial\s", body, re.M):
        return body
    anchors = sorted(set(re.findall(r"\bbefore\s+(\w+)", body))) or ["screening"]
    return f'trial "{source}"\nanchors {", ".join(anchors)}\n{body}'


def _seen(tree: Tree) -> tuple[set[str], set[tuple[str, str]]]:
    nodes: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for t in tree.iter_subtrees():
        nodes.add(str(t.data))
        if t.data in HISTORIES:
            for child in t.children:
                if isinstance(child, Tree):
                    pairs.add((str(t.data), str(child.data)))
    return nodes, pairs


EXAMPLES = _examples()


@pytest.mark.parametrize("source, body", EXAMPLES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(EXAMPLES)])
def test_each_example_compiles_against_the_bundled_catalogs(source: str, body: str) -> None:
    trial = eligimatch.compile_trial(_trial_text(source, body))
    assert trial.criteria, "the example has no criterion"


def test_every_form_of_the_grammar_has_an_example() -> None:
    nodes, pairs = _grammar_forms()
    assert {"compare", "condition_history", "therapy", "if_then_else", "at_least", "cohort"} <= nodes
    seen_nodes: set[str] = set()
    seen_pairs: set[tuple[str, str]] = set()
    for source, body in EXAMPLES:
        n, p = _seen(_parser().parse(_trial_text(source, body)))
        seen_nodes |= n
        seen_pairs |= p
    forms = set(nodes) | {f"{a} with {b}" for a, b in pairs}
    seen = seen_nodes | {f"{a} with {b}" for a, b in seen_pairs}
    missing = sorted(forms - seen - set(WITHOUT_EXAMPLE))
    assert not missing, f"forms of the grammar without an example in {PAGE.name}: {', '.join(missing)}"
    stale = sorted(set(WITHOUT_EXAMPLE) & seen)
    assert not stale, f"WITHOUT_EXAMPLE lists forms that now have an example: {', '.join(stale)}"
    unknown = sorted(set(WITHOUT_EXAMPLE) - forms)
    assert not unknown, f"WITHOUT_EXAMPLE names forms the grammar does not have: {', '.join(unknown)}"


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", html.unescape(text)).replace("\\", "").lower()
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"[^0-9a-z≤≥%+/.,;:()'<>=\-]+", " ", text).strip()


@cache
def _record_text(source: str) -> str | None:
    seed = SHARED / "seeds" / f"{source}.txt"
    if seed.is_file():
        return _normal(seed.read_text(encoding="utf-8"))
    corpora = SHARED / "corpora"
    if source == "Clinical-Trial-Parser":
        lines = (corpora / "criteria" / "fb-clinical-trial-parser" / "interpreter_test_pairs.jsonl").read_text(
            encoding="utf-8").splitlines()
        return _normal(" ".join(json.loads(line)["input"] for line in lines if line.strip()))
    files = [p for p in (corpora / "ctgov").rglob(f"{source}*") if p.is_file()]
    files += [p for p in (corpora / "criteria").rglob(f"{source}.txt") if p.is_file()]
    if not files:
        return None
    return _normal(" ".join(p.read_text(encoding="utf-8") for p in files))


def test_each_quoted_sentence_is_in_the_record_it_cites() -> None:
    if not (SHARED / "seeds").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared corpus is not at {SHARED}")
        pytest.skip(f"the shared corpus is not at {SHARED} (set ELIGIMATCH_SHARED)")
    for source, body in EXAMPLES:
        record = _record_text(source)
        assert record is not None, f"{source}: no such record in the seeds or the shared corpora"
        quotes = ["".join(QUOTED.findall(m.group("strings"))) for m in SENTENCE.finditer(body)]
        quotes += [q for line in body.splitlines() if line.lstrip().startswith("#")
                   for q in QUOTED.findall(line)]
        assert quotes, f"an example of {source} quotes nothing"
        for quote in quotes:
            for piece in quote.split("..."):
                piece = _normal(piece.strip(" ;,."))
                if len(piece) > 2:
                    assert piece in record, f"{source}: {piece!r} is not in the record"
