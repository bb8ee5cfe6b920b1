"""Parse criteria text with the shipped Lark grammar; turn Lark's errors into ours.

The LALR parser is built once per process, on first use, and shared (Lark
parsers are safe to share between threads once built).  Limits on size,
nesting and criterion count are checked before and after parsing so that
hostile input fails fast with :class:`~eligimatch.errors.CriteriaLimitError`.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from eligimatch.errors import CriteriaLimitError, CriteriaSyntaxError, Problem
from eligimatch._limits import DEFAULT_LIMITS, Limits  # defined apart so that `import eligimatch` need not import lark

__all__ = ["Limits", "parse", "grammar_text", "grammar_path", "get_parser"]

GRAMMAR_NAME = "criteria.lark"



_lock = threading.Lock()
_parser: Lark | None = None


def _grammar_path() -> Path | None:
    # Installed wheel: the grammar is packaged as eligimatch/grammar/criteria.lark.
    try:
        packaged = resources.files("eligimatch").joinpath("grammar", GRAMMAR_NAME)
        if packaged.is_file():
            return Path(str(packaged))
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - defensive
        pass
    # Editable install / source checkout: <repo>/grammar/criteria.lark.
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "grammar" / GRAMMAR_NAME
        if candidate.is_file():
            return candidate
    return None


def grammar_path() -> Path | None:
    """Where the criteria grammar of this installation is (``None`` if the installation is broken)."""
    return _grammar_path()


def grammar_text() -> str:
    """The text of the criteria grammar shipped with this installation."""
    path = _grammar_path()
    if path is None:  # pragma: no cover - a broken installation
        raise RuntimeError("eligimatch's grammar file criteria.lark is missing from this installation")
    return path.read_text(encoding="utf-8")


def get_parser() -> Lark:
    """The process-wide LALR parser (built on first call)."""
    global _parser
    if _parser is None:
        with _lock:
            if _parser is None:
                _parser = Lark(
                    grammar_text(),
                    parser="lalr",
                    strict=True,
                    propagate_positions=True,
                    maybe_placeholders=False,
                )
    return _parser


# ---- friendly errors --------------------------------------------------------------

_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a quoted text ("...")',
    "COMP_OP": "a comparison (<, <=, >, >=, =, !=)",
    "UNIT_BARE": "a unit (e.g. x10^9/L)",
    "UNIT_BRACKET": "a unit in brackets (e.g. [mL/min/1.73 m2])",
    "TIME_UNIT": "a time unit (days, weeks, months, years)",
    "WORD_UNIT": "a unit (kg, mg, g, cm, mmHg, points)",
    "REF_LIMIT": "ULN or LLN",
    "BOUNDS": "inclusive or exclusive",
    "HALF_LIVES": "half-lives",
    "$END": "the end of the file",
}


def _describe_terminal(parser: Lark, name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        term = parser.get_terminal(name)
    except KeyError:
        return name.lower()
    if isinstance(term.pattern, PatternStr):
        return f"'{term.pattern.value}'"
    return name.lower()


def _keywords(parser: Lark, names: set[str]) -> list[str]:
    words = []
    for name in names:
        try:
            term = parser.get_terminal(name)
        except KeyError:
            continue
        if isinstance(term.pattern, PatternStr) and term.pattern.value.isalpha():
            words.append(term.pattern.value)
    return words


def _close_keywords(word: str, keywords: list[str] | tuple[str, ...], cutoff: float) -> list[str]:
    """The keywords close to ``word``, closest first: difflib's, and one with two neighbouring letters swapped
    (``adn`` for ``and``, which difflib scores below any useful cutoff)."""
    swapped = [k for k in keywords if len(k) == len(word) and k != word and _one_swap(word, k)]
    close = difflib.get_close_matches(word, keywords, n=3, cutoff=cutoff)
    return list(dict.fromkeys(swapped + close))


def _one_swap(a: str, b: str) -> bool:
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


@functools.lru_cache(maxsize=1)
def _all_keywords() -> tuple[str, ...]:
    parser = get_parser()
    return tuple(sorted(set(_keywords(parser, {t.name for t in parser.terminals}))))


def _misspelt_keyword_before(text: str, tok: Token) -> tuple[str, int, str] | None:
    """When ``tok`` is unexpected right after a word that is not a keyword but is close to one (``histroy of
    diabetes``: ``histroy`` is read as a fact's name, and ``of`` cannot follow a name), the word, its
    offset and the keyword — if the text with that keyword instead parses past ``tok``.  Only on the error
    path, on a text within the limits: at most three more parses."""
    start = tok.start_pos
    if start is None:
        return None
    # the word that ends where tok starts (spaces or tabs between), scanned backwards: linear in the word
    # (a regular expression searched up to ``start`` tries every position before it: quadratic on a long word)
    end = start
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    begin = end
    while begin > 0 and text[begin - 1] in _WORD_CHARS:
        begin -= 1
    word = text[begin:end]
    if not word or not (word[0].isalpha() or word[0] == "_"):
        return None
    keywords = _all_keywords()
    if word in keywords:
        return None
    for keyword in _close_keywords(word, keywords, 0.75)[:3]:
        fixed = text[:begin] + keyword + text[end:]
        past = start + len(keyword) - len(word) + len(str(tok.value))  # the end of tok in the fixed text
        try:
            get_parser().parse(fixed)
        except UnexpectedInput as exc:
            where = getattr(exc, "pos_in_stream", None)
            if isinstance(exc, UnexpectedEOF) or where is None or where < 0:
                where = len(fixed)
            if where < past:
                continue
        return word, begin, keyword
    return None


def _line_of(text: str, line: int) -> str:
    # Lines as the lexer counts them: only "\n" ends a line (not \u2028, \x0c, \x85... as splitlines has it).
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


def _end_of(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character: where an unexpected end is shown."""
    lines = text.rstrip(" \t\r\n").split("\n")
    return len(lines), len(lines[-1]) + 1


def _syntax_problem(text: str, exc: UnexpectedInput, filename: str) -> Problem:
    parser = get_parser()
    line = getattr(exc, "line", 0) or 0
    column = getattr(exc, "column", 0) or 0
    hint = ""
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos] if pos is not None and 0 <= pos < len(text) else "?"
        message = f"unexpected character {ch!r}"
        allowed = sorted({_describe_terminal(parser, n) for n in (exc.allowed or ())})
        if allowed:
            message += "; expected " + _join(allowed)
    elif isinstance(exc, UnexpectedEOF):
        line, column = _end_of(text)
        expected = sorted({_describe_terminal(parser, n) for n in exc.expected})
        message = "unexpected end of text; expected " + _join(expected)
    elif isinstance(exc, UnexpectedToken):
        tok: Token = exc.token
        expected_names = set(exc.expected)
        expected = sorted({_describe_terminal(parser, n) for n in expected_names})
        if tok.type == "$END":
            line, column = _end_of(text)
            message = "unexpected end of text; expected " + _join(expected)
        else:
            message = f"unexpected {tok.value!r}; expected " + _join(expected)
            if tok.type == "NAME" or str(tok.value).isalpha():
                close = _close_keywords(str(tok.value), _keywords(parser, expected_names), 0.7)
                if close:
                    hint = f"did you mean '{close[0]}'?"
            if not hint:
                misspelt = _misspelt_keyword_before(text, tok)
                if misspelt is not None:  # "histroy of ...": the typo is the word before, read as a name
                    word, pos, keyword = misspelt
                    line = text.count("\n", 0, pos) + 1
                    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
                    message = f"unexpected {tok.value!r} after {word!r}"
                    hint = f"did you mean '{keyword}'?"
    else:  # pragma: no cover - lark has no other subclasses today
        message = str(exc).splitlines()[0]
    return Problem(message=message, line=line, column=column, source_line=_line_of(text, line),
                   hint=hint, filename=filename)


def _join(items: list[str], limit: int = 8) -> str:
    if len(items) > limit:
        items = items[:limit] + [f"... ({len(items) - limit} more)"]
    return ", ".join(items) if items else "nothing more"


# ---- limits -------------------------------------------------------------------------

_PAREN_SCAN = re.compile(r'[()"#\n]')


def _paren_depth_problem(text: str, limits: Limits, filename: str) -> Problem | None:
    """A cheap scan for runaway parenthesis nesting, before the parser builds a deep tree.

    Only the characters that matter (parentheses, quotes, comment marks, line
    ends) are visited; a text with no more ``(`` than the limit cannot exceed it.
    """
    if text.count("(") <= limits.max_depth:
        return None
    depth = 0
    line, line_start = 1, 0
    in_string = in_comment = False
    for m in _PAREN_SCAN.finditer(text):
        ch = m.group()
        if ch == "\n":
            line, line_start = line + 1, m.end()
            in_comment = in_string = False
        elif in_comment:
            continue
        elif in_string:
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            in_comment = True
        elif ch == "(":
            depth += 1
            if depth > limits.max_depth:
                return Problem(f"expressions are nested more than {limits.max_depth} deep", line,
                               m.start() - line_start + 1, _line_of(text, line),
                               "simplify the expression or raise Limits.max_depth", filename)
        else:  # ")"
            depth = max(depth - 1, 0)
    return None


def _tree_depth_problem(tree: Tree, text: str, limits: Limits, filename: str) -> Problem | None:
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_depth * 2 + 8:  # rules per nesting level are bounded; be generous
            meta = node.meta
            line = getattr(meta, "line", 1)
            col = getattr(meta, "column", 1)
            return Problem(f"expressions are nested more than {limits.max_depth} deep", line, col,
                           _line_of(text, line), "simplify the expression or raise Limits.max_depth", filename)
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))
    return None


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _limit_at(tok: Token, text: str, message: str, hint: str, filename: str) -> CriteriaLimitError:
    line = tok.line or 1
    return CriteriaLimitError(Problem(message, line, tok.column or 1, _line_of(text, line), hint, filename))


def _parse_checked(text: str, filename: str, limits: Limits = DEFAULT_LIMITS) -> Tree:
    """Parse token by token, and refuse a keyword glued to more letters.

    The contextual lexer would otherwise read ``andd`` as ``and`` + ``d`` and
    ``ortho`` as ``or`` + ``tho``: a typo must be an error, never a silent
    change of meaning.  The limits that tokens show are checked on the way, so
    that hostile input fails where it starts: an over-long number, one
    criterion too many (each criterion starts with ``-``), a run of ``not``s
    deeper than the nesting limit.
    """
    ip = get_parser().parse_interactive(text)
    last = None
    criteria = nots = 0
    for tok in ip.iter_parse():
        last = tok
        value = str(tok)
        end = tok.end_pos
        kind = tok.type
        if kind == "NOT":
            nots += 1
            if nots > limits.max_depth:
                raise _limit_at(tok, text, f"expressions are nested more than {limits.max_depth} deep",
                                "simplify the expression or raise Limits.max_depth", filename)
        else:
            nots = 0
            if kind == "MINUS":
                criteria += 1
                if criteria > limits.max_criteria:
                    raise _limit_at(tok, text, f"the file has more than {limits.max_criteria} criteria",
                                    "split the file or raise Limits.max_criteria", filename)
            elif kind == "NUMBER" and len(value) > limits.max_number_length:
                raise _limit_at(tok, text, f"a number of {len(value)} characters; a number may have at most "
                                           f"{limits.max_number_length}", "raise Limits.max_number_length", filename)
        if (value and value[-1] in _WORD_CHARS and end is not None and end < len(text)
                and text[end] in _WORD_CHARS and tok.type not in ("NUMBER", "STRING")):
            word_end = end
            while word_end < len(text) and text[word_end] in _WORD_CHARS:
                word_end += 1
            word = text[tok.start_pos:word_end]
            close = difflib.get_close_matches(value, [word], n=1)
            line = tok.line or 1
            raise CriteriaSyntaxError(Problem(
                f"unexpected {word!r}", line, tok.column or 1, _line_of(text, line),
                f"did you mean '{value}'?" if close else "", filename))
    return ip.feed_eof(last)


def parse(text: str, *, filename: str = "<criteria>", limits: Limits = DEFAULT_LIMITS) -> Tree:
    """Parse ``text`` into a Lark tree, or raise a located :class:`CriteriaSyntaxError`."""
    if not isinstance(text, str):
        raise TypeError(f"criteria text must be str, not {type(text).__name__}")
    if len(text) > limits.max_chars:
        raise CriteriaLimitError(Problem(
            f"the criteria text has {len(text)} characters, more than the limit of {limits.max_chars}",
            1, 1, "", "split the file or raise Limits.max_chars", filename))
    if "\x00" in text:
        pos = text.index("\x00")
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise CriteriaSyntaxError(Problem("unexpected NUL character", line, col, _line_of(text, line), "", filename))
    problem = _paren_depth_problem(text, limits, filename)
    if problem:
        raise CriteriaLimitError(problem)
    try:
        tree = _parse_checked(text, filename, limits)
    except UnexpectedInput as exc:
        raise CriteriaSyntaxError(_syntax_problem(text, exc, filename)) from None
    problem = _tree_depth_problem(tree, text, limits, filename)
    if problem:
        raise CriteriaLimitError(problem)
    return tree
