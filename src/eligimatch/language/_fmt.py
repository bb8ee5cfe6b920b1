"""Canonical formatting of a criteria file (``eligimatch fmt``), keeping its comments.

:func:`eligimatch.language._render.render_trial` writes the canonical text of a trial's
AST, one header item per line, each criterion as ``- ID "sentence":`` with its
expression on the next line; it has no comments to write, since the AST holds
none.  :func:`format_text` puts the file's ``#`` comments back:

* a comment after code on its line stays at the end of the line that now holds
  that code (the criterion's head, its expression, a header item, a section or
  cohort header); when several land on one line, all but the last move to their
  own lines just above it;
* a comment on a line of its own goes on its own line just above the element
  that followed it (a header item, a section header, a criterion, a cohort), or
  above the expression when it stood inside a criterion; comments after the last
  element end the file.

Blank lines and the layout of long expressions are not kept.  The result is
verified before it is returned: it parses to the same tree and holds the same
comments, or :class:`FormatError` is raised and nothing should be written.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

from lark import Lark, Token
from lark.exceptions import VisitError

from eligimatch.language import ast as A
from eligimatch.errors import EligimatchError, FormatError  # noqa: F401  (FormatError: defined in errors.py)
from eligimatch.language._parser import DEFAULT_LIMITS, Limits, grammar_text, parse
from eligimatch.language._render import render_expr, render_trial, string_literal
from eligimatch.language._transform import to_ast

__all__ = ["format_text", "FormatError"]


#: Expressions longer than this many columns are broken at their top `or`/`and` (or `if`/`then`/`else`).
WIDTH = 100

_KEYWORDS = ("TRIAL", "TITLE", "ANCHORS", "LABS", "FACTS", "DISEASE", "DEFINING", "INCLUSION", "EXCLUSION", "COHORT")
_HEADER = {"TRIAL": "id", "TITLE": "title", "ANCHORS": "anchors", "LABS": "labs", "FACTS": "facts",
           "DISEASE": "disease",
           "DEFINING": "defining"}

_lock = threading.Lock()
_scanner: Lark | None = None
_sink: list[Token] = []


def _collect(tok: Token) -> Token:
    _sink.append(tok)
    return tok


def _scan(text: str) -> list[Token]:
    """The comments and the structural keywords of ``text``, as the parser's contextual lexer reads them."""
    global _scanner
    with _lock:
        if _scanner is None:
            _scanner = Lark(grammar_text(), parser="lalr", maybe_placeholders=False,
                            lexer_callbacks={name: _collect for name in ("COMMENT",) + _KEYWORDS})
        _sink.clear()
        try:
            _scanner.parse(text)
            return list(_sink)
        finally:
            _sink.clear()


@dataclass
class _Element:
    start: int  # position in the source
    end: int
    kind: str  # "header" | "section" | "criterion" | "cohort"
    line: int = 0  # source line of its start
    head: int = -1  # output line of its first line
    body: int = -1  # output line of a criterion's expression
    criterion: Any = None


def _at(tok: Token) -> tuple[int, int, int]:
    """(start, end, line) of a token from the lexer, which always positions them."""
    return cast(int, tok.start_pos), cast(int, tok.end_pos), cast(int, tok.line)


def _labels(t: A.TrialAst) -> list[tuple[str, Any]]:
    """What each line of ``render_trial(t)`` holds, in the same order."""
    out: list[tuple[str, Any]] = []
    header = [("header", k) for k, present in (("id", t.id is not None), ("title", t.title is not None),
                                                ("anchors", bool(t.anchors)), ("labs", t.lab_recency is not None),
                                                ("facts", t.fact_recency is not None),
                                                ("disease", bool(t.diseases)), ("defining", bool(t.defining)))
              if present]
    out.extend(header)
    if header:
        out.append(("blank", None))

    def sections(criteria: tuple[A.Criterion, ...]) -> None:
        kind = None
        for c in criteria:
            if c.kind != kind:
                kind = c.kind
                out.append(("section", c))
            out.append(("head", c))
            out.append(("body", c))

    sections(t.criteria)
    for co in t.cohorts:
        out.append(("blank", None))
        out.append(("cohort", co))
        sections(co.criteria)
    return out


def _tree(text: str, filename: str, limits: Limits) -> A.TrialAst:
    try:
        return to_ast(parse(text, filename=filename, limits=limits), text, filename)
    except VisitError as exc:  # lark wraps what the transformer raises
        if isinstance(exc.orig_exc, EligimatchError):
            raise exc.orig_exc from None
        raise


_CONTINUATION = "    "  # the extra indent of a continued line


def _wrap(expr: Any, indent: str, width: int) -> list[str]:
    """The expression on one line, or, when that is too long, broken where its structure allows: one operand
    of a top `or`/`and` per line (`or ...`), `if`/`then`/`else` on their own lines, the items of `any of`,
    `all of`, `at least N of` one per line; each part broken again as it needs, and a predicate too long for
    a line filled word by word (never inside a string or a bracketed unit)."""
    one = render_expr(expr)
    if len(indent) + len(one) <= width:
        return [indent + one]
    if isinstance(expr, (A.Or, A.And)) and expr.style in ("or", "and"):
        prec = 1 if isinstance(expr, A.Or) else 2  # as render_expr binds them
        out: list[str] = []
        for k, item in enumerate(expr.items):
            keyword = "" if k == 0 else expr.style + " "
            inside = 2 if prec == 2 or (isinstance(item, A.And) and item.style == "and") else prec
            paren = render_expr(item, inside).startswith("(") and not render_expr(item).startswith("(")
            out.extend(_operand(item, indent, keyword, paren, width))
        return out
    if isinstance(expr, A.IfThenElse):
        return (_operand(expr.cond, indent, "if ", isinstance(expr.cond, A.IfThenElse), width)
                + _operand(expr.then, indent, "then ", isinstance(expr.then, A.IfThenElse), width)
                + _operand(expr.otherwise, indent, "else ", False, width))
    if isinstance(expr, A.Not):
        inner = render_expr(expr, -1)[len("not "):]
        return _operand(expr.item, indent, "not ", inner.startswith("("), width)
    if isinstance(expr, (A.Or, A.And, A.AtLeast)):  # any of / all of / at least N of
        head = (f"at least {expr.n} of (" if isinstance(expr, A.AtLeast)
                else "any of (" if isinstance(expr, A.Or) else "all of (")
        out = [indent + head]
        for k, item in enumerate(expr.items):
            lines = _wrap(item, indent + _CONTINUATION, width)
            if k < len(expr.items) - 1:
                lines[-1] += ","
            out.extend(lines)
        out[-1] += ")"
        return out
    return _fill(one, indent, width)


def _operand(item: Any, indent: str, keyword: str, paren: bool, width: int) -> list[str]:
    """``keyword`` + the operand, in brackets when ``paren``; broken over lines (aligned inside its keyword and
    bracket) when it does not fit."""
    text = render_expr(item)
    if paren:
        text = f"({text})"
    if len(indent) + len(keyword) + len(text) <= width:
        return [indent + keyword + text]
    inner = indent + " " * (len(keyword) + (1 if paren else 0))
    lines = _wrap(item, inner, width)
    lines[0] = indent + keyword + ("(" if paren else "") + lines[0][len(inner):]
    if paren:
        lines[-1] += ")"
    return lines


def _words(text: str) -> list[str]:
    """``text`` cut at its spaces, but never inside a "string" or a [bracketed unit]."""
    words: list[str] = []
    cur: list[str] = []
    quote = bracket = False
    k = 0
    while k < len(text):
        ch = text[k]
        if quote:
            cur.append(ch)
            if ch == "\\" and k + 1 < len(text):
                cur.append(text[k + 1])
                k += 1
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
            cur.append(ch)
        elif ch == "[":
            bracket = True
            cur.append(ch)
        elif ch == "]":
            bracket = False
            cur.append(ch)
        elif ch == " " and not bracket:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        k += 1
    if cur:
        words.append("".join(cur))
    return words


def _fill(text: str, indent: str, width: int) -> list[str]:
    """A predicate too long for one line, filled word by word; continued lines indented once more."""
    lines: list[str] = []
    cur = indent
    for word in _words(text):
        if cur.strip() and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = indent + _CONTINUATION + word
        else:
            cur = cur + (" " if cur.strip() else "") + word
    lines.append(cur)
    return lines


def _wrap_strings(prefix: str, value: str, suffix: str, indent: str, width: int) -> list[str]:
    """``prefix "value"suffix``, the value split into adjacent strings (one sentence) on as many lines as it
    needs: each piece ends with its space, so that the pieces joined are the value."""
    one = prefix + string_literal(value) + suffix
    if len(one) <= width:
        return [one]
    pieces: list[str] = []
    cur = ""
    # room for the piece's text, its quotes, its trailing space and the suffix
    room_first = width - len(prefix) - 3 - len(suffix)
    room = width - len(indent) - 3 - len(suffix)
    for word in value.split(" "):
        token = word if not cur else " " + word
        limit = room_first if not pieces else room
        if cur and len(string_literal(cur + token)) - 2 > limit:
            pieces.append(cur + " ")
            cur = word
        else:
            cur += token
    pieces.append(cur)
    lines = [prefix + string_literal(pieces[0])]
    lines.extend(indent + string_literal(p) for p in pieces[1:])
    lines[-1] += suffix
    return lines


def format_text(text: str, *, filename: str = "<criteria>", limits: Limits = DEFAULT_LIMITS,
                width: int = WIDTH) -> str:
    """The canonical text of a criteria file, with its comments kept.

    Raises :class:`~eligimatch.errors.CriteriaError` when the text does not
    parse, :class:`FormatError` when the comments could not be kept.
    """
    trial = _tree(text, filename, limits)
    if not trial.criteria and not any(co.criteria for co in trial.cohorts):  # issue 18 D13: say so, located
        from eligimatch.errors import CriteriaCheckError, Problem

        empty = not text.strip()
        raise CriteriaCheckError(Problem("the file is empty: nothing to format, and a trial with no criteria would "
                                         "match every patient" if empty else
                                         "the trial has no criteria: nothing to format, and it would match every "
                                         "patient", 1, 1, "" if empty else text.split("\n", 1)[0],
                                         "add an `inclusion:` or `exclusion:` section with at least one criterion",
                                         filename))
    canonical = render_trial(trial)
    tokens = _scan(text)
    comments = [tok for tok in tokens if tok.type == "COMMENT"]
    out_lines = canonical.splitlines()
    labels = _labels(trial)
    if len(labels) != len(out_lines):
        raise FormatError(f"{filename}: cannot place the comments in the formatted text; the file is left as it is")

    # where each element of the source went in the output
    section_line: dict[int, int] = {}  # id(criterion) -> output line of the section header it opens
    elements: list[_Element] = []
    by_header: dict[str, int] = {}
    for i, (kind, obj) in enumerate(labels):
        if kind == "header":
            by_header[obj] = i
        elif kind == "section":
            section_line[id(obj)] = i
        elif kind == "head":
            elements.append(_Element(obj.span.start_pos, obj.span.end_pos, "criterion", obj.span.line, i, i + 1, obj))
        elif kind == "cohort":
            elements.append(_Element(obj.span.start_pos, obj.span.start_pos + 1, "cohort", obj.span.line, i))
    for tok in tokens:
        if tok.type in _HEADER and _HEADER[tok.type] in by_header:
            start, end, line = _at(tok)
            elements.append(_Element(start, end, "header", line, by_header[_HEADER[tok.type]]))
            del by_header[_HEADER[tok.type]]  # the first, should a header item repeat
        elif tok.type in ("INCLUSION", "EXCLUSION"):
            start, end, line = _at(tok)
            elements.append(_Element(start, end, "section", line))
    elements.sort(key=lambda e: e.start)
    # a section header leads to the criterion after it; an empty section is not an element
    kept: list[_Element] = []
    for k, e in enumerate(elements):
        if e.kind == "section":
            nxt = elements[k + 1] if k + 1 < len(elements) else None
            if nxt is None or nxt.kind != "criterion":
                continue
            e.head = section_line.get(id(nxt.criterion), nxt.head)
        kept.append(e)
    elements = kept
    source_line_of = {e.head: e.line for e in elements}

    # where each comment goes: (text, its source line)
    leading: dict[int, list[tuple[str, int]]] = {}
    trailing: dict[int, list[tuple[str, int]]] = {}
    tail: list[tuple[str, int]] = []
    line_starts = [0]
    for k, ch in enumerate(text):
        if ch == "\n":
            line_starts.append(k + 1)
    for tok in comments:
        pos, _, line = _at(tok)
        item = (str(tok).rstrip(), line)
        before = text[line_starts[line - 1]:pos]
        if before.strip():  # code before it on its line: the last element that started before it
            owner = next((e for e in reversed(elements) if e.start < pos), None)
            if owner is None:  # pragma: no cover - code always belongs to an element
                tail.append(item)
                continue
            # a criterion's head keeps what followed its head; what followed its expression stays with that
            after_head = owner.kind == "criterion" and (line != owner.line or pos >= owner.end)
            target = owner.body if after_head else owner.head
            trailing.setdefault(target, []).append(item)
            continue
        inside = next((e for e in elements if e.kind == "criterion" and e.start < pos < e.end), None)
        if inside is not None:
            leading.setdefault(inside.body, []).append(item)
            continue
        nxt = next((e for e in elements if e.start > pos), None)
        if nxt is None:
            tail.append(item)
        else:
            leading.setdefault(nxt.head, []).append(item)

    src_lines = text.splitlines()
    result: list[str] = []

    def blank() -> None:
        if result and result[-1] != "":
            result.append("")

    def blank_before(line: int) -> bool:  # a blank line above it in the source is kept
        return 1 < line <= len(src_lines) + 1 and not src_lines[line - 2].strip()

    for i, text_line in enumerate(out_lines):
        if labels[i][0] == "blank":
            blank()
            continue
        indent = text_line[:len(text_line) - len(text_line.lstrip())]
        lead = list(leading.get(i, ()))
        trail = trailing.get(i, [])
        if len(trail) > 1:
            lead.extend(trail[:-1])
            trail = trail[-1:]
        for comment, at in lead:
            if blank_before(at) and labels[i][0] != "body":
                blank()
            result.append(indent + comment)
        if i in source_line_of and blank_before(source_line_of[i]):
            blank()
        if labels[i][0] == "body":
            body = _wrap(labels[i][1].expr, indent, width)
        elif labels[i][0] == "head" and labels[i][1].text is not None and len(text_line) > width:
            c = labels[i][1]
            body = _wrap_strings(f"{indent}- {c.id} ", c.text, " draft:" if c.drafted else ":", indent + "    ",
                                 width)
        elif labels[i] == ("header", "title") and len(text_line) > width:
            body = _wrap_strings("title ", trial.title or "", "", "      ", width)
        elif labels[i][0] == "header" and len(text_line) > width:
            body = _fill(text_line, "", width)
        else:
            body = [text_line]
        if trail:
            body[-1] += "  " + trail[0][0]
        result.extend(body)
    for comment, at in tail:
        if blank_before(at):
            blank()
        result.append(comment)
    formatted = "\n".join(result) + "\n"

    # verify: the same tree, the same comments
    try:
        again = _tree(formatted, filename, limits)
    except EligimatchError:
        again = None
    kept_comments = Counter(str(t).rstrip() for t in _scan(formatted) if t.type == "COMMENT") if again else None
    if again != trial or kept_comments != Counter(str(t).rstrip() for t in comments):
        raise FormatError(f"{filename}: formatting would lose or change something; the file is left as it is")
    return formatted
