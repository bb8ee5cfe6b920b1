"""Split a registry's free-text eligibility criteria into numbered, nested items.

The registry text comes in three layouts: indented bullets and numbers wrapped at
~90 columns (legacy XML), Markdown bullets (API v2), and bare lines with the
bullets removed (the classic JSON API).  One reader handles all three:

* ``Inclusion Criteria:`` / ``Exclusion Criteria:`` lines (also ``Key …``, upper
  case, with or without a colon or a bullet; ``Non-inclusion criteria:`` is an exclusion
  heading) switch the section; text before any
  such line counts as inclusion (the NCI "PDQ" layout: ``DISEASE CHARACTERISTICS:``,
  ``No prior chemotherapy``, ... lists requirements);
* short lines ending in ``:`` without a marker (``Hematopoietic:``) are sub-headings,
  kept on the items below them; ``Cohort 1:``/``Part A:`` lines are cohort headings;
* a line starting with a marker (``-``, ``*``, ``•``, ``1.``, ``2)``, ``a.``, ``(iv)``,
  ``SI01:``) starts an item; its indentation decides its nesting;
* in hard-wrapped text (legacy XML, blank lines between items) a line right below an
  item's line continues it; elsewhere a line without a marker continues the item above
  only when it starts in lower case; otherwise it is an item of its own (a bare line);
* ``10. … 11. …`` run together in one paragraph are split where the next number
  follows;
* where the layout lost the indentation (web pages saved as text, Markdown), a list
  that starts again at ``1.`` (or ``a)``, ``i)``, a bullet) right below a numbered item
  ending in ``:`` is that item's sub-list, until the item's own list goes on (``5.``
  after ``4.``'s sub-items ``1.``-``3.``);
* Markdown (API v2, pages carrying the registry's Markdown): escapes (``\\<``,
  ``\\[``) are dropped, and a short title-like line whose number is escaped
  (``1\\. Systemic Sclerosis (SSc)``: deliberately not a list item) is a cohort
  heading, like ``Cohort 1:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from eligimatch.ctgov.model import Item, Kind

__all__ = ["split_items"]

_ROMAN = r"(?:i|ii|iii|iv|v|vi|vii|viii|ix|x|xi|xii)"
_MARKER = re.compile(
    r"^(?:"
    r"[-*•·●○▪◦‣∙]\s+"                                   # bullets
    r"|\(?\d{1,3}[.)](?:\s+|(?=[A-Za-z(\"']))"           # 1.  2)  (3)
    r"|\(?\d{1,3}\.\d{1,3}[.)]?\s+"                      # 2.1
    r"|\(?" + _ROMAN + r"[.)]\s+"                         # iv.  (ii)
    r"|\(?[a-zA-Z][.)]\s+"                               # a.  b)  (c)
    r"|[A-Z]{1,4}\d{1,3}[:.]\s+"                         # SI01:  E5.
    r")"
)
_SECTION = re.compile(
    r"^(?:key\s+|main\s+|general\s+|specific\s+|additional\s+|other\s+|\w+\s+)?"
    r"(non[\s\-]?inclusion|inclusion|exclusion|eligibility|ineligibility)\b[^:]{0,60}:?\s*$", re.IGNORECASE)
_NON_INCLUSION = re.compile(r"^(?:\w+\s+)?non[\s\-]?inclusion\b", re.IGNORECASE)
_COHORT = re.compile(r"^(?:cohort|part|arm|group|stratum|sub-?study)\s+[\w\-]{1,12}\b[^:]{0,60}:?\s*$",
                     re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.;]\s*$")


_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>=~|^])")
_MD_NUMBERED_TITLE = re.compile(r"^\s*\d{1,3}\\\.\s+(?P<t>[^\n]{1,100}?)\s*$")


def _marker_value(label: str) -> tuple[str, int] | None:
    """The list style and position of a marker: ("num", 3) for ``3.``, ("alpha", 2) for ``b)``,
    ("roman", 4) for ``iv.``, ("bullet", 0) for ``-``; None for others (``SI01:``, ``2.1``)."""
    lab = label.strip().strip("()").rstrip(".)")
    if label.strip() in ("-", "*", "•", "·", "●", "○", "▪", "◦", "‣", "∙"):
        return "bullet", 0
    if re.fullmatch(r"\d{1,3}", lab):
        return "num", int(lab)
    if re.fullmatch(_ROMAN, lab) and lab not in ("v", "x"):
        return "roman", ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"].index(lab) + 1
    if re.fullmatch(r"[a-zA-Z]", lab):
        return "alpha", ord(lab.lower()) - ord("a") + 1
    return None


@dataclass
class _Building:
    kind: Kind
    label: str | None
    indent: float
    heading: str | None
    cohort: str | None
    parent: _Building | None
    parts: list[str] = field(default_factory=list)


def _section_kind(body: str) -> Kind | None:
    m = _SECTION.match(body)
    if not m or len(body) > 80:
        return None
    word = m.group(1).lower()
    # "Non-inclusion criteria" (French protocols: critères de non-inclusion) are the exclusion criteria
    if word in ("exclusion", "ineligibility") or _NON_INCLUSION.match(body):
        return "exclusion"
    if "exclu" in body.lower():
        return None  # "Inclusion and exclusion criteria:": not a switch
    return "inclusion"


def _is_subheading(body: str) -> bool:
    return body.endswith(":") and len(body) <= 50 and not re.search(r"[.;,]", body[:-1])


def split_items(text: str, *, wrapped: bool = False,
                markdown: bool = False) -> tuple[tuple[Item, ...], tuple[str, ...]]:
    """Items and cohort names of a criteria text (see the module docstring).

    ``wrapped``: the text is hard-wrapped with blank lines between items (the legacy
    XML layout), so a line right below an item's line always continues it.
    ``markdown``: the text is the registry's Markdown (escapes to drop, escaped numbers).
    """
    kind: Kind = "inclusion"
    heading: str | None = None
    cohort: str | None = None
    cohorts: list[str] = []
    stack: list[_Building] = []
    out: list[_Building] = []
    current: _Building | None = None
    blank_before = True
    pending: str | None = None
    # sub-lists the layout flattened: (the item they hang on, its list style and position)
    sublists: list[tuple[_Building, tuple[str, int] | None]] = []
    # a cohort heading right above a section heading encloses its sections ("Cohort 1:" / "Inclusion
    # Criteria:" ...); one with items below it is a part of the section it is in, which the next
    # section heading ends (general inclusion items, then per-disease groups, then "Exclusion Criteria")
    cohort_items = 0
    cohort_encloses = False

    def start(label: str | None, indent: float, first: str) -> _Building:
        while stack and stack[-1].indent >= indent:
            stack.pop()
        nonlocal cohort_items
        cohort_items += 1
        item = _Building(kind, label, indent, heading, cohort, stack[-1] if stack else None, [first])
        stack.append(item)
        out.append(item)
        return item

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.expandtabs(4).rstrip()
        if not line.strip():
            blank_before = True
            continue
        if markdown:
            title = _MD_NUMBERED_TITLE.match(line)
            if title and not re.search(r"[.;:,]$", title.group("t")) and stack:
                cohort, cohort_items, cohort_encloses = _MD_ESCAPE.sub(r"\1", title.group("t")).strip(), 0, False
                if cohort not in cohorts:
                    cohorts.append(cohort)
                heading, current, blank_before = None, None, False
                stack.clear()
                sublists.clear()
                continue
            line = _MD_ESCAPE.sub(r"\1", line)
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if wrapped and current is not None and not blank_before:
            current.parts.append(stripped)
            continue
        if stripped in ("-", "*", "•"):  # a bullet alone on its line: the item's text is on the next
            pending, current, blank_before = stripped, None, False
            continue
        m = _MARKER.match(stripped)
        body = stripped[m.end():].strip() if m else stripped
        if m is None and pending is not None:
            m = re.match("", "")  # the pending bullet marks this line
            label_override: str | None = pending
        else:
            label_override = None
        pending = None
        section = _section_kind(body)
        if section is not None and (m is None or m.group(0).strip() in "-*•"):
            if cohort is not None and cohort_items == 0:
                cohort_encloses = True
            elif cohort is not None and not cohort_encloses:
                cohort = None
            kind, heading, current, blank_before = section, None, None, False
            stack.clear()
            sublists.clear()
            continue
        if m is None and _COHORT.match(body) and len(body) <= 70:
            cohort, cohort_items, cohort_encloses = body.rstrip(":").strip(), 0, False
            if cohort not in cohorts:
                cohorts.append(cohort)
            heading, current, blank_before = None, None, False
            stack.clear()
            sublists.clear()
            continue
        if m is None and _is_subheading(body):
            heading, current, blank_before = body.rstrip(":").strip(), None, False
            stack.clear()
            sublists.clear()
            continue
        if m is not None and body:
            marker = label_override or m.group(0).strip()
            effective: float = indent
            value = _marker_value(marker)
            # the item's own list goes on ("5." after the sub-items of "4."): close the sub-lists down to it
            last = stack[-1] if stack else None
            last_val = _marker_value(last.label) if last is not None and last.label else None
            continues = (last_val is not None and value is not None and sublists and last is not None
                         and last.indent == indent + 0.5 * len(sublists) and last_val[0] == value[0]
                         and value[1] == last_val[1] + 1)  # "2." after "1." inside the sub-list: it goes on
            for depth in range(len(sublists) - 1, -1, -1):
                if continues:
                    break
                owner, owner_val = sublists[depth]
                if (value is not None and owner_val is not None and value[0] == owner_val[0] != "bullet"
                        and value[1] == owner_val[1] + 1 and owner.indent == indent):
                    del sublists[depth:]
                    break
            above = stack[-1] if stack else None
            if (value is not None and above is not None and above.indent == indent + 0.5 * len(sublists)
                    and above.label is not None and " ".join(above.parts).rstrip().endswith(":")
                    and (value[1] == 1 or value[0] == "bullet")):
                sublists.append((above, _marker_value(above.label)))  # a list starting again below "…:"
            effective = indent + 0.5 * len(sublists) if sublists and sublists[0][0].indent == indent else indent
            current = start(marker, effective, body)
        elif current is not None and not blank_before and body[:1].islower():
            current.parts.append(body)
        else:
            current = start(None, indent, body)
        blank_before = False

    pieces: list[tuple[_Building, str | None, str]] = []
    for b in out:
        pieces.extend((b, label, text) for label, text in _split_runs(b))
    # number the pieces: top-level items per section, sub-items under their parent
    numbers: dict[int, str] = {}
    children: dict[int, int] = {}
    top_count: dict[str, int] = {"inclusion": 0, "exclusion": 0}
    items: list[Item] = []
    for b, piece_label, piece in pieces:
        parent_number: str | None
        if b.parent is None:
            top_count[b.kind] += 1
            number = str(top_count[b.kind])
            parent_number = None
        else:
            parent_number = numbers[id(b.parent)]
            children[id(b.parent)] = children.get(id(b.parent), 0) + 1
            number = f"{parent_number}.{children[id(b.parent)]}"
        numbers[id(b)] = number  # a run-on piece's children (none) would follow the last piece
        level = 0 if parent_number is None else parent_number.count(".") + 1
        items.append(Item(kind=b.kind, number=number, label=piece_label, level=level, parent=parent_number, text=piece,
                          heading=b.heading, cohort=b.cohort))
    return tuple(items), tuple(cohorts)


def _split_runs(b: _Building) -> list[tuple[str | None, str]]:
    """One piece, or several when ``10. … 11. …`` were run together in one paragraph."""
    text = re.sub(r"\s+", " ", " ".join(p.strip() for p in b.parts)).strip()
    n_label = re.match(r"\(?(\d{1,3})[.)]$", b.label or "")
    pieces: list[tuple[str | None, str]] = []
    if not n_label:
        # an unnumbered paragraph running into numbered items ("… for hormones; 7. Positive for …; 8. During …"):
        # split where two consecutive numbers follow a sentence end
        first = next((m for m in re.finditer(r"(?<=[.;?]\s)(\d{1,3})\.\s+(?=[A-Z])", text)
                      if re.search(rf"(?<=[.;?:]\s){int(m.group(1)) + 1}\.\s+(?=[A-Z])", text[m.end():])), None)
        if b.label is not None or first is None:
            return [(b.label, text)]
        pieces.append((None, text[:first.start()].strip()))
        n_label, text = first, text[first.end():]
    n = int(n_label.group(1))
    label: str | None = f"{n}." if not b.label else b.label
    rest = text
    while True:
        nxt = re.search(rf"(?<=[\s.;?]){n + 1}\.\s+(?=[A-Z])", rest)
        if not nxt:
            break
        pieces.append((label, rest[:nxt.start()].strip()))
        label, rest, n = f"{n + 1}.", rest[nxt.end():], n + 1
    pieces.append((label, rest.strip()))
    return pieces
