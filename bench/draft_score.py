"""Score :func:`eligimatch.ctgov.extract` on the labelled criteria corpora.

    PYTHONPATH=src python bench/draft_score.py [--shared ../shared] [--json] [--show N]

* **LCT / Leaf (dev half)** in ``<shared>/corpora/criteria/leaf``: every criterion with
  a logical form; ``extract`` reads the sentence as the registry wrote it (the brat
  ``.txt`` document), never the tokenised copy.  Scored: (operator, value, unit) of the
  ``num_filter`` thresholds, of ages and of ``.temporality`` windows; negation (a gold
  number inside ``neg(...)`` against ``Constraint.negated``); sexes (``female()`` /
  ``male()`` against ``sex`` constraints).  A predicted number that matches a gold
  number's value but not its operator is listed in the confusion list; a *reversed*
  operator points the other way (``<`` for ``>=``, a range for a bound is not reversed).
* **Facebook Clinical-Trial-Parser** interpreter test pairs: each expected interval
  (lower/upper, inclusive or not, value sets) against the constraints read.

Units are compared after the usual respellings (``x 109/L`` = ``10^9/L``, ``mm 3`` =
``/mm3``, ``ml/MINUTE`` = ``mL/min``) and then by eligimatch's unit reader (a factor of 1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from leaf_gold import GoldCriterion, GoldNumber, load_leaf

from eligimatch.ctgov.extract import Constraint, extract
from eligimatch.errors import UnitError
from eligimatch.knowledge import conversion_factor

TIME_UNITS = {"hours", "days", "weeks", "months", "years"}
DIRECTION = {"<": -1, "<=": -1, ">": 1, ">=": 1, "==": 0, "between": 0}


_NOT_UNITS = {"score", "scores", "point", "points", "stage", "grade", "class", "type", "level"}


def _unit_key(u: str | None) -> str | None:
    if u is None or u.strip().lower() in _NOT_UNITS:
        return None  # the annotators sometimes tag the scale's name ("score", "stage") as the unit
    s = u
    s = re.sub(r"\bMINUTE\b", "min", s)
    s = re.sub(r"\bDAY\b", "d", s)
    s = re.sub(r"\bWEEK\b", "wk", s)
    s = re.sub(r"\bHOUR\b", "h", s)
    s = s.replace("μ", "µ").replace("²", "2").replace("×", "x")
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"^x?10\^?9|^x?109", "10^9", s)
    s = re.sub(r"^(?:cells)?/?mm\^?3$", "/mm3", s)
    parts = s.split("/")
    if len(parts) == 2 and parts[0] == parts[1]:  # a range's unit written twice: "%/%"
        s = parts[0]
    if s.startswith("10^9") and not s.startswith("10^9/"):
        s = "10^9/" + s[4:].lstrip("/")
    return s


def units_equal(pred: str | None, gold: str | None) -> bool:
    a, b = _unit_key(pred), _unit_key(gold)
    if a is None or b is None:
        return a is None and b is None
    if a is not None and b is not None and a.lower() == b.lower():
        return True
    try:
        return abs(conversion_factor(a or "", b or "") - 1.0) < 1e-9
    except (UnitError, ValueError, TypeError):
        return False


def _singular(u: str | None) -> str | None:
    return u[:-1] if u and u.endswith("s") else u


@dataclass
class Tally:
    pred: int = 0
    gold: int = 0
    correct: int = 0
    wrong_op: list[tuple[str, str, str, str]] = field(default_factory=list)  # gold op, pred op, value, sentence
    reversed: int = 0
    missed: list[tuple[str, str]] = field(default_factory=list)
    spurious: list[tuple[str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.pred if self.pred else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 1.0

    def row(self) -> dict[str, float | int]:
        return {"predicted": self.pred, "gold": self.gold, "correct": self.correct,
                "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "wrong_operator": len(self.wrong_op), "reversed": self.reversed}


def _gold_matches(c: Constraint, g: GoldNumber, *, time: bool) -> bool:
    if c.op != g.op or abs(float(c.value) - g.value) > 1e-9:
        return False
    if (c.high is None) != (g.high is None) or (c.high is not None and g.high is not None
                                                and abs(c.high - g.high) > 1e-9):
        return False
    if time:
        gold_unit = (g.unit or ("year" if g.kind == "age" else "")).split("/")[0].lower()
        return _singular(c.unit) == gold_unit
    if c.relative_to is not None:
        return g.unit is not None and ("REF_RANGE" in g.unit or "ULN" in g.unit.upper() or "LLN" in g.unit.upper())
    return units_equal(c.unit, g.unit)


def score_pairs(tally: Tally, preds: list[Constraint], golds: list[GoldNumber], sentence: str, *, time: bool,
                neg: Tally | None = None) -> None:
    tally.pred += len(preds)
    tally.gold += len(golds)
    free = list(golds)
    for c in preds:
        hit = next((g for g in free if _gold_matches(c, g, time=time)), None)
        if hit is not None:
            free.remove(hit)
            tally.correct += 1
            if neg is not None:
                neg.gold += hit.negated
                neg.pred += c.negated
                neg.correct += hit.negated and c.negated
                if hit.negated and not c.negated:
                    neg.missed.append((f"{c.op} {c.value}", sentence))
                if c.negated and not hit.negated:
                    neg.spurious.append((f"{c.op} {c.value}", sentence))
            continue
        same_value = next((g for g in golds if abs(float(c.value) - g.value) < 1e-9 and g.op != c.op), None)
        if same_value is not None:
            tally.wrong_op.append((same_value.op, c.op, f"{c.value:g}", sentence))
            if DIRECTION[same_value.op] * DIRECTION[c.op] < 0:
                tally.reversed += 1
        else:
            tally.spurious.append((f"{c.op} {c.value:g} {c.unit or c.relative_to or ''}".strip(), sentence))
    for g in free:
        tally.missed.append((f"{g.op} {g.value:g}{'-' + format(g.high, 'g') if g.high is not None else ''} "
                             f"{g.unit or ''}".strip(), sentence))


def score_leaf(criteria: list[GoldCriterion]) -> dict[str, object]:
    numeric, age, temporal, neg = Tally(), Tally(), Tally(), Tally()
    sex = Tally()
    skipped = 0
    for crit in criteria:
        if not crit.lf.strip():
            continue  # a criterion the annotators left without a logical form: nothing to score against
        if crit.sentence is None:
            skipped += 1
            continue
        cons = extract(crit.sentence)
        preds_num = [c for c in cons if c.subject not in ("age", "sex") and c.window_days is None
                     and c.unit not in TIME_UNITS]
        preds_age = [c for c in cons if c.subject == "age"]
        preds_time = [c for c in cons if c.subject != "age" and (c.window_days is not None or c.unit in TIME_UNITS)]
        score_pairs(numeric, preds_num, [g for g in crit.numbers if g.kind == "numeric"], crit.sentence,
                    time=False, neg=neg)
        score_pairs(age, preds_age, [g for g in crit.numbers if g.kind == "age"], crit.sentence, time=True, neg=neg)
        score_pairs(temporal, preds_time, [g for g in crit.numbers if g.kind == "temporal"], crit.sentence,
                    time=True, neg=neg)
        pred_sex = {str(c.value) for c in cons if c.subject == "sex"}
        sex.pred += len(pred_sex)
        sex.gold += len(crit.sexes)
        sex.correct += len(pred_sex & crit.sexes)
    return {"criteria": len(criteria), "without_registry_sentence": skipped, "numeric": numeric, "age": age,
            "temporal": temporal, "negation": neg, "sex": sex}


def score_fb(path: Path) -> dict[str, object]:
    """Each expected relation of the Facebook pairs: its bounds (and sets) against the constraints read."""
    tally = Tally()
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        sentence = case["input"]
        cons = [c for c in extract(sentence) if c.subject != "sex"]
        expected = case["expected"].get("expected") or []
        golds: list[tuple[str, float, float | None]] = []
        for rel in expected:
            lo, hi, vals = rel.get("lower"), rel.get("upper"), rel.get("value")
            if lo and hi:
                if lo.get("incl") and hi.get("incl"):
                    golds.append(("between", float(lo["value"]), float(hi["value"])))
                else:
                    golds.append((">=" if lo.get("incl") else ">", float(lo["value"]), None))
                    golds.append(("<=" if hi.get("incl") else "<", float(hi["value"]), None))
            elif lo:
                golds.append((">=" if lo.get("incl") else ">", float(lo["value"]), None))
            elif hi:
                golds.append(("<=" if hi.get("incl") else "<", float(hi["value"]), None))
            elif vals:
                nums = sorted(float(v) for v in vals if re.fullmatch(r"\d+(\.\d+)?", v))
                if nums and nums == [float(x) for x in range(int(nums[0]), int(nums[-1]) + 1)]:
                    golds.append(("between", nums[0], nums[-1]) if len(nums) > 1 else ("==", nums[0], None))
        def bounds(op: str, value: float, high: float | None) -> list[tuple[str, float, float | None]]:
            if op == "between" and high is not None:  # a closed range is two inclusive bounds
                return [(">=", value, None), ("<=", high, None)]
            return [(op, value, high)]

        golds = [b for g in golds for b in bounds(*g)] if any(g[0] != "between" or g[1] != g[2] for g in golds) \
            else golds
        preds = [b for c in cons if isinstance(c.value, float) for b in bounds(c.op, c.value, c.high)]
        tally.pred += len(preds)
        tally.gold += len(golds)
        free = list(golds)
        ok = True
        for p in preds:
            if p in free:
                free.remove(p)
                tally.correct += 1
            else:
                ok = False
                same = next((g for g in golds if g[1] == p[1] and g[0] != p[0]), None)
                if same:
                    tally.wrong_op.append((same[0], p[0], f"{p[1]:g}", sentence))
                    tally.reversed += DIRECTION[same[0]] * DIRECTION[p[0]] < 0
                else:
                    tally.spurious.append((f"{p[0]} {p[1]:g}", sentence))
        for g in free:
            ok = False
            tally.missed.append((f"{g[0]} {g[1]:g}", sentence))
        rows.append((sentence, ok))
    return {"pairs": len(rows), "exact": sum(ok for _, ok in rows), "bounds": tally}


def unused_entries(tables: dict[str, Tally], path: Path) -> list[str]:
    """The entries of ``path`` that set aside no disagreement (stale: the reading or the scorer changed)."""
    import tomllib

    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("entry", []) if path.exists() else []
    out = []
    for e in entries:
        t = tables.get(e["table"])
        items = [] if t is None else [(item, s) for item, s in t.spurious] + [(v, s) for _, _, v, s in t.wrong_op] + (
            list(t.missed) if e["table"] == "negation" else [])
        if not any(s.startswith(e["sentence"]) and abs(float(e["value"]) - float(item.split()[1] if " " in item
                                                                                   else item)) < 1e-9
                   for item, s in items):
            out.append(f"{e['table']}: {e['sentence']}")
    return out


def adjudicate(tables: dict[str, Tally], path: Path) -> dict[str, dict[str, float | int]]:
    """Each table's figures once the disagreements listed in ``path`` (judged to be the gold's) are set aside."""
    import tomllib

    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("entry", []) if path.exists() else []

    def listed(table: str, value: str, sentence: str) -> bool:
        return any(e["table"] == table and sentence.startswith(e["sentence"])
                   and abs(float(e["value"]) - float(value.split()[1] if " " in value else value)) < 1e-9
                   for e in entries)

    out: dict[str, dict[str, float | int]] = {}
    for name, t in tables.items():
        spurious_ok = sum(1 for item, s in t.spurious if listed(name, item, s))
        wrong_ok = sum(1 for g, p, v, s in t.wrong_op if listed(name, v, s))
        correct = t.correct + spurious_ok + wrong_ok
        gold = t.gold
        lost = sum(1 for item, s in t.missed if not listed(name, item, s)) if name == "negation" else None
        row: dict[str, float | int] = {"precision": round(correct / t.pred, 3) if t.pred else 1.0,
                                       "recall": round((t.correct + wrong_ok) / gold, 3) if gold else 1.0,
                                       "set_aside": spurious_ok + wrong_ok,
                                       "wrong_operator": len(t.wrong_op) - wrong_ok, "reversed": t.reversed}
        if lost is not None:
            row["lost"] = lost
            row["set_aside"] = len(t.missed) - lost
        out[name] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.environ.get("ELIGIMATCH_SHARED", str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--shared", default=default, help="the shared folder (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="the figures as JSON")
    ap.add_argument("--show", type=int, default=0, help="list up to N misses and spurious readings per table")
    args = ap.parse_args(argv)
    root = Path(args.shared) / "corpora" / "criteria"
    if not root.exists():
        print(f"no corpus at {root}", file=sys.stderr)
        return 2
    leaf = score_leaf(load_leaf(root / "leaf"))
    fb = score_fb(root / "fb-clinical-trial-parser" / "interpreter_test_pairs.jsonl")
    tables = {k: v for k, v in leaf.items() if isinstance(v, Tally)}
    if args.json:
        out = {"leaf": {k: v.row() for k, v in tables.items()}, "fb": fb["bounds"].row(),  # type: ignore[union-attr]
               "adjudicated": adjudicate(tables, Path(__file__).resolve().parent  # type: ignore[arg-type]
                                         / "draft_adjudication.toml"),
               "fb_exact": fb["exact"], "fb_pairs": fb["pairs"], "criteria": leaf["criteria"],
               "lost_negations": len(leaf["negation"].missed),  # type: ignore[union-attr]
               "spurious_negations": len(leaf["negation"].spurious)}  # type: ignore[union-attr]
        print(json.dumps(out, indent=2))
        return 0
    print(f"LCT/Leaf dev half: {leaf['criteria']} criteria with a logical form "
          f"({leaf['without_registry_sentence']} without a registry sentence found)")
    print(f"{'':10} {'pred':>5} {'gold':>5} {'ok':>5} {'prec':>6} {'recall':>6} {'wrong op':>8} {'reversed':>8}")
    for name, t in list(tables.items()) + [("fb bounds", fb["bounds"])]:
        assert isinstance(t, Tally)
        print(f"{name:10} {t.pred:5} {t.gold:5} {t.correct:5} {t.precision:6.3f} {t.recall:6.3f} "
              f"{len(t.wrong_op):8} {t.reversed:8}")
    neg = leaf["negation"]
    assert isinstance(neg, Tally)
    print(f"negation: {len(neg.missed)} lost, {len(neg.spurious)} spurious (on matched numbers)")
    adj = adjudicate(tables, Path(__file__).resolve().parent / "draft_adjudication.toml")  # type: ignore[arg-type]
    print("\nadjudicated (disagreements judged to be the gold's set aside; bench/draft_adjudication.toml):")
    for name, row in adj.items():
        print(f"{name:10} prec {row['precision']:.3f} recall {row['recall']:.3f} set aside {row['set_aside']:3} "
              f"wrong op {row['wrong_operator']} reversed {row['reversed']}"
              + (f" lost {row['lost']}" if "lost" in row else ""))
    print(f"fb pairs read exactly: {fb['exact']} of {fb['pairs']}")
    print("\nconfusion (gold op -> predicted op):")
    for name, t in list(tables.items()) + [("fb", fb["bounds"])]:
        assert isinstance(t, Tally)
        for g, p, v, s in t.wrong_op:
            print(f"  {name}: {g} -> {p} at {v}: {s[:110]}")
    if args.show:
        for name, t in list(tables.items()) + [("fb", fb["bounds"])]:
            assert isinstance(t, Tally)
            for what, lst in (("missed", t.missed), ("spurious", t.spurious)):
                for item, s in lst[:args.show]:
                    print(f"  {name} {what}: {item} | {s[:120]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
