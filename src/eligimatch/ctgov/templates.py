"""Whole-item templates: pregnancy and breast-feeding, contraception, a negative pregnancy
test, informed consent, HIV / hepatitis B / hepatitis C, brain metastases.

Each template matches only when the item says nothing else: the words left after
the template's own words are removed must be filler (``patients``, ``known``,
``women``...).  An inclusion that negates ("Not pregnant or nursing") and an
exclusion that states ("Pregnant or breast-feeding women") give the same
condition with the sign the section needs; an inclusion that states or an
exclusion that negates a template the drafter does not expect there abstains.
"""

from __future__ import annotations

import re

from eligimatch.ctgov.extract import normalise
from eligimatch.ctgov.model import Item

__all__ = ["read_template"]

Result = tuple[str | None, str | None, tuple[str, ...]]

_NEG = re.compile(r"^\s*(?:no|not|non|without|must\s+not\s+be|should\s+not\s+be|is\s+not|are\s+not|neither)\b|"
                  r"\bnon-", re.IGNORECASE)
# a negation anywhere in the item ("Women who are not pregnant"), not only at its start
_NEG_ANY = re.compile(r"\b(?:no|not|non|never|without|neither|nor|absence|absent|free\s+of|cannot|unable|"
                      r"negative)\b|\bnon-|n't\b", re.IGNORECASE)
_FILL = frozenset("""
a an the and or of with who are is be being currently known patients patient subjects subject participants
participant women woman female females men male males mothers mother any documented history evidence active
positive infection infected status test tested seropositive seropositivity disease
""".split())


def _rest(text: str, *patterns: str) -> list[str]:
    for p in patterns:
        text = re.sub(p, " ", text, flags=re.IGNORECASE)
    words = re.findall(r"[A-Za-z][A-Za-z'\-]*", text)
    return [w for w in words if w.lower() not in _FILL]


_PREG = r"\bpregnan(?:t|cy)\b(?:\s*\(\s*positive\s+pregnancy\s+test(?:\s+prior\s+to\s+dosing)?\s*\))?"
_BF = r"\b(?:breast[\s\-]?feeding|lactating|lactation|nursing)\b"


def _pregnancy(item: Item, text: str) -> Result | None:
    preg = re.search(_PREG, text, re.IGNORECASE)
    bf = re.search(_BF, text, re.IGNORECASE)
    if not (preg or bf):
        return None
    if re.search(r"\btest\b|\bplan|\bintend|\bbecom|\bcontracept|\bchildbearing|\bpotential\b", text, re.IGNORECASE):
        return None  # another template, or more than the state itself
    negated = bool(_NEG_ANY.search(text))
    left = _rest(text, _PREG, _BF, r"\b(?:not|non|no|neither|nor|or|and/or|must|should)\b", r"[-,.;:()]")
    if left:
        return None, "pregnancy/breast-feeding with more words than the drafter reads: " + " ".join(left[:5]), ()
    facts = [f for f, hit in (("pregnant", preg), ("breastfeeding", bf)) if hit]
    inner = facts[0] if len(facts) == 1 else "(" + " or ".join(facts) + ")"
    state = f"sex = female and {inner}"
    if item.kind == "exclusion" and not negated:
        return state, None, ()
    if item.kind == "inclusion" and negated:
        return f"not ({state})", None, ()
    if item.kind == "inclusion" and not negated:
        return state, None, ()  # a study of pregnant women
    return None, "a negated pregnancy condition among exclusions", ()


def _contraception(item: Item, text: str) -> Result | None:
    if not re.search(r"\bcontracepti", text, re.IGNORECASE):
        return None
    if item.kind != "inclusion" or not re.search(r"\b(?:agree|willing|must|should|will)\b.*\b(?:use|practi[cs]e|"
                                                 r"employ)\b", text, re.IGNORECASE):
        return None, "a contraception criterion the drafter does not read", ()
    if not re.search(r"childbearing|child-bearing|reproductive\s+potential|fertile|WOCBP", text, re.IGNORECASE):
        return None, "contraception required of whom the drafter cannot tell", ()
    if _NEG_ANY.search(text):
        return None, "a negated contraception criterion", ()
    if re.search(r"[.;]\s+[A-Z]|\bpregnan|\bbreast|\blactat|\bnursing\b|\btest\b|\bdonat|\bsperm|\begg", text):
        return None, "contraception together with other requirements", ()
    return "if childbearing_potential then contraception_agreed else true", None, ()


def _pregnancy_test(item: Item, text: str) -> Result | None:
    if not re.search(r"\bnegative\b[^.;]{0,40}\bpregnancy\s+test|\bpregnancy\s+test[^.;]{0,20}\bnegative\b", text,
                     re.IGNORECASE):
        return None
    if item.kind != "inclusion" or not re.search(r"childbearing|child-bearing|reproductive\s+potential|WOCBP|"
                                                 r"fertile", text, re.IGNORECASE):
        return None, "a pregnancy test required of whom the drafter cannot tell", ()
    return "if sex = female and childbearing_potential then pregnancy_test_negative else true", None, ()


def _consent(item: Item, text: str) -> Result | None:
    if not re.search(r"\binformed\s+consent\b|\bconsent\s+form\b|\bICF\b", text, re.IGNORECASE):
        return None
    if item.kind != "inclusion" or re.search(r"\b(?:not|unable|cannot|no)\b", text, re.IGNORECASE):
        return None, "a consent criterion the drafter does not read", ()
    if not re.search(r"\b(?:sign|signed|signing|provide|provided|give|given|obtain|obtained|written)\b", text,
                     re.IGNORECASE):
        return None, "a consent criterion the drafter does not read", ()
    if re.search(r"\b(?:representative|guardian|parent|assent|proxy)\b", text, re.IGNORECASE) and not re.search(
            r"\bsigned\s+by\s+the\s+patient\s+or\b", text, re.IGNORECASE):
        return None, "consent by a representative or assent: left to the investigator", ()
    left = _rest(text, r"\b(?:able|ability|willing|willingness|to|understand|understands|understanding|and|sign|signs|"
                       r"signed|signing|provide|provided|providing|give|given|giving|obtain|obtained|written|informed|"
                       r"consent|form|document|icf|voluntarily|voluntary|participation|must|have|has|been|fully|of|"
                       r"possible|risks|benefits|participating|participate|in|this|study|trial|prior|before|any|"
                       r"procedures|specific|related|performed|personally|dated|by|the|patient|subjects|patients|"
                       r"his|her|their|own|agree|agrees|comply|requirements|protocol)\b", r"[-,.;:()/]")
    if left:
        return None, "consent with more words than the drafter reads: " + " ".join(left[:5]), ()
    return "consent_signed", None, ()


_VIRUS = [
    (r"\b(?:HIV|human\s+immunodeficiency\s+virus)(?:\s*\(HIV\))?(?:[\s\-]*(?:1|2|1/2))?", "hiv_infection"),
    (r"\bhepatitis\s+B(?:\s+virus)?(?:\s*\(HBV\))?|\bHBV\b", "hepatitis_b"),
    (r"\bhepatitis\s+C(?:\s+virus)?(?:\s*\(HCV\))?|\bHCV\b", "hepatitis_c"),
]


def _viruses(item: Item, text: str) -> Result | None:
    found = [(pat, cid) for pat, cid in _VIRUS if re.search(pat, text, re.IGNORECASE)]
    if not found:
        return None
    negated = bool(_NEG_ANY.search(text))
    left = _rest(text, *[p for p, _ in found], r"\b(?:not|no|negative|or|and/or|nor)\b", r"[-,.;:()/]",
                 r"\b(?:chronic|acute)\b")
    if left:
        return None, "a viral infection with more words than the drafter reads: " + " ".join(left[:5]), ()
    if re.search(r"\bnegative\b", text, re.IGNORECASE) and item.kind == "exclusion":
        return None, "'negative' among exclusions", ()
    expr = " or ".join(f"history of {cid}" for _, cid in found)
    if item.kind == "exclusion" and not negated:
        return expr, None, ()
    if item.kind == "inclusion" and negated:
        return f"not ({expr})" if len(found) > 1 else f"not {expr}", None, ()
    return None, "a viral infection required for inclusion (a study population, left to review)", ()


def _brain_metastases(item: Item, text: str) -> Result | None:
    pat = r"\b(?:brain|CNS|central\s+nervous\s+system|cerebral)\s+metastas[ie]s\b"
    if not re.search(pat, text, re.IGNORECASE):
        return None
    negated = bool(_NEG_ANY.search(text))
    left = _rest(text, pat, r"\b(?:not|no|or|nor)\b", r"[-,.;:()/]")
    if left:
        return None, "brain metastases with a qualifier the drafter does not encode: " + " ".join(left[:5]), ()
    if item.kind == "exclusion" and not negated:
        return "condition brain_metastases", None, ()
    if item.kind == "inclusion" and negated:
        return "not condition brain_metastases", None, ()
    return None, "brain metastases required for inclusion: left to review", ()


_COND_FILL = set("""a an the and or of with who has have had having history known diagnosis diagnosed patients patient
subjects subject participants participant active current currently prior previous previously documented any evidence
presence present confirmed established existing suffering from""".split())


def _conditions(item: Item, text: str) -> Result | None:
    """History criteria: "History of stroke", "Known autoimmune disease", "No prior myocardial infarction"."""
    from eligimatch.ctgov.concepts import mentions
    from eligimatch.ctgov.extract import readings

    ms = [m for m in mentions(text) if m.kind == "condition"]
    if not ms or any(m.kind != "condition" for m in mentions(text)):
        return None
    if re.search(r"\b(?:except|other\s+than|unless|excluding|allowed|permitted|eligible|may|if|requiring|"
                 r"treated|untreated|controlled|uncontrolled|severe|significant|mild|moderate|stable|unstable)\b",
                 text, re.IGNORECASE):
        return None, "a condition with a qualifier the drafter does not encode", ()
    rs = [r for r in readings(text) if r.kind != "sex"]
    if any(r.kind != "window" for r in rs):
        return None  # a threshold: the number readers decide
    if len(rs) > 1 or any(r.since or r.time_unit not in ("day", "week", "month", "year") for r in rs):
        return None, "a condition with a window the drafter does not read", ()
    if any(re.search(r"(?:er|ers)$", m.text, re.IGNORECASE) for m in ms):
        return None, "a person's state ('smoker', 'drinker') the drafter does not time", ()
    for m1, m2 in zip(ms, ms[1:]):  # several conditions: a plain list ("X, Y or Z"), nothing between them
        if not re.fullmatch(r"\s*(?:,|/|or|and/or|,\s*or|nor|,\s*nor)\s*(?:history\s+of\s+|known\s+)?", text[m1.end:m2.start],
                            re.IGNORECASE):
            return None, "several conditions in a relation the drafter does not read", ()
    negated = bool(_NEG_ANY.search(text))
    spans = [(m.start, m.end) for m in ms] + [(r.start, r.end) for r in rs]
    rest = text
    for a, b in sorted(spans, reverse=True):
        rest = rest[:a] + " " + rest[b:]
    rest = re.sub(r"\b(?:prior\s+to|before|of)\s+(?:the\s+)?(?:screening|enrollment|enrolment|registration|"
                  r"randomi[sz]ation|study\s+entry|consent|first\s+dose)\b", " ", rest, flags=re.IGNORECASE)
    left = [w for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", rest)
            if w.lower() not in _COND_FILL and w.lower() not in ("no", "not", "without", "nor", "neither")]
    if left:
        return None, "a condition with more words than the drafter reads: " + " ".join(left[:5]), ()
    ids = list(dict.fromkeys(m.id for m in ms))
    # an exclusion or a negated inclusion reads the whole history unless it says "active"/"current" (the broader
    # reading excludes more: never a wrong match); a required condition must be present now
    current = bool(re.search(r"\b(?:active|current|currently|present)\b", text, re.IGNORECASE))
    history = bool(rs) or (item.kind == "exclusion" or negated) and not current or bool(
        re.search(r"\b(?:history|prior|previous|previously)\b", text, re.IGNORECASE))
    window = ""
    if rs:
        r = rs[0]
        from eligimatch.ctgov.draft import anchor_of

        window = f" within {float(r.value):.10g} {r.time_unit}{'s' if float(r.value) != 1 else ''} " \
                 f"before {anchor_of(text[r.end:])}"
    form = "history of" if history else "condition"
    parts = [f"{form} {cid}{window}" for cid in ids]
    if item.kind == "exclusion" and not negated:
        return " or ".join(parts), None, ()
    if item.kind == "inclusion" and negated:
        return f"not ({' or '.join(parts)})" if len(parts) > 1 else f"not {parts[0]}", None, ()
    if item.kind == "inclusion" and not negated and len(parts) == 1 and not window:
        return parts[0], None, ()
    return None, "a condition list the drafter does not read", ()


def read_template(item: Item) -> Result:
    """(expression, reason, missing) when a template applies, else (None, None, ())."""
    text = normalise(item.text).rstrip(" .;")
    for reader in (_pregnancy_test, _contraception, _pregnancy, _consent, _viruses, _brain_metastases, _conditions):
        got = reader(item, text)
        if got is not None:
            return got
    return None, None, ()
