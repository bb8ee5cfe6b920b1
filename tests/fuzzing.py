"""Generators for the property tests (tests/test_properties.py and friends).

Everything here draws from a ``random.Random``-like object, so one generator
serves both hypothesis (``st.randoms(use_true_random=False)``: every draw is
recorded, so failures shrink and replay) and plain seeded loops (threads,
subprocesses, the long run).

* :class:`CriteriaGen` writes criteria texts from the grammar's own pieces:
  keywords, names from the catalogs, numbers (huge ones too), units, operators,
  parentheses.  ``day_week_only`` restricts it to what a date shift cannot
  change (windows in days or weeks, no age in years, no computed values).
* :func:`token_soup` and :func:`mutate` make the hostile texts: random grammar
  pieces, and seed files with deleted, duplicated, swapped and replaced tokens,
  truncations, random characters, deep nesting and huge numbers.
* :class:`PatientGen` writes patient documents: valid structure with extreme
  and missing values; :func:`corrupt` breaks one field and says which.
* :func:`remove_facts` takes information away from a patient (whole facts, all
  results of an analyte, records with their history's completeness unmarked,
  attributes, doses, reference ranges, birth date, sex): the less-informed
  patient of the soundness and monotonicity properties.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any

from eligimatch import Catalogs
from eligimatch.language import ast as A
from eligimatch.engine import STANDARD_ANCHORS
from eligimatch.knowledge import add_months
from eligimatch.language import grammar_text

CATS = Catalogs.default()
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = dt.date(2026, 3, 1)

BOOL_FACTS = sorted(f.id for f in CATS.facts if f.type == "bool")
NUM_FACTS = sorted((f for f in CATS.facts if f.type == "number"), key=lambda f: f.id)
DUR_FACTS = sorted((f for f in CATS.facts if f.type == "duration"), key=lambda f: f.id)
ENUM_FACTS = sorted((f for f in CATS.facts if f.type == "enum"), key=lambda f: f.id)
ANALYTES = sorted(CATS.analytes, key=lambda a: a.id)
MEASURED = [a for a in ANALYTES if a.kind != "computed"] or ANALYTES
CONDITIONS = sorted(CATS.conditions, key=lambda c: c.id)
PROCEDURES = sorted(CATS.procedures, key=lambda c: c.id)
DRUGS = sorted(CATS.drugs.drugs, key=lambda d: d.id)
CLASSES = sorted(CATS.drugs.classes, key=lambda c: c.id)
ANCHORS = list(STANDARD_ANCHORS)
ROUTES = ["oral", "intravenous", "inhaled", "topical", "ocular", "subcutaneous", "intra-articular"]

# Units a laboratory may send; each analyte keeps those it accepts (checked once, here).
UNIT_POOL = [
    "10^9/L", "/uL", "/µL", "G/L", "K/uL", "10*3/uL", "10^3/µL", "/nL", "/mm3", "cells/uL", "10^6/L",
    "g/L", "g/dL", "mg/dL", "mg/L", "µmol/L", "umol/L", "mmol/L", "ng/mL", "µg/L",
    "U/L", "IU/L", "kU/L", "IU/mL", "kIU/mL",
    "kg", "g", "lb", "cm", "m", "in", "mmHg", "kPa", "%", "1", "ms", "s", "min", "/min", "/s",
    "mL/min", "mL/s", "L/min", "kg/m2", "kg/m²", "m2", "m²", "mL/min/1.73 m2", "mL/min/1.73m²",
]
# Units that cannot apply (wrong dimension for most analytes) or do not exist.
BAD_UNITS = ["mg/dL", "10^9/L", "kg", "mmHg", "%", "furlongs", "mg/dLL", "", "x", "10^99/L", "µ", "/", "[IU]"]


# Chart-like values (issue 18).  Yes/no values of every kind; enum spellings per vocabulary.
YES_NO_ATTRIBUTES = ["symptomatic", "relapsed", "biopsy_proven", "active_lesions", "severe", "complicated",
                     "recovered", "uncontrolled", "complete", "stable_on_hormone_replacement", "active"]
YES_NO_MESS: list[Any] = ["unknown", "Unknown", 1, 0, "Y", "N", "y", "Yes", "NO", "true", "False", "maybe", "",
                          2, 0.5, "not recorded", "?"]
ENUM_MESS: dict[tuple, list[Any]] = {
    ("positive", "negative"): ["Positive", "NEGATIVE", "reactive", "Reactive", "non-reactive", "pos", "neg",
                               True, False, 1, "equivocal", "indeterminate", "unknown"],
    ("detectable", "undetectable"): ["Detectable", "UNDETECTABLE", "not detected", "detected", True, False,
                                     "positive", "unknown"],
    (): ["unknown", True, False, 1, "equivocal", "Other"],
}
MONTH_ENDS = [dt.date(2026, 8, 31), dt.date(2026, 2, 28), dt.date(2024, 2, 29), dt.date(2026, 3, 31),
              dt.date(2026, 4, 30), dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 5, 31)]


def _accepted(analyte) -> list[str]:
    out = []
    for u in UNIT_POOL:
        try:
            if analyte.accepts(u):
                analyte.recorded_factor(u)  # a scaling unit not declared for a dimensionless analyte: refused
                out.append(u)
        except Exception:  # an unreadable unit is simply not in this analyte's list
            pass
    return out or [analyte.unit]


UNITS_OF = {a.id: _accepted(a) for a in ANALYTES}


def _grammar_keywords() -> list[str]:
    words = set(re.findall(r'"([^"\s]+)"', grammar_text()))
    return sorted(w for w in words if w not in ("\\\\",))


KEYWORDS = _grammar_keywords()
OPERATORS = ["<=", ">=", "!=", "<", ">", "=", "≤", "≥", "≠", "==", "=>", "=<"]
PUNCT = ["(", ")", ",", ":", "-", "[", "]", "x", "×", "#", '"', "\n", "\n  - ", "\t", ";", "{", "}", "`", "\\"]


def huge_number(r) -> str:
    n = r.choice([20, 30, 100, 400, 1000, 5000])
    s = "9" * n
    return s if r.random() < 0.7 else s + "." + "9" * r.choice([1, 50, 400])


def number(r, *, small: bool = False) -> str:
    k = r.random()
    if k < 0.45:
        return str(r.choice([0, 1, 2, 3, 5, 7, 10, 14, 18, 21, 28, 30, 50, 70, 75, 85, 100, 120, 400, 1000]))
    if k < 0.8:
        return f"{r.uniform(0, 200):.{r.choice([1, 2, 3])}f}"
    if k < 0.9 or small:
        return r.choice(["0.0", "0.000000001", "1.50", "00", "007", "1.0000000001"])
    return huge_number(r)


# ---------------------------------------------------------------------------- criteria

class CriteriaGen:
    """Criteria text from the grammar's pieces.  Most of it compiles; some of it must not."""

    def __init__(self, r, *, day_week_only: bool = False, max_depth: int = 4, wild: float = 0.08):
        self.r = r
        self.dw = day_week_only
        self.max_depth = max_depth
        self.wild = 0.0 if day_week_only else wild  # share of deliberately odd pieces
        self.anchors = ANCHORS

    # -- pieces
    def odd(self) -> bool:
        return self.r.random() < self.wild

    def num(self) -> str:
        if self.odd():
            return huge_number(self.r)
        return number(self.r, small=True)

    def amount(self) -> str:
        if self.odd():
            return self.r.choice([huge_number(self.r), "100001", "99999", "0", "1.5", "36500"])
        return str(self.r.choice([0, 1, 2, 3, 4, 5, 6, 7, 12, 14, 21, 28, 30, 52, 90, 180, 365, 730]))

    def time_unit(self) -> str:
        if self.dw:
            return self.r.choice(["days", "weeks", "day", "week"])
        return self.r.choice(["days", "weeks", "months", "years", "day", "week", "month", "year"]
                             + (["hours"] if self.odd() else []))

    def anchor(self) -> str:
        if self.odd():
            return self.r.choice(["screenning", "today", "consent_date"])
        return self.r.choice(self.anchors)

    def duration(self) -> str:
        return f"{self.amount()} {self.time_unit()}"

    def window(self, *, half_lives: bool = False) -> str:
        if half_lives and self.r.random() < 0.3:
            hl = self.r.choice(["1", "2", "5", "0.5", "5.5"]) if not self.odd() else huge_number(self.r)
            return f"within max({self.duration()}, {hl} half-lives) before {self.anchor()}"
        return f"within {self.duration()} before {self.anchor()}"

    def name_of(self, items) -> str:
        item = self.r.choice(items)
        names = [item.id]
        if not self.dw:
            names += [n for n in (getattr(item, "name", None), *getattr(item, "synonyms", ())) if n]
        n = self.r.choice(names)
        return n if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) else '"' + n.replace('"', "") + '"'

    def concepts(self, items) -> str:
        k = self.r.choice([1, 1, 1, 2, 3])
        if k == 1:
            return self.name_of(items)
        return "(" + ", ".join(self.name_of(items) for _ in range(k)) + ")"

    def attr_value(self) -> str:
        return self.r.choice(["2", "3", "1.5", "II", "severe", "inhaled", "ocular", "oral", '"stage IV"',
                              "metastatic", "histological", "true"])

    def attr_test(self) -> str:
        name = self.r.choice(["grade", "stage", "route", "symptomatic", "active", "confirmation", "dose"])
        k = self.r.random()
        if k < 0.2:
            return name
        if k < 0.3:
            return f"not {name}"
        if k < 0.6:
            return f"{name} {self.r.choice(OPERATORS[:6])} {self.attr_value()}"
        vals = ", ".join(self.attr_value() for _ in range(self.r.choice([1, 2, 3])))
        return f"{name} {'not in' if self.r.random() < 0.4 else 'in'} ({vals})"

    def where(self) -> str:
        if self.r.random() < 0.7:
            return ""
        if self.r.random() < 0.6:
            return " where " + self.attr_test()
        return " where (" + " and ".join(self.attr_test() for _ in range(self.r.choice([2, 3]))) + ")"

    def op(self) -> str:
        return self.r.choice(OPERATORS[:9] if not self.odd() else OPERATORS)

    # -- predicates
    def predicate(self) -> str:
        r = self.r
        kinds = ["bool", "const", "numfact", "durfact", "enum", "sex", "age", "lab", "lab", "uln", "between",
                 "condition", "history", "therapy", "procedure", "dose", "stable"]
        if not self.dw:
            kinds += ["computed", "ratio", "judgment"]
        kind = r.choice(kinds)
        if kind == "bool":
            return r.choice(BOOL_FACTS) + (f" {self.window()}" if r.random() < 0.1 else "")
        if kind == "const":
            return r.choice(["true", "false"])
        if kind == "judgment":
            return "judgment"
        if kind == "numfact":
            f = r.choice(NUM_FACTS)
            rec = f" {self.window()}" if r.random() < 0.15 else ""  # a recency window on a fact (D11)
            return f"{f.id} {self.op()} {r.choice(['0', '1', '2', '3', '60', '70', '80']) if not self.odd() else self.num()}{rec}"
        if kind == "durfact":
            f = r.choice(DUR_FACTS)
            unit = r.choice(["months", "weeks", "years", "days"]) if not self.dw else r.choice(["weeks", "days"])
            return f"{f.id} {self.op()} {r.choice(['3', '6', '12', '1.5', '24'])} {unit}"
        if kind == "enum":
            f = r.choice(ENUM_FACTS)
            if r.random() < 0.5:
                return f"{f.id} {r.choice(['=', '!='])} {r.choice(f.values)}"
            vals = ", ".join(r.sample(list(f.values), k=r.randint(1, len(f.values))))
            rec = f" {self.window()}" if r.random() < 0.15 else ""
            return f"{f.id} {'not in' if r.random() < 0.3 else 'in'} ({vals}){rec}"
        if kind == "sex":
            return r.choice(["sex in (male, female)", "sex = female", "sex = male", "sex != female",
                             "sex not in (male)"])
        if kind == "age":
            unit = r.choice(["years", "months", "weeks", "days"]) if not self.dw else r.choice(["weeks", "days"])
            if r.random() < 0.5:
                return f"age between {r.choice(['18', '12', '0'])} and {r.choice(['70', '75', '65', '99'])} {unit}" + (
                    " exclusive" if r.random() < 0.2 else "")
            return f"age {self.op()} {r.choice(['18', '16', '65', '70', '6'])} {unit}"
        if kind in ("lab", "between", "uln"):
            a = r.choice(MEASURED)
            unit = r.choice(UNITS_OF[a.id])
            rec = f" {self.window()}" if r.random() < 0.25 else ""
            u = self.unit_text(unit)
            if kind == "uln":
                return f"{a.id} {self.op()} {self.num()} {r.choice(['x', '×'])} {r.choice(['ULN', 'LLN'])}{rec}"
            if kind == "between":
                return f"{a.id} between {self.num()} and {self.num()}{u}" + (
                    f" {r.choice(['inclusive', 'exclusive'])}" if r.random() < 0.3 else "") + rec
            return f"{a.id} {self.op()} {self.num()}{u}{rec}"
        if kind == "computed":
            m, u = r.choice([("crcl by cockcroft_gault", "mL/min"), ("egfr by ckd_epi_2021", "[mL/min/1.73 m2]")])
            return f"{m} {self.op()} {r.choice(['30', '50', '60', '45.5'])} {u}"
        if kind == "ratio":
            a, b = r.choice(MEASURED), r.choice(MEASURED)
            return f"ratio({a.id}, {b.id}) {self.op()} {r.choice(['1', '3', '0.5'])}"
        if kind == "condition":
            exc = f" except {self.concepts(CONDITIONS)}" if r.random() < 0.2 else ""
            return f"condition {self.concepts(CONDITIONS)}{self.where()}{exc}"
        if kind == "history":
            exc = f" except {self.concepts(CONDITIONS)}" if r.random() < 0.2 else ""
            win = f" {self.window()}" if r.random() < 0.5 else ""
            return f"history of {self.concepts(CONDITIONS)}{self.where()}{exc}{win}"
        if kind == "therapy":
            sel = self.concepts(DRUGS + CLASSES)
            k = r.random()
            timing = ""
            if k < 0.45:
                timing = " " + self.window(half_lives=True)
            elif k < 0.6:
                timing = " ongoing"
            elif k < 0.75:
                timing = f" started at least {self.duration()} before {self.anchor()}"
            exc = f" except {self.concepts(DRUGS + CLASSES)}" if r.random() < 0.15 else ""
            return f"therapy {sel}{timing}{self.where()}{exc}"
        if kind == "procedure":
            win = f" {self.window()}" if r.random() < 0.5 else ""
            return f"procedure {self.concepts(PROCEDURES)}{self.where()}{win}"
        if kind == "dose":
            sel = self.concepts(DRUGS + CLASSES)
            eq = " as prednisone" if r.random() < 0.5 else ""
            win = f" {self.window()}" if r.random() < 0.6 else ""
            if r.random() < 0.25:  # the cumulative form (issue 13, finding 3)
                return (f"total dose of {sel}{eq} {self.window()} {self.op()} "
                        f"{r.choice(['0', '10', '70', '140', '0.5'])} {r.choice(['mg', 'g'])}{self.where()}")
            return f"daily dose of {sel}{eq} {self.op()} {r.choice(['0', '5', '7.5', '10', '20', '70'])} mg/day{win}{self.where()}"
        # stable
        return f"stable dose of {self.concepts(DRUGS + CLASSES)} for {self.duration()} before {self.anchor()}"

    def unit_text(self, unit: str) -> str:
        if not unit or unit == "1":
            return ""
        if unit in ("kg", "g", "cm", "mmHg", "mg") or (re.search(r"[/^%]", unit) and not re.search(r"\s", unit)):
            return " " + unit
        return f" [{unit}]"

    # -- expressions
    def expr(self, depth: int = 0) -> str:
        r = self.r
        if depth >= self.max_depth or r.random() < 0.45:
            return self.predicate()
        k = r.random()
        sub = lambda: self.expr(depth + 1)  # noqa: E731
        items = lambda: [sub() for _ in range(r.choice([1, 2, 2, 3, 4]))]  # noqa: E731
        if k < 0.2:
            return f"{sub()} and {sub()}"
        if k < 0.4:
            return f"{sub()} or {sub()}"
        if k < 0.5:
            return f"not {sub()}"
        if k < 0.6:
            return f"({sub()})"
        if k < 0.7:
            return "all of (" + ", ".join(items()) + (", " if r.random() < 0.1 else "") + ")"
        if k < 0.8:
            return "any of (" + ", ".join(items()) + ")"
        if k < 0.9:
            xs = items()
            n = r.randint(1, len(xs)) if not self.odd() else r.choice([0, len(xs) + 1, 1.5, huge_number(r)])
            return f"at least {n} of (" + ", ".join(xs) + ")"
        return f"if {sub()} then {sub()} else {sub()}"

    def trial(self, n_criteria: int | None = None) -> str:
        r = self.r
        lines = []
        if r.random() < 0.7:
            lines.append(f'trial "T{r.randint(0, 999)}"')
        if r.random() < 0.3:
            lines.append('title "A \\"quoted\\" title"')
        if r.random() < 0.3:
            self.anchors = r.sample(ANCHORS, k=r.randint(1, 4))
            lines.append("anchors " + ", ".join(self.anchors))
        if r.random() < 0.2:
            lines.append("labs " + self.window())
        if r.random() < 0.1:
            lines.append("facts " + self.window())  # the trial's default recency of facts (issue 18, D11)
        n = n_criteria if n_criteria is not None else r.randint(1, 6)
        ids = iter(range(1, 10_000))
        incl = [f'  - I{next(ids)}{self.text()}: {self.expr()}' for _ in range(r.randint(0, n))]
        excl = [f'  - E{next(ids)}{self.text()}: {self.expr()}' for _ in range(n - len(incl))]
        if incl or r.random() < 0.5:
            lines += ["inclusion:"] + incl
        if excl:
            lines += ["exclusion:"] + excl
        if r.random() < 0.15:
            lines += ["cohort c1 \"Cohort one\":", "  inclusion:", f"    - C{next(ids)}: {self.expr()}"]
            if r.random() < 0.5:
                lines += ["cohort c2:", "  exclusion:", f"    - C{next(ids)}: {self.expr()}"]
        return "\n".join(lines) + "\n"

    def text(self) -> str:
        if self.r.random() < 0.5:
            return ""
        return ' "' + self.r.choice(["Age 18-70", "ANC ≥ 1.5×10^9/L", "a \\\"quoted\\\" part", "#not a comment",
                                     "x: y", ""]) + '"'


# ---------------------------------------------------------------------------- hostile text

def grammar_piece(r) -> str:
    k = r.random()
    if k < 0.35:
        return r.choice(KEYWORDS)
    if k < 0.55:
        pools = [BOOL_FACTS, [a.id for a in ANALYTES], [c.id for c in CONDITIONS], [d.id for d in DRUGS],
                 ANCHORS, ["age", "sex", "ratio", "max", "ULN", "LLN", "half-lives", "C1", "I1"]]
        return r.choice(r.choice(pools))
    if k < 0.7:
        return number(r)
    if k < 0.8:
        return r.choice(UNIT_POOL + ["[mL/min/1.73 m2]", "[", "[]", "x10^9/L", "%"])
    if k < 0.9:
        return r.choice(OPERATORS)
    return r.choice(PUNCT)


def token_soup(r, n: int | None = None) -> str:
    n = n if n is not None else r.randint(0, 60)
    seps = [" ", " ", " ", "\n", "\n  - C1: ", "", "\t", "\r\n"]
    out = []
    if r.random() < 0.6:
        out.append("inclusion:\n  - C1: ")
    for _ in range(n):
        out.append(grammar_piece(r))
        out.append(r.choice(seps))
    return "".join(out)


_TOKEN = re.compile(r'\s+|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\[[^\]\n]*\]|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|<=|>=|!=|\S')

ODD_CHARS = ["\x00", "\x01", "\x7f", "\ufeff", "\u2028", "\u2029", "\x0b", "\x0c", "\r", "\ud800", "\udfff",
             "é", "µ", "≥", "×", "😀", "\u0301", "\\", '"', "'", "`", "$", "{", "}", "@", "\x85", "\u200b"]


def mutate(text: str, r) -> str:
    """A seed text with a few random mutations (or, now and then, emptied of its criteria)."""
    if r.random() < 0.04:
        return emptied(text, r)
    toks = _TOKEN.findall(text)
    for _ in range(r.choice([1, 1, 2, 3, 5, 10])):
        if not toks:
            toks = [grammar_piece(r)]
        k = r.random()
        i = r.randrange(len(toks))
        if k < 0.2:
            del toks[i]
        elif k < 0.3:
            toks.insert(i, toks[i])
        elif k < 0.4:
            j = r.randrange(len(toks))
            toks[i], toks[j] = toks[j], toks[i]
        elif k < 0.55:
            toks[i] = grammar_piece(r) + r.choice(["", " "])
        elif k < 0.62:
            toks = toks[:i]
        elif k < 0.72:
            toks.insert(i, "".join(r.choice(ODD_CHARS) for _ in range(r.randint(1, 4))))
        elif k < 0.78:
            toks.insert(i, "".join(chr(r.randrange(0, 0x3000)) for _ in range(r.randint(1, 6))))
        elif k < 0.86:
            depth = r.choice([10, 63, 64, 65, 200, 2000])
            opener = r.choice(["(", "not ", "all of (", "(not "])
            closer = ")" if "(" in opener else ""
            toks.insert(i, opener * depth)
            if closer:
                toks.insert(min(i + 2, len(toks)), closer * depth)
        elif k < 0.93:
            nums = [j for j, t in enumerate(toks) if t[:1].isdigit()]
            toks[r.choice(nums) if nums else i] = huge_number(r)
        else:
            j = r.randrange(len(toks))
            toks[i:i] = toks[j:j + r.randint(1, 20)]
    return "".join(toks)


def emptied(text: str, r) -> str:
    """The text without criteria: nothing, blank lines, its comments, its header, or empty sections."""
    lines = text.split("\n")
    comments = [ln for ln in lines if ln.lstrip().startswith("#")]
    header = [ln for ln in lines if re.match(r"(trial|title|anchors|labs)\b", ln)]
    k = r.random()
    if k < 0.15:
        return r.choice(["", "\n", "   \n\n", "\ufeff", "\r\n"])
    if k < 0.4:
        return "\n".join(comments) + "\n"
    if k < 0.6:
        return "\n".join(header) + "\n"
    if k < 0.8:
        return "\n".join(header + ["inclusion:", "exclusion:"][: r.choice([1, 2])]) + "\n"
    return "\n".join(header + ["inclusion:", "  - I1: age >= 18 years", 'cohort c1 "Empty cohort":']) + "\n"


def seed_texts() -> list[tuple[str, str]]:
    """The seed trial files: examples/trials/*.elig, and tests/sample.elig."""
    paths = sorted((ROOT / "examples" / "trials").glob("*.elig")) + [HERE / "sample.elig"]
    return [(p.name, p.read_text(encoding="utf-8")) for p in paths if p.is_file()]


# ---------------------------------------------------------------------------- patients

def _date(r, *, exact: bool = False, near: dt.date = AS_OF, spread: int = 900, extreme: float = 0.02) -> str:
    k = r.random()
    if k < extreme:
        return r.choice(["0001-01-01", "9999-12-31", "2999-06-15", "1900-02-28", "2000-02-29"])
    d = near + dt.timedelta(days=r.randint(-spread, spread // 8))
    if exact or r.random() < 0.8:
        return d.isoformat()
    return d.isoformat()[:7] if r.random() < 0.7 else d.isoformat()[:4]


def _value(r, analyte) -> float:
    k = r.random()
    if k < 0.03:
        return r.choice([0.0, -1.0, -0.0, 1e300, 1e-300, 5e-324, 1e15, 400.0, 101.0, 100.0])
    if k < 0.5:
        return float(r.choice([0, 1, 1.5, 2, 5, 10, 50, 75, 85, 100, 150, 1500]))
    return round(r.uniform(0, 200), r.choice([0, 1, 2, 3]))


class PatientGen:
    """A patient document (a dict): valid structure, extreme and missing values."""

    def __init__(self, r, *, exact_dates: bool = False, extreme: float = 0.02, bad_units: float = 0.03,
                 messy: float = 0.1):
        self.r = r
        self.exact = exact_dates
        self.extreme = extreme
        self.bad_units = bad_units
        # share of chart-like values (issue 18): spellings of yes/no and enum values, broader and unmapped
        # records, same-date result pairs, stale dated facts, ages near birthdays, anchors at month ends...
        self.messy = messy

    def date(self, **kw) -> str:
        return _date(self.r, exact=self.exact, extreme=self.extreme, **kw)

    def exact_date(self, **kw) -> str:
        return _date(self.r, exact=True, extreme=self.extreme, **kw)

    def stale_date(self) -> str:
        """A date years before the evaluation date (a fact that may no longer be true)."""
        return self.exact_date(near=AS_OF - dt.timedelta(days=365 * self.r.choice([2, 5, 16])), spread=400)

    def some(self, p: float) -> bool:
        return self.r.random() < p

    def patient(self) -> dict:
        r = self.r
        doc: dict[str, Any] = {}
        if self.some(0.5):
            doc["id"] = f"p{r.randint(0, 10 ** 6)}"
        if self.some(0.8):
            doc["birth_date"] = self.exact_date(near=dt.date(1970, 1, 1), spread=20000)
            if self.some(self.messy):  # near the birthday that crosses a (fractional) age threshold
                years = r.choice([0.5, 2.5, 12.5, 17.5, 18, 18.5, 64.75, 65, 70])
                when = add_months(AS_OF, -round(years * 12)) + dt.timedelta(days=r.randint(-20, 20))
                doc["birth_date"] = when.isoformat()
        if self.some(0.8):
            doc["sex"] = r.choice(["male", "female"])
        if self.some(0.8):
            doc["facts"] = self.facts()
        if self.some(0.85):
            doc["observations"] = [self.observation() for _ in range(r.randint(0, 12))]
        if self.some(0.6):
            doc["conditions"] = [self.condition() for _ in range(r.randint(0, 4))]
        if self.some(0.6):
            doc["therapies"] = [self.therapy() for _ in range(r.randint(0, 5))]
        if self.some(0.4):
            doc["procedures"] = [self.procedure() for _ in range(r.randint(0, 3))]
        if self.some(0.5):
            doc["complete"] = {k: self.some(0.5) for k in ("conditions", "therapies", "procedures")}
        if self.some(0.5):
            doc["anchors"] = {a: self.exact_date(spread=60) for a in r.sample(ANCHORS, k=r.randint(1, 3))}
            if self.some(self.messy):  # a calendar-month window counted back from a month's end
                doc["anchors"][r.choice(list(doc["anchors"]))] = r.choice(MONTH_ENDS).isoformat()
        if self.some(self.messy) and doc.get("observations"):  # same-date results that may disagree
            o = dict(r.choice(doc["observations"]))
            o["value"] = r.choice([o["value"] * 2 + 1, o["value"] / 2, 0.0, o["value"] + 0.5])
            doc["observations"].insert(r.randint(0, len(doc["observations"])), o)
        return doc

    def facts(self) -> dict:
        r = self.r
        out: dict[str, Any] = {}
        for f in r.sample(BOOL_FACTS, k=r.randint(0, min(10, len(BOOL_FACTS)))):
            out[f] = r.choice([True, False, True, False, "yes", "no"]) if not self.some(0.03) else r.choice(
                [1, "maybe", 0.5])
            if self.some(self.messy):
                out[f] = r.choice(YES_NO_MESS)
            if self.some(self.messy):  # a stale fact: dated years ago
                out[f] = {"value": out[f], "date": self.stale_date()}
        for f in NUM_FACTS:
            if self.some(0.5):
                v = r.choice([0, 1, 2, 3, 4, 5, 60, 70, 80, 90, 100]) if not self.some(0.1) else r.choice(
                    [-1, 6, 7, 1.5, 0.5, 101, 1e300, -1e300, "two"])
                out[f.id] = {"value": v, "date": self.date(spread=60)} if self.some(0.2) else v
                if self.some(self.messy):
                    out[f.id] = {"value": v, "date": self.stale_date()}
                elif self.some(self.messy / 2):  # physiologically impossible (ECOG 7, Karnofsky 250)
                    out[f.id] = r.choice([7, 250, -2, 5.5])
        for f in DUR_FACTS:
            if self.some(0.5):
                v = r.choice([1, 2, 3, 6, 12, 24, 0.5]) if not self.some(0.1) else r.choice([-3, 0, 1e300])
                unit = r.choice(["month", "months", "week", "weeks", "year", "day", None])
                if self.some(self.bad_units):
                    unit = r.choice(["mg", "furlongs"])
                out[f.id] = {"value": v, "unit": unit} if unit else v
        for f in ENUM_FACTS:
            if self.some(0.3):
                out[f.id] = r.choice(list(f.values)) if not self.some(0.05) else r.choice(["unknown", 3, True])
                if self.some(self.messy):  # a chart's spelling: "Positive", "reactive", true, "equivocal"
                    out[f.id] = r.choice(ENUM_MESS.get(tuple(f.values), ENUM_MESS[()]))
                if self.some(self.messy / 2):
                    out[f.id] = {"value": out[f.id], "date": self.stale_date()}
        if self.some(0.05):
            out["not_a_catalog_fact"] = True
        return out

    def observation(self) -> dict:
        r = self.r
        a = r.choice(MEASURED)
        name = a.id if self.some(0.7) else r.choice(a.names + tuple(f"LOINC:{c}" for c in a.loinc))
        if self.some(0.02):
            name = "unobtainium"
        unit = r.choice(UNITS_OF[a.id])
        if self.some(self.bad_units):
            unit = r.choice(BAD_UNITS)
        o: dict[str, Any] = {"analyte": name, "value": _value(r, a)}
        if unit != a.unit or self.some(0.6):
            o["unit"] = unit
        elif self.some(0.5):
            o["unit"] = unit
        if self.some(0.9):
            o["date"] = self.exact_date(spread=120)
            if self.some(0.15):  # the time of day orders results of one date (D8)
                o["time"] = r.choice(["08:00", "12:30", "18:00", "18:00:00+01:00", "07:15:00-05:00"])
        if self.some(self.messy):
            wrong = [u for u in UNITS_OF[a.id] if u != unit and _factor(a, u, unit) not in (None, 1.0)]
            k = r.random()
            if k < 0.4:  # no unit at all
                o.pop("unit", None)
            elif k < 0.8 and wrong:  # a convertible but wrong unit (12.4 g/dL sent as mg/dL)
                o["unit"] = r.choice(wrong)
            else:  # a physiologically implausible value
                o["value"] = r.choice([1e5, 99999.0, 1e-6, 0.0001, 12345.0])
        if self.some(0.3):
            low = round(r.uniform(0, 50), 1)
            high = round(low + r.uniform(0, 200), 1)
            rr: dict[str, Any] = {}
            if self.some(0.8):
                rr["high"] = high
            if self.some(0.5):
                rr["low"] = low
            if self.some(0.1):
                rr["unit"] = r.choice(UNITS_OF[a.id])
            o["reference_range"] = rr
        return o

    def period(self, start_key: str, end_key: str) -> dict:
        out: dict[str, Any] = {}
        if self.some(0.85):
            start = self.date(spread=2000)
            out[start_key] = start
            if self.some(0.5):
                lo = _start_latest(start)
                if lo is not None and lo < dt.date(9998, 1, 1):
                    end = lo + dt.timedelta(days=self.r.randint(0, 400))
                    if end.year <= 9999:
                        e = end.isoformat()
                        out[end_key] = e if (self.exact or self.some(0.8)) else e[:7]
                        if out[end_key] < start[:len(out[end_key])]:
                            out[end_key] = e
        elif self.some(0.3):
            out[end_key] = self.date(spread=300)
        return out

    def condition(self) -> dict:
        r = self.r
        c = r.choice(CONDITIONS)
        rec: dict[str, Any] = {}
        k = r.random()
        if k < 0.6:
            rec["name"] = c.id
        elif k < 0.8:
            rec["name"] = r.choice((c.name, *c.synonyms))
        elif k < 0.95 and c.codes:
            rec["code"] = r.choice(c.codes)
        else:
            rec["name"] = r.choice(["unmapped disorder", c.id])
        if self.some(self.messy):  # a record broader than criteria name it: a parent concept, a short code
            k = r.random()
            if k < 0.5 and c.parents:
                parent = CATS.conditions.get(r.choice(c.parents))
                rec = {"name": r.choice([parent.id, parent.name])}
            elif k < 0.8:
                icd = [x for x in c.codes if x.startswith("ICD10CM:") and "-" not in x]
                if icd:
                    code = r.choice(icd)
                    rec = {"code": r.choice([code, code.split(".")[0], code.split(".")[0] + ".9", code + "9"])}
            else:
                rec = {"name": r.choice(["leukemia", "lymphoma", "malignancy", "cancer", "infection"])}
        rec.update(self.period("onset", "end"))
        if self.some(0.3):
            # consistent with the dates: an abated condition is not "active" (FHIR con-4), and one that ends
            # after the evaluation date has not abated yet (a contradiction would make the soundness
            # properties compare against a record that contradicts itself)
            end = rec.get("end")
            if end is None:
                rec["status"] = r.choice(["active", "resolved", "inactive", "remission"])
            elif end <= AS_OF.isoformat():
                rec["status"] = r.choice(["resolved", "inactive", "remission"])
        if self.some(0.4):
            rec["attributes"] = self.attributes()
        return rec

    def attributes(self) -> dict:
        r = self.r
        out = {}
        for name in r.sample(["grade", "stage", "symptomatic", "active", "confirmation"], k=r.randint(1, 3)):
            out[name] = r.choice([1, 2, 3, 4, "II", "III", "severe", True, False, "metastatic", "histological",
                                  "locally_advanced", 2.5])
        if self.some(self.messy):  # a yes/no attribute of every kind a chart writes
            out[r.choice(YES_NO_ATTRIBUTES)] = r.choice(YES_NO_MESS)
        return out

    def therapy(self) -> dict:
        r = self.r
        rec: dict[str, Any] = {}
        k = r.random()
        if k < 0.6:
            d = r.choice(DRUGS)
            rec["drug"] = d.id if self.some(0.7) else r.choice((d.name, *d.synonyms))
        elif k < 0.85:
            rec["classes"] = [r.choice(CLASSES).id]
        elif k < 0.95:
            rec["investigational"] = True
        else:
            rec["drug"] = "unmapped-drug-x"
        if self.some(self.messy):  # an unmapped or investigational product, with or without classes
            rec = {"drug": r.choice(["XYZ-123", "BT-7781", "Compound QX-9"])}
            if self.some(0.5):
                rec["classes"] = [r.choice(CLASSES).id]
            if self.some(0.5):
                rec["investigational"] = True
        elif "drug" in rec and self.some(3 * self.messy):  # a product under study, named
            rec["investigational"] = True
        rec.update(self.period("start", "end"))
        if "end" not in rec and self.some(0.5):
            rec["ongoing"] = self.some(0.7)
        if self.some(0.5):
            dose: dict[str, Any] = {"value": r.choice([0, 2.5, 5, 7.5, 10, 20, 40, 70, 100, 1000])}
            if self.some(self.extreme):
                dose["value"] = r.choice([1e308, 1e-308, 5e-324, 1e15])
            dose["unit"] = r.choice(["mg/day", "mg", "g/day", "mg/d", "g", "mL"])
            if dose["unit"] in ("mg", "g") and self.some(0.7):
                dose["per_day"] = r.choice([1, 2, 3, 0.5]) if not self.some(self.extreme) else r.choice([1e308, 1e-308])
            rec["dose"] = dose
            recent = self.some(self.messy)
            if recent:  # a course begun shortly before the evaluation date: stable-dose windows read its start
                rec["start"] = (AS_OF - dt.timedelta(days=r.randint(1, 60))).isoformat()
                rec.pop("end", None)
                rec["ongoing"] = True
            start, end = rec.get("start"), rec.get("end")
            if isinstance(start, str) and len(start) == 10 and (end is None or len(end) == 10) and (
                    self.some(0.2) or (recent and self.some(0.6))):
                began = dt.date.fromisoformat(start)  # a dose change, up to 200 days into the course
                # (or dose_since on the start day, as sources fill it: no change; blurring the start's day
                # then leaves a dose_since that may be the start)
                days = 0 if self.some(0.3) else r.randint(0, 30 if recent else 200)
                since = began + dt.timedelta(days=min(days, (dt.date.max - began).days))
                rec["dose_since"] = min(since, dt.date.fromisoformat(end)).isoformat() if end else since.isoformat()
        if self.some(0.4):
            rec["route"] = r.choice(ROUTES)
        return rec

    def procedure(self) -> dict:
        r = self.r
        p = r.choice(PROCEDURES)
        rec: dict[str, Any] = {"name": p.id} if self.some(0.9) else {"name": "unmapped procedure"}
        if self.some(0.8):
            rec["date"] = self.date(spread=1000)
        if self.some(0.2):
            rec["attributes"] = self.attributes()
        return rec


def _factor(analyte, unit: str, to: str) -> float | None:
    from eligimatch import UnitError

    try:
        return float(analyte.factor_from(unit, to))
    except UnitError:  # an unreadable or incompatible unit: no factor
        return None


def _start_latest(text: str) -> dt.date | None:
    from eligimatch.knowledge import PartialDate

    try:
        return PartialDate.parse(text).latest
    except ValueError:
        return None


# ---------------------------------------------------------------------------- invalid patient documents

BAD_JSON_VALUES = [None, "", "abc", -1, 1e400, [], {}, {"x": 1}, True, "2026-13-45", "NaN", [1, 2], "9999-99-99",
                   "2026-01-01T10:00:00+02:00"]


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


def corrupt(doc: dict, r) -> tuple[dict, tuple]:
    """``doc`` with one field replaced by a bad value, an unknown field added, or a field removed.

    Returns the new document and the path that was touched.
    """
    doc = copy.deepcopy(doc)
    paths = _paths(doc)
    k = r.random()
    if not paths or k < 0.15:
        key = r.choice(["colour", "birthdate", "observation", "Sex", "facts_", ""])
        doc[key] = r.choice(BAD_JSON_VALUES)
        return doc, (key,)
    path = r.choice(paths)
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    if k < 0.25 and isinstance(parent, dict):
        parent["unexpected_field"] = 1
        return doc, path[:-1] + ("unexpected_field",)
    parent[path[-1]] = r.choice(BAD_JSON_VALUES)
    return doc, path


# ---------------------------------------------------------------------------- removing information

def remove_facts(doc: dict, r) -> tuple[dict, list[str]]:
    """``doc`` with one to three pieces of information taken away (never added or changed).

    A record removed from a history also unmarks that history's completeness:
    otherwise its absence would become a (new) fact.  Unmarking a history's
    completeness is itself a removal.  Dates are not removed here (see
    ``blurring.blur``, which removes them and more).  Observations are removed
    per analyte (all results of it), so an older result never replaces a newer one.
    """
    doc = copy.deepcopy(doc)
    done: list[str] = []
    for _ in range(r.choice([1, 1, 2, 3])):
        options: list[tuple[str, Any]] = []
        for key in ("birth_date", "sex"):
            if key in doc:
                options.append((key, None))
        for f in doc.get("facts", {}):
            options.append(("fact", f))
        groups = sorted({_analyte_key(o["analyte"]) for o in doc.get("observations", [])})
        options += [("analyte", g) for g in groups]
        for i, o in enumerate(doc.get("observations", [])):
            if "reference_range" in o:
                options.append(("reference_range", i))
        for hist in ("conditions", "therapies", "procedures"):
            for i, rec in enumerate(doc.get(hist, [])):
                options.append((hist, i))
                for attr in rec.get("attributes", {}):
                    options.append((hist + ".attributes", (i, attr)))
                for key in ("dose", "route", "status"):  # (a condition's status too: issue 18, D9)
                    if key in rec:
                        options.append((hist + "." + key, i))
        for hist, flag in doc.get("complete", {}).items():
            if flag:
                options.append(("complete", hist))
        if not options:
            break
        what, arg = r.choice(options)
        if what in ("birth_date", "sex"):
            del doc[what]
        elif what == "fact":
            del doc["facts"][arg]
        elif what == "analyte":
            doc["observations"] = [o for o in doc["observations"] if _analyte_key(o["analyte"]) != arg]
        elif what == "complete":
            doc["complete"][arg] = False
        elif what == "reference_range":
            del doc["observations"][arg]["reference_range"]
        elif what in ("conditions", "therapies", "procedures"):
            del doc[what][arg]
            if "complete" in doc:
                doc["complete"][what] = False
        elif what.endswith(".attributes"):
            i, attr = arg
            del doc[what.split(".")[0]][i]["attributes"][attr]
        else:
            hist, key = what.split(".")
            del doc[hist][arg][key]
        done.append(f"{what} {arg}" if arg is not None else what)
    return doc, done


def _analyte_key(name: str) -> str:
    a = CATS.analytes.resolve(name)
    return a.id if a is not None else "?" + name


# ---------------------------------------------------------------------------- shifting dates

def shift_patient(doc: dict, days: int) -> dict:
    """Every date of the document moved by ``days`` (exact dates only)."""
    doc = copy.deepcopy(doc)
    delta = dt.timedelta(days=days)

    def mv(s: str) -> str:
        return (dt.date.fromisoformat(s) + delta).isoformat()

    if "birth_date" in doc:
        doc["birth_date"] = mv(doc["birth_date"])
    for f, v in doc.get("facts", {}).items():
        if isinstance(v, dict) and v.get("date"):
            v["date"] = mv(v["date"])
    for o in doc.get("observations", []):
        if o.get("date"):
            o["date"] = mv(o["date"])
    for hist, keys in (("conditions", ("onset", "end")), ("therapies", ("start", "end", "dose_since")),
                       ("procedures", ("date",))):
        for rec in doc.get(hist, []):
            for k in keys:
                if rec.get(k):
                    rec[k] = mv(rec[k])
    doc["anchors"] = {k: mv(v) for k, v in doc.get("anchors", {}).items()}
    return doc


# ---------------------------------------------------------------------------- three-valued reference

def unknown_everything(expr: Any) -> int:
    """Kleene value (0 false, 1 unknown, 2 true) of ``expr`` when every predicate is UNKNOWN."""
    if isinstance(expr, A.Const):
        return 2 if expr.value else 0
    if isinstance(expr, A.And):
        return min(unknown_everything(i) for i in expr.items)
    if isinstance(expr, A.Or):
        return max(unknown_everything(i) for i in expr.items)
    if isinstance(expr, A.Not):
        return 2 - unknown_everything(expr.item)
    if isinstance(expr, A.AtLeast):
        vals = [unknown_everything(i) for i in expr.items]
        t, u = vals.count(2), vals.count(1)
        return 2 if t >= expr.n else 0 if t + u < expr.n else 1
    if isinstance(expr, A.IfThenElse):
        c = unknown_everything(expr.cond)
        a, b = unknown_everything(expr.then), unknown_everything(expr.otherwise)
        if c == 2:
            return a
        if c == 0:
            return b
        return a if a == b else 1
    return 1


# ---------------------------------------------------------------------------- example budgets

def examples(ci: int) -> int:
    """``ci`` examples in the CI profile; the profile's own number in the long one."""
    import os

    from hypothesis import settings

    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "long":
        return settings().max_examples
    return ci


def randoms():
    """Hypothesis randoms whose every draw is recorded (failures shrink and replay)."""
    from hypothesis import strategies as st

    return st.randoms(use_true_random=False, note_method_calls=False)


def match_json(trial, patient_json: str) -> str:
    """Worker for the process-pool test: one match, as JSON."""
    import eligimatch

    return eligimatch.match(eligimatch.load_patient(patient_json), trial, as_of=AS_OF).model_dump_json()
