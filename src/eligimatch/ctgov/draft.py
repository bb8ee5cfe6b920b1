"""Draft a criteria file (``.elig``) from a registry record.

Every item of the record becomes one criterion, with its sentence and its number
(``I3``, ``E2_1`` for the first sub-item of exclusion 2).  An item the drafter can
read becomes a computable criterion marked ``draft`` (a reviewer compares it with
its sentence); everything else is ``judgment``.  The registry's structured age and
sex limits are compiled as criteria ``AGE_MIN``, ``AGE_MAX`` and ``SEX``.

The drafter abstains (``judgment``) whenever it is not sure, and says why
(:attr:`DraftedItem.reason`):

* a parent item (its meaning is in its sub-items), an item among alternatives
  (``... or`` / "one of the following" for an inclusion, "all of" for an
  exclusion), an item under a cohort heading;
* a number it cannot place (an unknown subject or unit), a condition on a threshold
  it cannot encode ("for patients with Gilbert's syndrome"), a negation it cannot
  scope, words it does not read (anything beyond a short list of filler words);
* an expression that does not compile against the catalogs.

Read: ages; ECOG/WHO/Zubrod and Karnofsky performance status; lab thresholds (with
units, multiples of ULN/LLN, "or" between two of them, a recency window, a
threshold that depends on liver metastases); creatinine clearance by Cockcroft-Gault;
life expectancy; pregnancy and breast-feeding, contraception, a negative pregnancy
test; informed consent; HIV, hepatitis B/C; brain metastases; therapies, therapy
classes and procedures, ever or within a window (washouts, "N half-lives, whichever
is longer").  Deterministic: the same record gives the same file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from eligimatch.ctgov.extract import Reading, normalise, readings
from eligimatch.ctgov.history import read_history
from eligimatch.ctgov.model import Item, RegistryRecord
from eligimatch.ctgov.templates import read_template
from eligimatch.ctgov.vocabulary import active_catalogs, using_catalogs
from eligimatch.errors import CriteriaError, RegistryError
from eligimatch.knowledge._catalogs import Catalogs

__all__ = ["Draft", "DraftedItem", "draft_trial", "item_id", "quote"]


@dataclass(frozen=True)
class DraftedItem:
    """One registry item and what the drafter made of it."""

    item: Item
    id: str
    expression: str  # `judgment` when not computable
    computable: bool
    reason: str | None = None  # why it stayed judgment (None when computable)
    missing: tuple[str, ...] = ()  # words naming something the catalogs lack


@dataclass(frozen=True)
class Draft:
    """A drafted trial: the ``.elig`` text and, per item, what became of it."""

    record: RegistryRecord
    text: str
    items: tuple[DraftedItem, ...]
    structured: tuple[str, ...] = field(default=())  # ids of the criteria from structured fields

    @property
    def computable(self) -> int:
        return sum(1 for d in self.items if d.computable)

    @property
    def judgment(self) -> int:
        return sum(1 for d in self.items if not d.computable)


def quote(text: str) -> str:
    """A criteria-file string literal for ``text`` (one line)."""
    one = re.sub(r"\s+", " ", text).strip()
    return '"' + one.replace("\\", "\\\\").replace('"', '\\"') + '"'


def item_id(item: Item) -> str:
    """``I3``, ``E2_1``: the section letter and the item's number."""
    return ("I" if item.kind == "inclusion" else "E") + item.number.replace(".", "_")


# ---- anchors -----------------------------------------------------------------------------------------
_ANCHOR_WORDS = [
    (r"apheresis|leukapheresis", "apheresis"),
    (r"screening", "screening"),
    (r"(?:signing\s+(?:the\s+)?)?(?:informed\s+)?consent", "consent"),
]


def anchor_of(text: str, context: str = "") -> str:
    """The anchor a window is counted back from: the words after ``prior to``/``before`` in
    ``text``, else in ``context`` (the lead-in of a list: "... treatments prior to apheresis:")."""
    found = _anchor_in(text)
    if found is None and context:
        found = _anchor_in(context)
    return found or "enrollment"


def _anchor_in(text: str) -> str | None:
    """The first anchor named after "prior to"/"before"/"of"/... ("since last dose of rituximab prior to
    screening": screening, not "of rituximab"); "enrollment" when such words name none."""
    found = False
    for m in re.finditer(r"\b(?:prior\s+to|before|of|preceding|from)\s+(?:the\s+)?(?=(?P<w>[^;,.()]{0,50}))", text,
                         re.IGNORECASE):
        found = True
        for pat, anchor in _ANCHOR_WORDS:
            if re.match(rf"\s*(?:the\s+)?(?:{pat})\b", m.group("w"), re.IGNORECASE):
                return anchor
    return "enrollment" if found else None


# ---- the structure around an item ---------------------------------------------------------------------
_ALTERNATIVES = re.compile(r"\b(?:one\s+of|any\s+of|either|at\s+least\s+(?:one|two|\d)\s+of|one\s+or\s+more\s+of)\b|"
                           r"\bor\s*:?\s*$", re.IGNORECASE)
_CONJUNCTIVE = re.compile(r"\b(?:all\s+of|each\s+of|both|adequate|sufficient|normal|defined\s+as|as\s+follows|"
                          r"as\s+defined\s+by|laboratory|lab|functions?|values?|criteria\s+below)\b", re.IGNORECASE)
_LIST_OF_KINDS = re.compile(r"\b(?:including|such\s+as|e\.g\.|types?|one\s+or\s+more)\b", re.IGNORECASE)
_ALL_OF = re.compile(r"\b(?:all\s+of|each\s+of|both)\b", re.IGNORECASE)
_ENDS_OR = re.compile(r"(?:\bor|\band/or|\bOR)\s*[.;:,]?\s*$", re.IGNORECASE)
_NOT_SPECIFIED = re.compile(r"^\s*(?:not\s+specified|see\s+(?:disease\s+characteristics|above|below)|none|n/a)\.?\s*$",
                            re.IGNORECASE)


def _structure_reason(item: Item, items: Sequence[Item]) -> str | None:
    if item.cohort is not None:
        return "under a cohort heading (cohort criteria are left to review)"
    if item.heading is not None and re.match(r"\s*(?:for|in)\s+\w+", item.heading, re.IGNORECASE):
        return f"for a sub-group ('{item.heading}')"
    if any(i.parent == item.number and i.kind == item.kind for i in items):
        return "a parent item: its meaning is in its sub-items"
    siblings = [i for i in items if i.kind == item.kind and i.parent == item.parent and i.heading == item.heading]
    if any(_ENDS_OR.search(s.text) for s in siblings):
        return "one of alternatives joined by 'or'"
    lead = None
    if item.parent is not None:
        lead = next((i for i in items if i.kind == item.kind and i.number == item.parent), None)
    else:  # flattened text: the nearest item above ending in ':' leads a list
        before = [i for i in items[:items.index(item)] if i.kind == item.kind and i.heading == item.heading
                  and i.level == 0]
        if (before and before[-1].text.rstrip().endswith(":")
                and not any(i.parent == before[-1].number and i.kind == item.kind for i in items)):
            lead = before[-1]  # (an item whose list was read as its sub-items leads only them)
    if lead is not None:
        if _ALTERNATIVES.search(lead.text) and item.kind == "inclusion":
            return "one of alternatives ('one of the following')"
        if _ALL_OF.search(lead.text) and item.kind == "exclusion":
            return "one of several conditions that exclude only together"
        if item.kind == "exclusion" and not re.search(r"\b(?:any|following|including|such\s+as)\b", lead.text,
                                                      re.IGNORECASE):
            return "a sub-item whose relation to its parent is not stated"
        if item.kind == "inclusion" and (not _CONJUNCTIVE.search(lead.text) or _LIST_OF_KINDS.search(lead.text)):
            return "a sub-item whose relation to its parent is not stated"
    return None


# ---- numbers: labs, scores, ages ----------------------------------------------------------------------
_FILLER = frozenset("""
a an the of and with at in on to be is are must should have has had patients patient subjects subject
participants participant adequate sufficient organ bone marrow function functions hepatic renal liver kidney
hematologic haematologic hematological haematological as defined by serum plasma blood level levels count
counts value values total absolute laboratory lab results result following institutional normal range measured
calculated estimated performance status score ps scale group cooperative oncology eastern who world health
organization zubrod karnofsky ecog life expectancy expected survival age aged years old year months month
weeks week days day inclusive including included both limits limit upper lower uln lln time screening baseline
registration enrollment enrolment study entry visit documented confirmed x times institution's site's test
tests local within prior before hours least equal than greater less more no not exceed exceeding above below
over under up or according formula equation using cockcroft gault cockcroft-gault based adult adults
""".split())


def _leftover(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """Words of ``text`` outside ``spans`` that are neither filler nor a number."""
    keep = []
    last = 0
    for a, b in sorted(spans):
        if a > last:
            keep.append(text[last:a])
        last = max(last, b)
    keep.append(text[last:])
    rest = " ".join(keep)
    words = re.findall(r"[A-Za-z][A-Za-z'’\-]*", rest)
    return [w for w in words if w.lower().strip("'’-") not in _FILLER]


def _fmt(x: float) -> str:
    return f"{x:.10g}"


_WORD_UNITS = {"kg", "mg", "g", "cm", "mmHg", "points"}


def _unit_src(unit: str) -> str:
    u = unit
    if u in _WORD_UNITS or (re.search(r"[/^%*]", u) and not re.search(r"[\s,()\[\]\"#:<>=!≤≥≠]", u)):
        return u
    return "[" + u + "]"


def _comparison(r: Reading, subject: str) -> str | None:
    """The comparison for one reading, or None when it cannot be written."""
    op = "=" if r.op == "==" else r.op
    if r.relative_to is not None:
        if r.op == "between":
            return None
        return f"{subject} {op} {_fmt(float(r.value))} x {r.relative_to}"
    unit = ""
    if r.time_unit is not None:
        unit = " " + r.time_unit + ("s" if (r.high or float(r.value)) != 1 else "")
    elif r.unit is not None:
        unit = " " + _unit_src(r.unit)
    if r.op == "between":
        assert r.high is not None
        return f"{subject} between {_fmt(float(r.value))} and {_fmt(r.high)}{unit}"
    return f"{subject} {op} {_fmt(float(r.value))}{unit}"


_PS = {"ecog", "karnofsky"}


def _measure_expr(r: Reading, text: str) -> tuple[str | None, str | None]:
    """(expression, reason) for one lab/score/age reading."""
    sid = r.subject_id
    if r.kind == "age":
        if r.time_unit is None:
            return None, "an age without a unit"
        return _comparison(r, "age"), None
    if sid is None:
        return None, "a number whose subject the catalogs do not know"
    if sid in _PS:
        if r.unit not in (None, "%") or r.relative_to is not None:
            return None, "a performance status with a unit"
        return _comparison(Reading(**{**r.__dict__, "unit": None}), sid), None  # a scale: "70%" is 70
    if sid == "life_expectancy":
        if r.time_unit is None:
            return None, "a life expectancy without a unit of time"
        return _comparison(r, sid), None
    if r.time_unit is not None:
        return None, "a lab threshold in units of time"
    if r.unit is None and r.relative_to is None:
        return None, "a lab threshold without a unit"
    subject = sid
    if sid == "crcl" and re.search(r"cockcroft", text, re.IGNORECASE):
        subject = "crcl by cockcroft_gault"
    return _comparison(r, subject), None


def _subjects(r: Reading) -> list[str]:
    """Several analytes named before one threshold ("ALT and AST ≤ 2.5 x ULN", "AST/ALT")."""
    from eligimatch.ctgov.extract import _subject_index

    taken: list[tuple[int, int, str]] = []
    for pat, ident in _subject_index():  # longest phrase first
        for m in pat.finditer(r.subject_span or r.subject_text):
            if not any(m.start() < b and a < m.end() for a, b, _ in taken):
                taken.append((m.start(), m.end(), ident))
    ids: list[str] = []
    for _, _, ident in sorted(taken):
        if ident not in ids:
            ids.append(ident)
    return ids


_GRANULOCYTES = re.compile(r"^(?:absolute\s+)?granulocyte\s+count$", re.IGNORECASE)
_GRANULOCYTE_WORDS = re.compile(r"(?<!\w)(?:absolute\s+)?granulocyte\s+count(?!\w)", re.IGNORECASE)


def _granulocytes_as_anc(item: Item, measures: list[Reading]) -> tuple[list[Reading], str | None]:
    """The NCI PDQ records' "granulocyte count" (NCT00023673: "Granulocyte count at least 1,500/mm^3").

    Granulocytes are the neutrophils plus the eosinophils and basophils, so the granulocyte count is never
    below the absolute neutrophil count: a threshold on it is drafted on ``anc`` only where that is at
    least as strict -- a lower bound of an inclusion, an upper bound of an exclusion -- so the draft can
    never let in a patient the protocol keeps out.  Any other bound is left to judgment.  (The extraction
    leaves the words unresolved: they do not name the ANC.)"""
    out = []
    for r in measures:
        if r.subject_id is None and r.kind == "measure" and _GRANULOCYTES.match(r.subject_text.strip()):
            strict = (r.op in (">=", ">") if item.kind == "inclusion" else r.op in ("<", "<="))
            if not strict or r.relative_to is not None:
                return measures, ("a granulocyte count bound the neutrophil count cannot stand in for (it is "
                                  "never above the granulocyte count)")
            r = Reading(**{**r.__dict__, "subject_id": "anc"})
        out.append(r)
    return out, None


def _read_numbers(item: Item) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Labs, scores, ages and life expectancy: (expression, reason, missing words)."""
    # the sub-heading names the subject in the NCI layout ("Life expectancy: At least 3 months")
    lead = f"{item.heading}: " if item.heading else ""
    text = normalise(lead + item.text)
    rs = [r for r in readings(lead + item.text) if r.kind != "sex" and r.start >= len(normalise(lead))]
    abbreviations = [m.span() for m in re.finditer(r"\(\s*[A-Za-z][A-Za-z0-9\-]{0,7}\s*\)", text)]
    if not rs:
        return None, None, ()
    windows = [r for r in rs if r.kind == "window"]
    measures = [r for r in rs if r.kind in ("measure", "age")]
    if not measures:
        return None, None, ()
    granulocytes = any(r.subject_id is None and _GRANULOCYTES.match(r.subject_text.strip()) for r in measures)
    measures, why = _granulocytes_as_anc(item, measures)
    if why:
        return None, why, ()
    if any(r.kind == "duration" for r in rs):
        return None, "a duration the drafter does not encode", ()
    if any(r.negated for r in measures):
        return None, "a negated threshold", ()
    from eligimatch.ctgov.extract import _NEGATION, _OP_NEG_WORDS

    if _NEGATION.search(_OP_NEG_WORDS.sub(" ", text)):
        return None, "a negation the drafter cannot scope", ()
    missing = tuple(sorted({r.subject_text for r in measures if r.subject_id is None and r.kind == "measure"}))
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(measures):
        r = measures[i]
        if r.qualifier:
            nxt = measures[i + 1] if i + 1 < len(measures) else None
            return None, f"a threshold with a condition ({r.qualifier[:60]})", missing
        nxt = measures[i + 1] if i + 1 < len(measures) else None
        # "ALT ≤ 2.5 x ULN (≤ 5 x ULN if liver metastases)": the second threshold has the condition
        if nxt is not None and nxt.qualifier and nxt.subject_id == r.subject_id and r.subject_id is not None:
            cond = _liver_metastases(nxt.qualifier)
            subs = [s for s in _subjects(r) if s not in _PS] or [r.subject_id]
            bases = [_measure_expr(Reading(**{**r.__dict__, "subject_id": s}), text)[0] for s in subs]
            alts = [_measure_expr(Reading(**{**nxt.__dict__, "subject_id": s}), text)[0] for s in subs]
            if cond is None or None in bases or None in alts or re.search(r"\bor\b", r.subject_span, re.IGNORECASE):
                return None, f"a threshold with a condition ({nxt.qualifier[:60]})", missing
            base, alt = " and ".join(b for b in bases if b), " and ".join(a for a in alts if a)
            parts.append(f"(if {cond} then {alt} else {base})")
            spans += [(r.start, r.end), (nxt.start, nxt.end + len(nxt.qualifier) + 2)]
            i += 2
            continue
        subs = _subjects(r) if r.kind == "measure" else []
        if len(subs) > 1 and any(s in _PS or s == "life_expectancy" for s in subs):
            return None, "several scores or facts before one threshold", missing
        if len(subs) > 1:
            if re.search(r"\bor\b", r.subject_span, re.IGNORECASE):
                return None, "'or' between the labs one threshold applies to", missing
            exprs = []
            for s in subs:
                e, why = _measure_expr(Reading(**{**r.__dict__, "subject_id": s}), text)
                if e is None:
                    return None, why, missing
                exprs.append(e)
            parts.append(" and ".join(exprs))
        else:
            e, why = _measure_expr(r, text)
            if e is None:
                return None, why, missing
            parts.append(e)
        spans.append((r.start, r.end))
        i += 1
    # how the thresholds are joined
    joiners = []
    for a, b in itertools.pairwise(measures):
        between = text[a.end:b.start]
        between = re.sub(re.escape(b.subject_text), " ", between, flags=re.IGNORECASE) if b.subject_text else between
        joiners.append("or" if re.search(r"\bor\b", between, re.IGNORECASE) else "and")
    if "or" in joiners and "and" in joiners:
        return None, "'and' and 'or' mixed between thresholds", missing
    recency = ""
    if windows:
        if len(windows) > 1 or windows[0].since or any(r.kind == "age" for r in measures):
            return None, "a time window the drafter does not place", missing
        w = windows[0]
        unit = w.time_unit + ("s" if float(w.value) != 1 else "") if w.time_unit else None
        if unit is None or w.op not in ("<=", "<") or w.time_unit == "hour":
            return None, "a time window the drafter does not place", missing
        recency = f" within {_fmt(float(w.value))} {unit} before {anchor_of(text[w.end:])}"
        spans.append((w.start, w.end))
        spans.append((w.end, w.end + len(re.match(r"\s*(?:prior\s+to|before|of)?\s*(?:the\s+)?[^;,.()]{0,40}",
                                                           text[w.end:]).group(0))))  # type: ignore[union-attr]
    from eligimatch.ctgov.extract import _subject_index

    for pat, _ident in _subject_index():  # the words naming the subjects are read
        spans.extend(m.span() for m in pat.finditer(text))
    # "Male or female", "Men and women": both sexes, no constraint.  A single sex ("men age ≥55 years") is not
    # read: it may be one of several sub-group alternatives
    spans.extend(m.span() for m in _BOTH_SEXES.finditer(text))
    if granulocytes:  # read as the ANC above, where sound
        spans.extend(m.span() for m in _GRANULOCYTE_WORDS.finditer(text))
    left = _leftover(text, spans + abbreviations + [(0, len(normalise(lead)))])
    if left:
        return None, "words the drafter does not read: " + " ".join(left[:6]), missing
    if recency:
        parts = [_add_recency(p, recency) for p in parts]
    joined = f" {joiners[0] if joiners else 'and'} ".join(parts)
    return joined, None, missing


_BOTH_SEXES = re.compile(r"\b(?:males?|men)\s+(?:and/or|or|and|&)\s+(?:females?|women)\b|"
                         r"\b(?:females?|women)\s+(?:and/or|or|and|&)\s+(?:males?|men)\b", re.IGNORECASE)


def _add_recency(part: str, recency: str) -> str:
    if part.startswith(("(if ", "age", "ecog", "karnofsky", "life_expectancy")):
        return part
    return " and ".join(p + recency for p in part.split(" and "))


def _liver_metastases(qualifier: str) -> str | None:
    if re.search(r"\b(?:liver|hepatic)\s+(?:metastases|metastasis|involvement)\b", qualifier, re.IGNORECASE) and \
            not re.search(r"\b(?:no|without|absence)\b", qualifier, re.IGNORECASE):
        return "condition liver_metastases"
    return None


# ---- one item ------------------------------------------------------------------------------------------
def draft_item(item: Item, items: Sequence[Item]) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(expression, reason, missing words) for one item; expression None means judgment."""
    if _NOT_SPECIFIED.match(item.text):
        return None, "nothing to check ('not specified')", ()
    why = _structure_reason(item, items)
    if why is not None:
        return None, why, ()
    context = _lead_in(item, items)
    for reader in (read_template, _read_numbers, lambda it: read_history(it, lambda rest: anchor_of(rest, context))):
        expr, reason, missing = reader(item)
        if expr is not None:
            unused = numbers_of(item.text) - numbers_of(expr)
            if unused:
                return None, "numbers in the sentence the drafter did not use: " + ", ".join(
                    f"{n:g}" for n in sorted(unused)), missing
            return expr, None, missing
        if reason is not None:
            return None, reason, missing
    return None, "no form the drafter reads", ()


def _lead_in(item: Item, items: Sequence[Item]) -> str:
    """The parent's text, or in flattened text the nearest item above ending in ':' in the same section."""
    if item.parent is not None:
        parent = next((i for i in items if i.kind == item.kind and i.number == item.parent), None)
        return parent.text if parent is not None else ""
    before = [i for i in items[:items.index(item)] if i.kind == item.kind and i.heading == item.heading]
    for i in reversed(before):
        if i.text.rstrip().endswith(":") and not any(c.parent == i.number and c.kind == i.kind for c in items):
            return i.text
    return ""


_UNIT_NUMBERS = re.compile(r"x?10\^\d+|\b1\.73\s*m2?|\bmm3\b|\bm2\b|\bm\^2\b|\b[A-Za-z]+\d+(?:\.\d+)*[A-Za-z]*\b|"
                           r"\b\d+[A-Za-z]+\d+\b")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def numbers_of(text: str) -> set[float]:
    """The numbers a sentence or an expression states, leaving out those inside units and names
    (``10^9``, ``1.73 m2``, ``CD19``, ``v5.0`` written ``CTCAEv5``)."""
    text = _UNIT_NUMBERS.sub(" ", normalise(text))
    return {float(n.replace(",", "")) for n in _NUMBER.findall(text)}


def _compiles(expr: str, anchors: Sequence[str]) -> str | None:
    from eligimatch.engine._compile import compile_trial

    text = f"anchors {', '.join(anchors)}\ninclusion:\n  - X: {expr}\n"
    try:
        compile_trial(text, filename="<draft>", catalogs=active_catalogs())
    except CriteriaError as exc:
        return exc.problems[0].message if getattr(exc, "problems", None) else str(exc)
    return None


ANCHORS = ("screening", "consent", "apheresis", "enrollment")


def draft_trial(record: RegistryRecord, *, catalogs: Catalogs | None = None) -> Draft:
    """The drafted ``.elig`` of ``record`` (see the module docstring).

    Names, units and drafted expressions are read and compiled against ``catalogs`` (a site's
    catalogs, ``Catalogs.load([...])``; default: the bundled ones); check the draft with the same
    catalogs (``eligimatch check --catalog FILE``).
    Raises :class:`~eligimatch.errors.RegistryError` when the record has no criteria text.
    """
    with using_catalogs(catalogs):
        return _draft_trial(record)


def _draft_trial(record: RegistryRecord) -> Draft:
    if not record.items:
        raise RegistryError(f"{record.id}: the record has no eligibility criteria text; there is nothing to draft "
                            "(the registry's structured age and sex limits alone are not a trial's criteria)")
    drafted: list[DraftedItem] = []
    for item in record.items:
        expr, reason, missing = draft_item(item, record.items)
        if expr is not None:
            problem = _compiles(expr, ANCHORS)
            if problem is not None:
                expr, reason = None, f"the drafted expression does not compile: {problem}"
        drafted.append(DraftedItem(item=item, id=item_id(item), expression=expr or "judgment",
                                   computable=expr is not None, reason=reason if expr is None else None,
                                   missing=missing))
    drafted_exprs = {d.expression for d in drafted if d.computable}
    structured = [st for st in _structured(record) if st[2] not in drafted_exprs]  # an item says it, with its sentence
    for _ in range(5):  # a drafted criterion that lint flags (a contradiction as written, a duplicate) is withdrawn
        text = _render(record, drafted, structured)
        flagged = _flagged(text, record.id)
        if not flagged:
            break
        drafted = [DraftedItem(item=d.item, id=d.id, expression="judgment", computable=False,
                               reason=f"withdrawn: {flagged[d.id]}", missing=d.missing)
                   if d.id in flagged and d.computable else d for d in drafted]
    text = _canonical(text, record.id)
    return Draft(record=record, text=text, items=tuple(drafted), structured=tuple(st[0] for st in structured))


def _canonical(text: str, trial_id: str) -> str:
    """The text as ``eligimatch fmt`` writes it, so that ``fmt --check`` passes on a fresh draft."""
    from eligimatch.errors import EligimatchError
    from eligimatch.language._fmt import format_text

    try:
        return format_text(text, filename=f"{trial_id}.elig")
    except EligimatchError:  # fmt refuses what it cannot keep intact; the draft is valid as written
        return text


def _flagged(text: str, trial_id: str) -> dict[str, str]:
    """Criterion id -> lint finding, for the criteria of a drafted text that lint flags."""
    from eligimatch.engine._compile import compile_trial
    from eligimatch.language._lint import lint

    trial = compile_trial(text, filename=f"{trial_id}.elig", catalogs=active_catalogs())
    by_line = {c.line: c.id for c in trial.all_criteria()}
    out: dict[str, str] = {}
    for f in lint(trial):
        line = f.line
        while line > 0 and line not in by_line:
            line -= 1
        if line in by_line:
            out.setdefault(by_line[line], f"{f.code}: {f.message}")
    return out


def _structured(record: RegistryRecord) -> list[tuple[str, str, str]]:
    structured: list[tuple[str, str, str]] = []
    if record.minimum_age is not None and record.minimum_age.unit in ("years", "months", "weeks", "days"):
        structured.append(("AGE_MIN", f"Registry: minimum age {record.minimum_age}",
                           f"age >= {record.minimum_age.value} {record.minimum_age.unit}"))
    if record.maximum_age is not None and record.maximum_age.unit in ("years", "months", "weeks", "days"):
        structured.append(("AGE_MAX", f"Registry: maximum age {record.maximum_age}",
                           f"age <= {record.maximum_age.value} {record.maximum_age.unit}"))
    if record.sex in ("female", "male"):
        structured.append(("SEX", f"Registry: sex {record.sex}", f"sex = {record.sex}"))
    return structured


def _render(record: RegistryRecord, drafted: Sequence[DraftedItem], structured: Sequence[tuple[str, str, str]]) -> str:
    lines = [f"# Drafted by eligimatch from the ClinicalTrials.gov record {record.id}"
             + (f" ({record.source_format})" if record.source_format else "") + ".",
             "# Criteria marked `draft` were written by a machine: compare each with its sentence, then remove",
             "# `draft`.  `judgment` criteria are left to the investigator.",
             f"trial {quote(record.id)}"]
    if record.title:
        lines.append(f"title {quote(record.title)}")
    lines.append(f"anchors {', '.join(ANCHORS)}")
    lines.append("")
    for kind in ("inclusion", "exclusion"):
        these = [d for d in drafted if d.item.kind == kind]
        extra = structured if kind == "inclusion" else []
        if not these and not extra:
            continue
        lines.append(f"{kind}:")
        for cid, text, expr in extra:
            lines.append(f"  - {cid} {quote(text)}:")
            lines.append(f"      {expr}")
        for d in these:
            where = f"{d.item.heading}: " if d.item.heading else ""
            cohort = f"[{d.item.cohort}] " if d.item.cohort else ""
            mark = " draft" if d.computable else ""
            lines.append(f"  - {d.id} {quote(cohort + where + d.item.text)}{mark}:")
            if d.reason:
                lines.append(f"      # {d.reason}")
            lines.append(f"      {d.expression}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"

