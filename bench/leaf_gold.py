"""Read the LCT/Leaf corpus: logical forms (gold) and the registry sentences they annotate.

A logical-form file ``NCT…_i.js`` holds four parts: the INC/EXC flag, the tokenised
sentence, the inline-tagged sentence and the logical form, e.g.::

    lab("ANC").num_filter(eq(op(GTEQ), val("1500"), unit("/mm3")))
    proc("chemo").temporality(eq(op(LTEQ), val("4"), temporal_unit(WEEK)))
    neg(cond("hearing problem"))

:func:`gold_of` turns a logical form into the tuples scored by ``draft_score.py``;
:func:`registry_sentence` finds the sentence as the registry wrote it in the trial's
brat ``.txt`` document (the logical-form copy is tokenised: ``0 - 2`` for ``0~2``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["Call", "GoldCriterion", "GoldNumber", "gold_of", "load_leaf", "parse_lf"]


@dataclass
class Call:
    name: str
    args: list[Call | str] = field(default_factory=list)
    chain: list[Call] = field(default_factory=list)


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<p>[().,]))', re.DOTALL)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            pos += 1  # skip anything odd (stray characters in a few files)
            continue
        kind = m.lastgroup or "p"
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse_lf(text: str) -> list[Call]:
    """The calls of a logical form (top-level expressions), tolerant of the corpus's slips."""
    toks = _tokens(text)
    i = 0

    def primary() -> Call | str | None:
        nonlocal i
        if i >= len(toks):
            return None
        kind, val = toks[i]
        if kind == "str":
            i += 1
            return val[1:-1]
        if kind == "name":
            i += 1
            call = Call(val)
            if i < len(toks) and toks[i] == ("p", "("):
                i += 1
                call.args = arglist()
            return chain(call)
        if (kind, val) == ("p", "("):  # a bare parenthesised expression
            i += 1
            inner = arglist()
            call = Call("group", inner)
            return chain(call)
        i += 1
        return None

    def chain(call: Call) -> Call:
        nonlocal i
        while i + 1 < len(toks) and toks[i] == ("p", ".") and toks[i + 1][0] == "name":
            i += 1
            name = toks[i][1]
            i += 1
            link = Call(name)
            if i < len(toks) and toks[i] == ("p", "("):
                i += 1
                link.args = arglist()
            call.chain.append(link)
        return call

    def arglist() -> list[Call | str]:
        nonlocal i
        args: list[Call | str] = []
        while i < len(toks):
            if toks[i] == ("p", ")"):
                i += 1
                return args
            if toks[i] == ("p", ","):
                i += 1
                continue
            before = i
            a = primary()
            if a is not None:
                args.append(a)
            if i == before:
                i += 1
        return args

    out: list[Call] = []
    while i < len(toks):
        before = i
        p = primary()
        if isinstance(p, Call):
            out.append(p)
        if i == before:
            i += 1
    return out


@dataclass(frozen=True)
class GoldNumber:
    kind: str  # "numeric" | "age" | "temporal" (a number in time units that is not an age: window or duration)
    op: str  # "<" "<=" ">" ">=" "==" "between"
    value: float
    high: float | None
    unit: str | None  # the unit()/per() parts joined by "/" (temporal: the temporal unit)
    negated: bool = False  # inside a neg(...)


@dataclass
class GoldCriterion:
    trial: str
    index: int
    kind: str  # "INC" | "EXC"
    tokenised: str
    lf: str
    sentence: str | None = None  # as the registry wrote it
    numbers: list[GoldNumber] = field(default_factory=list)
    negated: bool = False
    sexes: set[str] = field(default_factory=set)


_OPS = {"GT": ">", "GTEQ": ">=", "LT": "<", "LTEQ": "<=", "EQ": "==", "BETWEEN": "between"}


def _walk(call: Call | str, receiver: Call | None = None, negated: bool = False):
    """Every call with the head of the chain it hangs on, and whether a neg(...) encloses it."""
    if isinstance(call, str):
        return
    inner = negated or call.name == "neg"
    yield call, receiver, negated
    for a in call.args:
        yield from _walk(a, None, inner)
    for link in call.chain:
        yield link, call, negated
        for a in link.args:
            yield from _walk(a, None, inner or link.name == "neg")


def _eq_number(eq: Call, kind: str) -> GoldNumber | None:
    ops = [a.args[0] for a in eq.args if isinstance(a, Call) and a.name == "op" and a.args
           and isinstance(a.args[0], Call)]
    vals = [a.args[0] for a in eq.args if isinstance(a, Call) and a.name == "val" and a.args
            and isinstance(a.args[0], str)]
    names = [o.name for o in ops if o.name in _OPS]
    past = any(isinstance(a, Call) and a.name == "temporal_per" and a.args and isinstance(a.args[0], Call)
               and a.args[0].name == "PAST" for a in eq.args)
    timed = any(isinstance(a, Call) and a.name == "temporal_unit" for a in eq.args)
    if not names and (past or timed and kind == "temporal") and len(vals) == 1:
        # eq(temporal_per(PAST), val("6"), temporal_unit(MONTH)) or a bare period in a .temporality():
        # "in the past 6 months", "within 60 days" — a window reaching back that far
        names = ["LTEQ"]
    if sorted(names) == ["BETWEEN", "EQ"] and len(vals) == 2:
        # "BIMS = 8-15" annotated eq(op(EQ), val("8"), op(BETWEEN), val("15")): the "=" is the copula, the
        # relation is the range (EQ with LT/GT is not merged: "= <1" may mean "=<", or "is < 1")
        names = ["BETWEEN"]
    if len(names) != 1 or not vals:
        return None
    units: list[str] = []
    if names != ["BETWEEN"] and len(vals) == 2 and vals[1] in ("109", "10^9", "10 9"):
        vals, units = vals[:1], ["10^9"]  # val("1.5"), val("109"), unit("L"): 1.5 x 10^9/L
    try:
        nums = [float(v.replace(",", "")) for v in vals]
    except ValueError:
        return None
    op = _OPS[names[0]]
    if (op == "between") != (len(nums) == 2) or len(nums) > 2:
        return None
    for a in eq.args:
        if isinstance(a, Call) and a.name in ("unit", "per") and a.args:
            u = a.args[0]
            units.append(u if isinstance(u, str) else u.name)
        if isinstance(a, Call) and a.name == "temporal_unit" and a.args and isinstance(a.args[0], Call):
            if kind == "numeric":
                kind = "temporal"
            units.append(a.args[0].name.lower())
    unit = "/".join(units) if units else None
    return GoldNumber(kind, op, nums[0], nums[1] if op == "between" else None, unit)


def _eqs(args: list[Call | str]) -> list[Call]:
    """The eq(...) among ``args``, looking inside or(...)/and(...)."""
    out: list[Call] = []
    for a in args:
        if isinstance(a, Call) and a.name == "eq":
            out.append(a)
        elif isinstance(a, Call) and a.name in ("or", "and", "union", "intersect"):
            out.extend(_eqs(a.args))
    return out


def gold_of(lf: str) -> tuple[list[GoldNumber], bool, set[str]]:
    """Gold numbers (numeric thresholds, age, temporal windows), negation and sexes of a logical form."""
    numbers: list[GoldNumber] = []
    negated = False
    sexes: set[str] = set()
    for top in parse_lf(lf):
        for call, receiver, under_neg in _walk(top):
            if call.name == "neg":
                negated = True
            if call.name in ("female", "male"):
                sexes.add(call.name)
            if call.name == "num_filter":
                is_age = receiver is not None and receiver.name == "age"
                for eq in _eqs(call.args):
                    if isinstance(eq, Call) and eq.name == "eq":
                        n = _eq_number(eq, "age" if is_age else "numeric")
                        if n is not None:
                            kind = n.kind
                            numbers.append(replace(n, kind=kind, negated=under_neg))
            if call.name in ("temporality", "duration", "during"):
                for eq in _eqs(call.args):
                    if isinstance(eq, Call) and eq.name == "eq":
                        n = _eq_number(eq, "temporal")
                        if n is not None and n.kind == "temporal":
                            kind = "temporal"  # the annotators use all three for windows and durations alike
                            numbers.append(replace(n, kind=kind, negated=under_neg))
    return numbers, negated, sexes


def _squash(s: str) -> str:
    s = s.lower().replace("≥", ">=").replace("≤", "<=").replace("&gt;", ">").replace("&lt;", "<")
    return re.sub(r"[^0-9a-z<>=%]", "", s)


def registry_sentence(tokenised: str, lines: list[str]) -> str | None:
    """The line of the trial's document that the tokenised sentence was made from."""
    key = _squash(tokenised)
    if not key:
        return None
    best, best_score = None, 0.0
    for line in lines:
        sq = _squash(line)
        if not sq:
            continue
        if key == sq or (len(key) > 12 and key in sq and len(key) > 0.6 * len(sq)):
            return line
        score = difflib.SequenceMatcher(None, key, sq, autojunk=False).ratio()
        if score > best_score:
            best, best_score = line, score
    return best if best_score >= 0.8 else None


def _strip_marker(line: str) -> str:
    return re.sub(r"^\s*(?:[-*•]\s+|\d{1,3}[.)]\s*|[a-z][.)]\s+)?", "", line).strip()


def load_leaf(root: Path) -> list[GoldCriterion]:
    """The logical-form criteria of the corpus half in ``root`` (one per sentence: the lowest
    annotator's when doubly annotated), each with its registry sentence when found."""
    lf_root, doc_root = root / "leaf_logical_forms", root / "leaf_clinical_trials"
    docs = {p.stem: p for p in doc_root.glob("*/*.txt")}
    seen: dict[tuple[str, int], GoldCriterion] = {}
    for path in sorted(lf_root.glob("annotator_*/*/*.js")):
        m = re.match(r"(NCT\d{8})_(\d+)$", path.stem)
        if not m:
            continue
        key = (m.group(1), int(m.group(2)))
        if key in seen:
            continue
        parts = re.findall(r"^'(.*)'\s*$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        text = path.read_text(encoding="utf-8")
        lf = text.split("\n\n", 3)[-1] if text.count("\n\n") >= 3 else ""
        if len(parts) < 2:
            continue
        crit = GoldCriterion(trial=key[0], index=key[1], kind=parts[0], tokenised=parts[1], lf=lf)
        crit.numbers, crit.negated, crit.sexes = gold_of(lf)
        doc = docs.get(key[0])
        if doc is not None:
            lines = doc.read_text(encoding="utf-8").splitlines()
            found = registry_sentence(parts[1], lines)
            crit.sentence = _strip_marker(found) if found is not None else None
        seen[key] = crit
    return list(seen.values())
