"""Read numeric thresholds, ages, sexes and time windows out of one criterion sentence.

Deterministic (regular expressions and the catalogs; no model, no network) and
built to abstain: a number is read only when an operator, a range or a
recognised unit frames it, a unit is kept only when :mod:`eligimatch.knowledge._units`
reads it, and anything else is left out.  :func:`extract` gives
:class:`Constraint` objects (the scored interface); :func:`readings` gives the
richer :class:`Reading` the drafter works from.

What is read:

* operators written as symbols (``>=``, ``≥``, ``=>``, ``>/=``, ``> or =``, ``=<``)
  or words (``at least``, ``no more than``, ``not less than``, ``greater than or
  equal to``, ``exceeding``, ``18 years or older``, ``60 or less``);
* ranges ``0-2``, ``0~2``, ``18 to 65``, ``between 9 and 13 g/dL``, ``from 45 to 90``;
* numbers with thousands separators (``1,500``); a decimal comma (``39,99``) is
  left out (it cannot be told from a list);
* units as the catalogs read them, after normalising the registry spellings
  (``x 109/L`` and ``x 10⁹/L`` are ``x10^9/L``; ``/mm³``; ``per µL``); multiples of
  the reference limits (``2.5 x ULN``, ``1.5 times the institutional upper limit
  of normal``, ``< 1 ULN``);
* time: ``within 4 weeks``, ``in the past 6 months``, ``at least 14 days since``;
  ages (``aged 18 to 70 years``, ``≥ 18 years of age``, ``18 years or older``);
* a negation (``no``, ``not``, ``without``, ``must not``, ``absence of``...) before a
  constraint in the same clause marks it ``negated``; the operator words that
  contain ``no``/``not`` (``no more than``) are operators, not negations.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Literal

from eligimatch.ctgov.vocabulary import per_catalogs, using_catalogs
from eligimatch.errors import UnitError
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.knowledge._units import unit_label

__all__ = ["Constraint", "Reading", "extract", "normalise", "readings"]

Op = Literal["<", "<=", ">", ">=", "==", "between"]


@dataclass(frozen=True)
class Constraint:
    """One constraint read from a sentence (see :func:`extract`).

    ``subject``: a catalog id (``anc``, ``ecog``, ``age``, ``sex``) or, unresolved, the
    words before the operator; ``op``: ``<``, ``<=``, ``>``, ``>=``, ``==`` or
    ``between``; ``value`` (and ``high`` for ``between``); ``unit``: a unit
    :mod:`eligimatch.knowledge._units` reads, or ``None``; ``relative_to``: ``"ULN"``/``"LLN"``
    for multiples of a reference limit; ``window_days``: for a time window, its
    nominal length in days (a month counted 30 days, a year 365); ``negated``: a
    negation governs it ("no weight loss > 5 %").
    """

    subject: str
    op: Op
    value: float | str
    high: float | None = None
    unit: str | None = None
    relative_to: Literal["ULN", "LLN"] | None = None
    window_days: int | None = None
    negated: bool = False


@dataclass(frozen=True)
class Reading:
    """A constraint with what the drafter needs besides: where it stands and how it was written."""

    kind: Literal["measure", "age", "window", "duration", "sex"]
    subject_id: str | None
    subject_text: str
    op: Op
    value: float | str
    high: float | None = None
    unit: str | None = None
    relative_to: Literal["ULN", "LLN"] | None = None
    time_unit: str | None = None  # "day" | "week" | "month" | "year" | "hour" for ages, windows, durations
    negated: bool = False
    start: int = 0  # the span of the numbers (and operator) in the normalised text
    end: int = 0
    numbers: tuple[str, ...] = ()  # the numbers as written
    since: bool = False  # a window written "at least N since/before": the event N or more ago
    clause: str = ""
    qualifier: str | None = None  # "for patients with ...", "if ...", "in males": a condition on it
    subject_span: str = ""  # all the words between the previous constraint (or the clause start) and this one

    def constraint(self) -> Constraint:
        window = None
        if self.kind == "window" and self.time_unit and isinstance(self.value, float):
            window = math.ceil(self.value * _DAYS[self.time_unit])
        unit = self.unit
        if self.time_unit:
            unit = self.time_unit + "s"
        return Constraint(subject=self.subject_id or self.subject_text, op=self.op, value=self.value, high=self.high,
                          unit=unit, relative_to=self.relative_to, window_days=window, negated=self.negated)


_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}

# ---- normalisation -----------------------------------------------------------------------------
_SUBS: list[tuple[re.Pattern[str], str]] = [(re.compile(a, re.IGNORECASE if i else 0), b) for a, b, i in [
    (r"[‐‑‒–—―−]", "-", 0),
    (r"[≧⩾]", "≥", 0), (r"[≦⩽]", "≤", 0), ("＞", ">", 0), ("＜", "<", 0), ("＝", "=", 0),
    (r"μ", "µ", 0), ("×", " x ", 0), (r"⁹", "^9", 0), (r"⁶", "^6", 0), (r"¹²", "^12", 0), (r"³", "^3", 0),
    (r"²", "2", 0), (r"&gt;", ">", 0), (r"&lt;", "<", 0),
    (r">\s*/\s*=|>\s*or\s*=|=>|>\s*=|≥\s*=", "≥", 1), (r"<\s*/\s*=|<\s*or\s*=|=<|<\s*=|≤\s*=", "≤", 1),
    (r"(?<=\d)\s*\*\s*(?=\d)", " x ", 0),
    (r"(?<=\d)\s*x\s*10(9|6|12)(?=\s*/)", r" x10^\1", 1),  # "<100x109/L"
    (r"\bx\s*10\s*\^?\s*[eE]?\s*(9|6|3|12)\b", r"x10^\1", 1),
    (r"\b10\s*\^\s*(9|6|3|12)\b", r"10^\1", 1),
    (r"(?<=\bx)\s*10(9|6|12)(?=\s*/)", r"10^\1", 1),
    (r"(?<=[\d\s*x])(?<!\^)\b10(9|6|12)\s*/\s*(?=[lL]\b)", r"x10^\1/", 0),
    (r"\*\s*10\^", "x10^", 0), (r"(?<=\d)\s*\*\s*(?=10\^)", " x", 0),
    (r"\b(than|to)\s*\(\s*[<>≤≥=]{1,2}\s*\)", r"\1", 1),  # "greater than (>) 18.5"
    (r"\bless\s+than\s+equal\s+to\b", "less than or equal to", 1),
    (r"\bkilo-?grams?\b", "kg", 1), (r"\bmilli-?grams?\b", "mg", 1), (r"\bmm\s*hg\b", "mmHg", 1),
    (r"\bmm\s*\^?\s*3\b", "mm3", 1), (r"\bcu(?:bic)?\.?\s*mm\b", "mm3", 1),
    (r"\s+", " ", 0),
]]


def normalise(text: str) -> str:
    """The sentence with one spelling per operator and unit (see the module docstring)."""
    for pat, rep in _SUBS:
        text = pat.sub(rep, text)
    return text.strip()


# ---- operators -----------------------------------------------------------------------------------
_PRE_OPS: list[tuple[str, Op]] = [
    (r"greater\s+than\s+or\s+equal(?:\s+to)?", ">="), (r"more\s+than\s+or\s+equal(?:\s+to)?", ">="),
    (r"higher\s+than\s+or\s+equal(?:\s+to)?", ">="), (r"equal\s+(?:to\s+)?or\s+(?:greater|more|higher)\s+than", ">="),
    (r"equal\s+(?:to\s+)?or\s+(?:above|over)", ">="),
    (r"less\s+than\s+or\s+equal(?:\s+to)?", "<="), (r"lower\s+than\s+or\s+equal(?:\s+to)?", "<="),
    (r"equal\s+(?:to\s+)?or\s+(?:less|lower|fewer)\s+than", "<="), (r"equal\s+(?:to\s+)?or\s+below", "<="),
    (r"no\s+(?:less|lower|fewer)\s+than", ">="), (r"not\s+(?:less|lower|fewer)\s+than", ">="),
    (r"not\s+below", ">="), (r"not\s+under", ">="),
    (r"no\s+(?:more|greater|higher)\s+than", "<="), (r"not\s+(?:more|greater|higher)\s+than", "<="),
    (r"not\s+(?:to\s+)?exceed(?:ing|s)?", "<="), (r"does\s+not\s+exceed", "<="), (r"not\s+above", "<="),
    (r"not\s+over", "<="),
    (r"at\s+least", ">="), (r"a\s+minimum\s+of", ">="), (r"minimum(?:\s+of)?", ">="),
    (r"at\s+most", "<="), (r"a\s+maximum\s+of", "<="), (r"maximum(?:\s+of)?", "<="), (r"up\s+to", "<="),
    (r"greater\s+than", ">"), (r"more\s+than", ">"), (r"higher\s+than", ">"), (r"in\s+excess\s+of", ">"),
    (r"exceed(?:ing|s)?", ">"), (r"above", ">"), (r"over", ">"), (r"older\s+than", ">"),
    (r"less\s+than", "<"), (r"lower\s+than", "<"), (r"fewer\s+than", "<"), (r"below", "<"), (r"under", "<"),
    (r"younger\s+than", "<"),
    (r"≥", ">="), (r"≤", "<="), (r">", ">"), (r"<", "<"),
]
_POST_OPS: list[tuple[str, Op]] = [
    (r"or\s+(?:more|greater|higher|above|over|older)(?!\s+than)", ">="), (r"and\s+(?:above|over|older|more)", ">="),
    (r"\+", ">="),
    (r"or\s+(?:less|lower|below|fewer|younger|under)(?!\s+than)", "<="), (r"and\s+(?:under|below|younger|less)", "<="),
]
_PRE_RE = re.compile(r"(?:^|(?<=[\s(\[:;,/])|(?=[≥≤<>=]))(?P<op>" + "|".join(f"(?:{p})" for p, _ in _PRE_OPS)
                     + r")\s*(?:than\s+|of\s+|to\s+|:\s*|is\s+|be\s+)?(?P<age>(?:the\s+)?age\s+of\s+)?$", re.IGNORECASE)
_POST_RE = re.compile(r"\s*(?P<op>" + "|".join(f"(?:{p})" for p, _ in _POST_OPS) + r")(?![\w])", re.IGNORECASE)
# operator words that contain a negation word: not negations
_OP_NEG_WORDS = re.compile(r"\b(?:no|not)\s+(?:less|lower|fewer|more|greater|higher)\s+than\b|\bnot\s+(?:to\s+)?"
                           r"exceed\w*|\bdoes\s+not\s+exceed\b|\bnot\s+(?:below|under|above|over)\b", re.IGNORECASE)


def _op_of(text: str, table: list[tuple[str, Op]]) -> Op:
    for pat, op in table:
        if re.fullmatch(pat, text.strip(), re.IGNORECASE):
            return op
    raise AssertionError(text)  # the regex matched one of the table's patterns


# ---- numbers and units ----------------------------------------------------------------------------
_NUM = re.compile(r"(?<![\w.^/])(?<!\d,)(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?![\d^])"
                  r"(?!,\d{1,2}\b)(?!\.\d)")
_TIME = re.compile(r"\s*(?P<u>hours?|hrs?|h|days?|weeks?|wks?|months?|mos?|years?|yrs?)\b\.?(?:-old\b)?",
                   re.IGNORECASE)
_TIME_NAMES = {"h": "hour", "d": "day", "w": "week", "m": "month", "y": "year"}
_REF = re.compile(
    r"\s*(?:x|times|fold|-?\s*fold|\*)?\s*(?:the\s+)?(?:institutional\s+|site\s+|local\s+)?(?:"
    r"(?P<uln>ULN|upper\s+limits?\s+of\s+(?:the\s+)?normal(?:\s+range)?|upper\s+normal\s+limits?|"
    r"normal\s+upper\s+limits?|upper\s+limit\s+of\s+the\s+normal\s+range|institutional\s+ULN)"
    r"|(?P<lln>LLN|lower\s+limits?\s+of\s+(?:the\s+)?normal(?:\s+range)?|lower\s+normal\s+limits?))"
    r"(?:\s*\(\s*(?:ULN|LLN)\s*\))?", re.IGNORECASE)
_ATOM = (r"(?:x?10\^(?:9|6|3|12)|cells?|copies|mm3|µL|uL|ul|µl|mcL|nL|mL|ml|dL|dl|L|l|mg|g|kg|µg|ug|mcg|ng|pg|"
         r"mmol|µmol|umol|nmol|pmol|mEq|meq|mIU|IU|U|mU|kU|min|mmHg|mm\s?Hg|cm|mm|m2|1\.73\s?m2|%|bpm|ms|lb|"
         r"ppm|pounds?|"
         r"K|G|T|day|d|h)")
_UNIT = re.compile(r"\s*(?P<unit>(?:x\s*)?(?:(?:per|/)\s*)?" + _ATOM + r"(?:\s*/\s*" + _ATOM + r"|\s*per\s+"
                   + _ATOM + r")*)(?![\w^])")
_RANGE = re.compile(r"\s*(?:-|~|to|through|and)\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d^.])",
                    re.IGNORECASE)
_BETWEEN_BEFORE = re.compile(r"\b(?:between|from|range(?:s|d)?\s+(?:of|from)?|ranging\s+from|aged?)\s*$",
                             re.IGNORECASE)

_NEGATION = re.compile(r"\b(?:no|not|never|without|none|nor|neither|absence\s+of|absent|free\s+of|lack\s+of|"
                       r"negative\s+for|must\s+not|cannot|can't|unable\s+to|isn't|aren't|doesn't|don't|"
                       r"non-?(?=\s))\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;]|\.\s+(?=[A-Z])|\s\d{1,2}[.)]\s|\b[A-Z]\.\s")
_AGE_CUE = re.compile(r"\b(?:age[sd]?|years?\s+old|of\s+age|old|older|younger|adults?|aged)\b", re.IGNORECASE)
_WINDOW_BEFORE = re.compile(r"\b(?:within\s+(?:the\s+)?(?:prior|preceding|previous|past|last)|within|in\s+the\s+(?:past|last|previous|preceding|prior)|during\s+the\s+"
                            r"(?:past|last|previous|preceding|prior)|in\s+the|over\s+the\s+(?:past|last|previous)|"
                            r"past|last|previous|preceding)\s*(?:the\s+)?(?:past\s+|last\s+|previous\s+)?$",
                            re.IGNORECASE)
_SINCE_AFTER = re.compile(r"^\s*(?:since|prior\s+to|before|preceding|after|from|elapsed|ago|must\s+have\s+elapsed|"
                          r"have\s+elapsed|has\s+elapsed|or\s+more\s+(?:since|before|prior))\b", re.IGNORECASE)
_QUALIFIER = re.compile(r"\s*(?:\)?\s*,?\s*)(?P<q>(?:for|in)\s+(?:patients|subjects|participants|those|people|men|"
                        r"women|males|females|children|adults)\b[^;)]*|if\b[^;)]*|unless\b[^;)]*|in\s+(?:males|"
                        r"females|men|women)\b|when\b[^;)]*|with\b[^;)]*)", re.IGNORECASE)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _build_subject_index(cats: Catalogs) -> list[tuple[re.Pattern[str], str]]:
    """Catalog names and synonyms of analytes and numeric/duration facts, longest first."""
    phrases: dict[str, str] = {}
    for a in cats.analytes:
        for name in (a.id.replace("_", " "), a.name, *a.synonyms):
            if len(name) >= 2:
                phrases.setdefault(name.lower(), a.id)
    for f in cats.facts:
        if getattr(f, "type", None) in ("number", "duration"):
            for name in (f.id.replace("_", " "), f.name, *getattr(f, "synonyms", ())):
                phrases.setdefault(name.lower(), f.id)
    phrases.update(_EXTRA_SUBJECTS)
    out = []
    for phrase in sorted(phrases, key=len, reverse=True):
        words = r"[\s\-]*".join(re.escape(w) for w in re.split(r"[\s\-]+", phrase))
        out.append((re.compile(rf"(?<![\w]){words}(?![\w])", re.IGNORECASE), phrases[phrase]))
    return out


_subject_index = per_catalogs(_build_subject_index)

# spellings the registry uses that the catalogs do not list as synonyms (resolved to catalog ids)
_EXTRA_SUBJECTS = {
    "eastern cooperative oncology group": "ecog", "ecog performance status": "ecog", "zubrod": "ecog",
    "who performance status": "ecog", "who ps": "ecog", "performance status (ps)": "ecog",
    "karnofsky performance status": "karnofsky", "kps": "karnofsky", "karnofsky": "karnofsky",
    "lansky": "karnofsky_lansky_unsupported",
    "absolute neutrophil count": "anc", "neutrophil count": "anc",
    "platelet count": "platelets", "platelets": "platelets", "plt": "platelets", "thrombocytes": "platelets",
    "haemoglobin": "hemoglobin", "hemoglobin": "hemoglobin", "hgb": "hemoglobin", "hb": "hemoglobin",
    "bilirubin": "total_bilirubin", "serum bilirubin": "total_bilirubin", "total bilirubin": "total_bilirubin",
    "sgot": "ast", "sgpt": "alt", "aspartate aminotransferase": "ast", "alanine aminotransferase": "alt",
    "aspartate transaminase": "ast", "alanine transaminase": "alt",
    "serum creatinine": "creatinine", "creatinine": "creatinine",
    "creatinine clearance": "crcl", "calculated creatinine clearance": "crcl", "crcl": "crcl",
    "glomerular filtration rate": "egfr", "egfr": "egfr", "gfr": "egfr", "estimated gfr": "egfr",
    "life expectancy": "life_expectancy", "expected survival": "life_expectancy",
    "estimated survival": "life_expectancy", "body mass index": "bmi", "bmi": "bmi",
    "left ventricular ejection fraction": "lvef", "lvef": "lvef", "ejection fraction": "lvef",
    "qtc": "qtc", "qtcf": "qtcf", "international normalized ratio": "inr", "inr": "inr",
    "white blood cell count": "wbc", "wbc": "wbc", "leukocytes": "wbc", "albumin": "albumin",
    "alkaline phosphatase": "alp", "alp": "alp", "weight": "weight", "body weight": "weight",
    "systolic blood pressure": "sbp", "diastolic blood pressure": "dbp", "sbp": "sbp", "dbp": "dbp",
}


def _resolve_subject(text: str) -> tuple[str | None, str]:
    """The catalog id named nearest the end of ``text`` (the words before an operator), and the words."""
    best: tuple[int, int, str] | None = None
    for pat, ident in _subject_index():
        for m in pat.finditer(text):
            key = (m.end(), m.end() - m.start())
            if best is None or key > best[:2]:
                best = (key[0], key[1], ident)
    words = text.strip(" ,:;([-")
    words = re.sub(r"^.*(?:[;:]|\band\b|\bor\b|\bwith\b|,)\s*", "", words).strip() or words
    if best is None or best[2].endswith("_unsupported"):
        return None, words[-80:]
    return best[2], words[-80:]


def _clause_bounds(text: str, pos: int) -> tuple[int, int]:
    start = 0
    for m in _CLAUSE_END.finditer(text, 0, pos):
        start = m.end()
    after = _CLAUSE_END.search(text, pos)
    return start, (after.start() if after else len(text))


_SCOPE_END = re.compile(r"\b(?:but|however|except|aged?|who|which|that|whose|unless|if|although|though)\b|[,;:)]",
                        re.IGNORECASE)


def _negated(text: str, clause_start: int, pos: int) -> bool:
    """A negation cue governs the words at ``pos``: within the 15 words before it, with no scope
    terminator (``,``, ``or``, ``but``, ``who``, ``aged``...) in between (after NegEx, Chapman et al. 2001)."""
    before = _OP_NEG_WORDS.sub(lambda m: "_" * len(m.group(0)), text[clause_start:pos])
    for m in _NEGATION.finditer(before):
        between = before[m.end():]
        if len(between.split()) <= 15 and not _SCOPE_END.search(between):
            return True
    return False


def readings(sentence: str) -> list[Reading]:
    """Every constraint :func:`extract` finds, with its position, numbers as written and qualifier."""
    text = normalise(sentence)
    out: list[Reading] = []
    consumed: list[tuple[int, int]] = []

    def taken(a: int, b: int) -> bool:
        return any(a < y and x < b for x, y in consumed)

    out.extend(_score_sets(text, consumed))
    for m in _NUM.finditer(text):
        a, b = m.span("num")
        if taken(a, b):
            continue
        before = text[:a]
        # part of a name or code: "CD4", "T790M", "HER2", "stage 3a", a list item number "1."
        if re.search(r"[A-Za-z]-?$", before) and not re.search(r"(?:^|\W)(?:x|of|to|is|be|at)$", before[-3:]):
            continue
        low_text = m.group("num")
        high_text: str | None = None
        end = b
        op: Op | None = None
        op_start = a
        rng = _RANGE.match(text, b)
        post_unit = _UNIT.match(text, b) or _REF.match(text, b) or _TIME.match(text, b)
        pre = _PRE_RE.search(before[-60:])
        if rng and (not pre or pre.group("op") == "="):
            # "0-2", "18 to 65", "between 9 and 13"; "and" only after "between"
            word = text[b:rng.start("num")].strip().lower()
            if word != "and" or _BETWEEN_BEFORE.search(before):
                op, high_text, end = "between", rng.group("num"), rng.end()
                bw = _BETWEEN_BEFORE.search(before)
                if bw:
                    op_start = a - (len(before) - bw.start())
        elif rng is None and post_unit is not None:
            # "100 x 10^9/L - 400 x 10^9/L": a range with the unit after each bound
            u_end = post_unit.end()
            rng2 = _RANGE.match(text, u_end)
            joiner = text[u_end:rng2.start("num")].strip().lower() if rng2 else ""
            if rng2 and not pre and (joiner in ("-", "to", "~") or joiner == "and" and _BETWEEN_BEFORE.search(before)):
                op, high_text, end = "between", rng2.group("num"), rng2.end()
        age_words = False
        named = None if pre else re.search(
            r"(?:^|(?<=[\s(]))(?P<op>greater\s+than|more\s+than|less\s+than|higher\s+than|lower\s+than)\s+"
            r"(?P<name>(?:NYHA|stage|grade|class|Stage|Grade|Class)(?:\s+class)?)\s+$", before[-40:], re.IGNORECASE)
        if op is None and named:
            op = _op_of(named.group("op"), _PRE_OPS)
            op_start = a - (len(before[-40:]) - named.start("op"))
        if op is None and pre:
            op = _op_of(pre.group("op"), _PRE_OPS)
            age_words = pre.group("age") is not None
            op_start = a - (len(before[-60:]) - pre.start("op"))
        # units: after the (high) number
        unit: str | None = None
        rel: Literal["ULN", "LLN"] | None = None
        time_unit: str | None = None
        um = _REF.match(text, end)
        if um:
            rel = "ULN" if um.group("uln") else "LLN"
            end = um.end()
        else:
            tm = _TIME.match(text, end)
            if tm:
                w = tm.group("u").lower()
                time_unit = _TIME_NAMES[w[0]] if not w.startswith("mi") else None
                end = tm.end()
            else:
                um2 = _UNIT.match(text, end)
                if um2:
                    raw = um2.group("unit")
                    raw = re.sub(r"\s*per\s*", "/", raw)
                    raw = re.sub(r"\s+", "", raw) if "1.73" not in raw else re.sub(r"\s*/\s*", "/", raw)
                    try:
                        unit_label(raw)
                    except UnitError:
                        continue  # a unit we cannot read: abstain on this number
                    unit = raw
                    end = um2.end()
                elif re.match(r"^\s*[A-Za-zµ°]", text[end:]) and re.match(r"^\s*(?:[a-zA-Zµ°]+/|°|[A-Z]{2,}\b)",
                                                                          text[end:]):
                    continue  # "25 EU/ml", "30 °C": a unit-like word we do not know
        window_cue = False
        if re.match(r"\s*/\s*\S|\s*(?:points?\s+)?(?:above|below|from|over)\s+(?:the\s+)?baseline|\s*(?:points?\s+)?"
                    r"(?:increase|decrease|reduction|change)", text[end:], re.IGNORECASE):
            continue  # "5/hour", "mL/min / 1.73m", "2 points above baseline": more than we read
        if (unit is None and rel is None and time_unit is None
                and re.match(r"\s*(?:/\s*\d|[A-Za-zµ°'][\w°]*)", text[end:])
                and not re.match(r"\s*(?:and|or|to|in|on|at|of|for|with|if|the|a|an|per|than|x|within|prior|before|"
                                 r"after|during|from|inclusive|exclusive|including|included|but|unless|except|"
                                 r"while|when|as|by|is|are|was|were|be|points?|on|off|over|under|above|below|"
                                 r"or\s+(?:more|less|greater|higher|lower|above|below|older|younger|over|under)|"
                                 r"and\s+(?:above|below|over|under|older|younger|more|less))\b", text[end:],
                             re.IGNORECASE)):
            continue  # "6 ppm", "2 drinks", "140/90", "5 minutes": a unit or count we do not read
        if op is None and time_unit is not None and _WINDOW_BEFORE.search(before[-40:]):
            op, window_cue = "<=", True  # "within 4 weeks", "in the past 6 months"
            wb = _WINDOW_BEFORE.search(before[-40:])
            assert wb is not None
            op_start = a - (len(before[-40:]) - wb.start())
        if op is None:
            skip = re.match(r"\s*(?:of\s+age|old)\b", text[end:]) if time_unit else None
            if skip:
                end += skip.end()
            post = _POST_RE.match(text, end)
            if post:
                op = _op_of(post.group("op"), _POST_OPS)
                end = post.end()
                if re.search(r"older|younger", post.group("op"), re.IGNORECASE):
                    time_unit, age_words = time_unit or "year", True
                if time_unit is None:  # "18 years or older" written "18 or older years"
                    tm = _TIME.match(text, end)
                    if tm:
                        w = tm.group("u").lower()
                        time_unit = _TIME_NAMES[w[0]] if not w.startswith("mi") else None
                        end = tm.end()
        if op is None:
            continue
        if op == "between" and high_text is not None and _number(high_text) < _number(low_text):
            continue  # "5-2": not a range we understand
        if op in ("<", ">") and re.search(r"=\s+$", text[:op_start]):
            continue  # "Understood By Others = <1": "=<" split in two (≤) or "is < 1"? ambiguous: abstain
        if (op == "between" and unit == "%" and high_text is not None and _number(low_text) == 0
                and _number(high_text) == 100):
            continue  # "any level of compliance (from 0-100%)": the whole scale, no constraint
        cs, ce = _clause_bounds(text, a)
        prev_end = max((r.end for r in out if r.end <= op_start), default=0)
        subject_span = text[max(cs, prev_end, op_start - 120):op_start]
        subject_text = text[max(cs, op_start - 80):op_start]
        subject_id, words = _resolve_subject(subject_text)
        # the kind of number
        kind: Literal["measure", "age", "window", "duration"] = "measure"
        since = False
        if time_unit is not None:
            after = text[end:end + 40]
            if subject_id in ("life_expectancy",):
                kind = "measure"
            elif re.search(r"\b(?:surviv\w*|expectancy|expected\s+to\s+live)\b", text[max(cs, op_start - 40):a],
                           re.IGNORECASE):
                kind = "duration"
            elif _SINCE_AFTER.match(after) and op in (">=", ">"):
                kind, since = "window", True
            elif (window_cue or _WINDOW_BEFORE.search(text[max(cs, op_start - 40):op_start])
                  or re.match(r"\s*(?:prior\s+to|before|preceding|ago)\b", after)) and op in ("<=", "<", "=="):
                kind = "window"
            elif op == "==" or op is None:
                continue
            elif age_words:
                kind, subject_id = "age", "age"
            elif (re.search(r"\bage[sd]?\s*:?\s*$", words, re.IGNORECASE)
                  or re.search(r"\baged?\s*(?:between|from|of)?\s*$", text[max(cs, op_start - 12):a], re.IGNORECASE)):
                kind, subject_id = "age", "age"  # "Age less than 72 hours"
            elif time_unit in ("year", "month") and cs == 0 and not text[:op_start].strip() and ce >= len(text) - 1:
                kind, subject_id = "age", "age"  # the whole criterion is "> 35 years" / "Over 18 years"
            elif time_unit in ("year", "month") and (
                    _AGE_CUE.search(text[max(cs, op_start - 40):a])
                    or re.match(r"\s*(?:of\s+age|old|-old|or\s+older|and\s+older)\b", after, re.IGNORECASE)
                    or re.fullmatch(r"(?:all\s+)?(?:patients|subjects|participants|adults|volunteers|persons|people|"
                                    r"children|men|women|(?:men|males?)\s+(?:and|or)\s+(?:women|females?))",
                                    words.strip(), re.IGNORECASE)) and not re.search(
                    r"\b(?:since|ago|prior|before|after|for|history|duration|diagnos\w*|within|past|last|survival|"
                    r"survive|expectancy|stay|lasting|episode|taking|treated|treatment|disease|onset)\b",
                    text[max(cs, op_start - 40):a] + " " + after[:20], re.IGNORECASE):
                kind, subject_id = "age", "age"
            else:
                kind = "duration"
        if kind == "window" and op == "==":
            op = "<="
        if (kind == "measure" and subject_id is None and unit is None and rel is None and time_unit is None
                and (re.search(r"\bage[sd]?\s*(?:of\s*)?:?\s*$", words, re.IGNORECASE)
                     or re.search(r"\bage[sd]?\s*(?:of\s*)?:?\s*(?:between|from)?\s*$", text[max(cs, op_start - 12):a],
                                  re.IGNORECASE)
                     or re.fullmatch(r"(?:all\s+)?(?:patients|subjects|participants|adults|volunteers|persons|people)",
                                     words.strip(), re.IGNORECASE)
                     and not re.match(r"\s*(?:and|or|to|-)\s*[≤≥<>]?\s*\d", text[end:]))):
            kind, subject_id, time_unit = "age", "age", "year"  # "Age ≥ 18": years
        if kind == "window" and since:
            after_words = re.match(r"\s*(?:since|prior\s+to|before|preceding|after|from)\s+(?P<w>[^;,.()]{1,60})",
                                   text[end:])
            if after_words:
                words = after_words.group("w").strip()
        if kind == "measure" and subject_id is None and unit is None and rel is None:
            # a bare number with an operator and no subject we know: keep it (scored), the drafter abstains
            pass
        qual = _QUALIFIER.match(text, end)
        value: float = _number(low_text)
        high = _number(high_text) if high_text is not None else None
        numbers = (low_text,) if high_text is None else (low_text, high_text)
        out.append(Reading(kind=kind, subject_id=subject_id, subject_text=words, op=op, value=value, high=high,
                           unit=unit, relative_to=rel, time_unit=time_unit,
                           negated=_negated(text, cs, a), start=op_start, end=end, numbers=numbers,
                           since=since, clause=text[cs:ce], qualifier=qual.group("q").strip() if qual else None,
                           subject_span=subject_span))
        consumed.append((a, end))
    out.extend(_normal_limits(text, consumed))
    out.sort(key=lambda r: r.start)
    for i in range(len(out) - 2, -1, -1):  # "> 18 and < 60 years": the unit written once, after the last
        r, nxt = out[i], out[i + 1]
        if (r.kind == "measure" and r.unit is None and r.relative_to is None and r.time_unit is None
                and nxt.start - r.end <= 12 and text[r.end:nxt.start].strip().lower() in ("and", ",", "or", "to")
                and (r.subject_id is None or r.subject_id == nxt.subject_id)):
            out[i] = replace(r, kind=nxt.kind, subject_id=nxt.subject_id, unit=nxt.unit, relative_to=nxt.relative_to,
                             time_unit=nxt.time_unit, since=nxt.since)
    for i in range(1, len(out)):  # "age > 21 or less than 2"
        r, prev = out[i], out[i - 1]
        if (r.kind == "measure" and r.unit is None and r.relative_to is None and r.time_unit is None
                and prev.kind == "age" and r.start - prev.end <= 6
                and text[prev.end:r.start].strip().lower() in ("and", ",", "or")):
            out[i] = replace(r, kind="age", subject_id="age", time_unit=prev.time_unit)
    # "≥1.5 and ≥1.4 mg/dL in males and females respectively": each threshold holds for a sub-group the
    # constraint cannot carry; read alone, either would be wrong for the other group: abstain on them
    out = [r for r in out if not _RESPECTIVELY.search(r.clause)]
    out.extend(_sexes(text))
    return out


_RESPECTIVELY = re.compile(r"\brespectively\b", re.IGNORECASE)


_SET = re.compile(r"(?<![\w.])(?P<first>\d)(?P<rest>(?:\s*,\s*\d)*)\s*,?\s*(?:or|and)\s+(?P<last>\d)(?![\w.])",
                  re.IGNORECASE)


def _score_sets(text: str, consumed: list[tuple[int, int]]) -> list[Reading]:
    """"ECOG performance status of 0, 1, or 2": a run of consecutive grades of a performance scale."""
    out = []
    for m in _SET.finditer(text):
        nums = [int(m.group("first")), *(int(x) for x in re.findall(r"\d", m.group("rest"))), int(m.group("last"))]
        if nums != list(range(nums[0], nums[0] + len(nums))):
            continue
        cs, ce = _clause_bounds(text, m.start())
        subject_id, words = _resolve_subject(text[max(cs, m.start() - 80):m.start()])
        if subject_id != "ecog":
            continue
        consumed.append(m.span())
        out.append(Reading(kind="measure", subject_id=subject_id, subject_text=words, op="between",
                           value=float(nums[0]), high=float(nums[-1]), negated=_negated(text, cs, m.start()),
                           start=m.start(), end=m.end(), numbers=tuple(str(n) for n in nums), clause=text[cs:ce],
                           subject_span=text[max(cs, m.start() - 80):m.start()]))
    return out


_NORMAL_LIMITS = re.compile(r"\b(?:within|in)\s+(?:the\s+)?(?:normal\s+)?(?:institutional\s+|site\s+|local\s+)?"
                            r"(?:normal\s+)?(?:limits|range)(?:\s+of\s+normal)?\b", re.IGNORECASE)


def _normal_limits(text: str, consumed: list[tuple[int, int]]) -> list[Reading]:
    """"Bilirubin within normal institutional limits": between the lower and upper reference limits."""
    out = []
    for m in _NORMAL_LIMITS.finditer(text):
        if any(m.start() < b and a < m.end() for a, b in consumed):
            continue
        cs, ce = _clause_bounds(text, m.start())
        subject_id, words = _resolve_subject(text[max(cs, m.start() - 80):m.start()])
        if subject_id is None:
            continue
        neg = _negated(text, cs, m.start())
        for op, rel in ((">=", "LLN"), ("<=", "ULN")):
            out.append(Reading(kind="measure", subject_id=subject_id, subject_text=words, op=op,  # type: ignore[arg-type]
                               value=1.0, relative_to=rel, negated=neg, start=m.start(),  # type: ignore[arg-type]
                               end=m.end(), numbers=(), clause=text[cs:ce]))
    return out


_FEMALE = re.compile(r"\b(?:female|females|women|woman|girls?|pre-?menopausal|post-?menopausal)\b", re.IGNORECASE)
_MALE = re.compile(r"\b(?:male|males|men|man|boys?)\b", re.IGNORECASE)


def _sexes(text: str) -> list[Reading]:
    out = []
    for sex, pat in (("female", _FEMALE), ("male", _MALE)):
        m = pat.search(text)
        if m:
            out.append(Reading(kind="sex", subject_id="sex", subject_text=m.group(0), op="==", value=sex,
                               start=m.start(), end=m.end()))
    return out


def extract(sentence: str, *, catalogs: Catalogs | None = None) -> list[Constraint]:
    """The constraints of one criterion sentence, as the registry wrote it; subjects are resolved
    against ``catalogs`` (a site's, as ``--catalog`` gives them; default: the bundled ones).

    >>> extract("Absolute neutrophil count >= 1,500/mm³")
    [Constraint(subject='anc', op='>=', value=1500.0, high=None, unit='/mm3', relative_to=None, window_days=None, negated=False)]
    """
    with using_catalogs(catalogs):
        return [r.constraint() for r in readings(sentence)]

