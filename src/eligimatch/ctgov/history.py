"""Therapies, therapy classes and procedures named in an item: ever, or within a window.

Forms read (``X`` a drug, drug class or procedure the catalogs know):

* exclusion ``[Prior|Received|Treatment with|Use of] X within N <unit> [prior to|before] <anchor>``
  → ``therapy X within N <unit> before <anchor>`` (``procedure`` for procedures); with
  ``or M half-lives, whichever is longer`` → ``within max(N <unit>, M half-lives)``;
* inclusion ``No X within N <unit> ...`` → ``not therapy X within ...``;
* inclusion ``At least N <unit> since [prior|last] X`` (or "X completed/discontinued at
  least N <unit> before ...") → ``washout from X of at least N <unit> before <anchor>``, the
  completed washout (``anchor − last dose ≥ N``); ``More than N <unit> since X`` →
  ``not therapy X within N <unit> before <anchor>`` (``anchor − last dose > N``: the
  window's ends both count).  For a procedure "at least N since" has no completed form in
  the language (``not procedure … within`` would refuse the boundary day): it abstains;
* inclusion ``No prior X`` → ``not therapy X``; exclusion ``Prior X`` → ``therapy X``.

Anything else in the item (a qualifier such as "for current lung cancer", a dose,
a route) makes the drafter abstain.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from eligimatch.ctgov.concepts import mentions
from eligimatch.ctgov.extract import normalise, readings
from eligimatch.ctgov.model import Item

__all__ = ["read_history"]

Result = tuple[str | None, str | None, tuple[str, ...]]

_FILL = frozenset("""
a an the and of with who are is be been has have had having received receive receiving treated treatment
therapy therapies use used prior previous previously any patients patient subjects subject participants must
should not no last dose doses administration administered agents agent drugs drug or within days weeks months
years day week month year hours at least since before to first study registration enrollment enrolment
randomization randomisation entry start starting initiation day-1 screening apheresis leukapheresis consent
informed signing date visit protocol investigational product intervention
""".split())


# words that say a course ended, read only with "at least N before/since" (a completed washout)
_SINCE_FILL = frozenset("completed complete discontinued stopped ended elapsed passed".split())


def read_history(item: Item, anchor_of: Callable[[str], str]) -> Result:
    """(expression, reason, missing) for a therapy/procedure item, else (None, None, ())."""
    text = normalise(item.text).rstrip(" .;")
    ms = [m for m in mentions(text) if m.kind in ("drug", "procedure")]
    if not ms:
        return None, None, ()
    if len({(m.kind, m.id) for m in ms}) > 1:
        return None, "several therapies or procedures in one item", ()
    m = ms[0]
    rs = [r for r in readings(text) if r.kind != "sex"]
    if any(r.kind not in ("window",) for r in rs):
        return None, "a therapy with a number the drafter does not read", ()
    if len(rs) > 1:
        return None, "several time windows in one item", ()
    negated = bool(re.match(r"\s*(?:no|not|never|without)\b", text, re.IGNORECASE)) or bool(
        re.search(r"\b(?:must|should)\s+not\b|\bno\s+(?:prior|previous|concurrent)\b", text, re.IGNORECASE))
    if not negated and re.search(r"\b(?:no|not|never|without|neither|nor|cannot)\b|n't\b", text, re.IGNORECASE):
        return None, "a negation the drafter cannot place", ()  # "Patients who have not received X within ..."
    if re.search(r"\b(?:except|other\s+than|unless|excluding|allowed|permitted|concurrent|ongoing|current)\b", text,
                 re.IGNORECASE):
        return None, "a therapy criterion with an exception or a current-use clause", ()
    word = "therapy" if m.kind == "drug" else "procedure"
    half = re.search(r"\b(\d+(?:\.\d+)?)\s+(?:\w+\s+)?half[\s\-]*lives?\b", text, re.IGNORECASE)
    spans = [(m.start, m.end)]
    if rs:
        r = rs[0]
        if r.time_unit not in ("day", "week", "month", "year"):
            return None, "a window the drafter does not place", ()
        unit = r.time_unit + ("s" if float(r.value) != 1 else "")
        dur = f"{float(r.value):.10g} {unit}"
        if half is not None:
            if word != "therapy" or not re.search(r"whichever\s+is\s+(?:longer|greater)|whichever\s+longer", text,
                                                  re.IGNORECASE):
                return None, "half-lives without 'whichever is longer'", ()
            dur = f"max({dur}, {half.group(1)} half-lives)"
            spans.append((half.start(), half.end()))
            spans.append(re.search(r"whichever\s+(?:is\s+)?(?:longer|greater)", text, re.IGNORECASE).span())  # type: ignore[union-attr]
        anchor = anchor_of(text[r.end:])
        window = f"within {dur} before {anchor}"
        spans.append((r.start, r.end))
        if r.since:
            if item.kind != "inclusion" or r.op not in (">=", ">"):
                return None, "'since' in an exclusion", ()
            if negated:
                return None, "a negated 'since'", ()
            if r.op == ">":  # "more than 4 weeks since": the last dose lies before the window [A - W, A]
                expr = f"not {word} {m.id} {window}"
            elif word == "therapy":  # "at least 4 weeks since": the washout has run its full length by A
                expr = f"washout from {m.id} of at least {dur} before {anchor}"
            else:
                return None, ("'at least N since' a procedure: no completed form for procedures ('not procedure "
                              "... within' would refuse the boundary day)"), ()
        elif r.op in ("<=", "<"):
            if item.kind == "exclusion" and not negated:
                expr = f"{word} {m.id} {window}"
            elif item.kind == "inclusion" and negated:
                expr = f"not {word} {m.id} {window}"
            else:
                return None, "a therapy window with a sign the drafter does not expect", ()
        else:
            return None, "a therapy window with an operator the drafter does not read", ()
    else:
        if half is not None:
            return None, "half-lives without a window", ()
        if item.kind == "inclusion" and negated and re.search(r"\b(?:prior|previous|previously|history)\b", text,
                                                              re.IGNORECASE):
            expr = f"not {word} {m.id}"
        elif item.kind == "exclusion" and not negated and re.search(
                r"\b(?:prior|previous|previously|received|history)\b", text, re.IGNORECASE):
            expr = f"{word} {m.id}"
        else:
            return None, "a therapy mention without a form the drafter reads", ()
    rest = text
    for a, b in sorted(spans, reverse=True):
        rest = rest[:a] + " " + rest[b:]
    fill = _FILL | _SINCE_FILL if rs and rs[0].since else _FILL
    left = [w for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", rest) if w.lower() not in fill]
    if left:
        return None, "words the drafter does not read: " + " ".join(left[:6]), ()
    return expr, None, ()
