"""Turn the Lark parse tree into the typed AST of :mod:`eligimatch.language.ast`.

One method per grammar rule or alias; each docstring quotes the rule it handles.
Structural mistakes the grammar cannot see (two inclusion sections, a duplicate
criterion id, ``at least 0 of``) are reported here with their position.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import VisitError

from eligimatch.language import ast as A
from eligimatch.errors import CriteriaSyntaxError, Problem

__all__ = ["to_ast"]

_OPS = {"≤": "<=", "≥": ">=", "≠": "!=", "==": "="}
_TIME_UNITS = {"days": "day", "weeks": "week", "months": "month", "years": "year", "hours": "hour",
               "half-lives": "half-life"}
_ESCAPE = re.compile(r"\\(.)")


def _span(meta) -> A.Span:
    if getattr(meta, "empty", True):
        return A.NOSPAN
    return A.Span(meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos)


def _tspan(tok: Token) -> A.Span:
    return A.Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0,
                  tok.start_pos or 0, tok.end_pos or 0)


def _string(tok: Token) -> str:
    return _ESCAPE.sub(r"\1", str(tok)[1:-1])


def _decimal(tok: Token) -> Decimal:
    try:
        return Decimal(str(tok))
    except InvalidOperation:  # pragma: no cover - the NUMBER terminal only admits digits
        raise ValueError(f"not a number: {tok}") from None


_DRAFT = object()  # the `draft` mark of a criterion


class _Where(tuple):
    pass


class _Except(tuple):
    pass


class _Allergen(tuple):
    pass


class _Conj(tuple):
    """A conjunction of attribute tests inside ``where (...)``."""


class _Selectors:
    __slots__ = ("refs", "conjunct")

    def __init__(self, refs: tuple, conjunct: bool):
        self.refs, self.conjunct = refs, conjunct


class _Indication:
    __slots__ = ("refs", "negated")

    def __init__(self, refs: tuple, negated: bool):
        self.refs, self.negated = refs, negated


class _Diagnosed:
    __slots__ = ("window",)

    def __init__(self, window: A.Window):
        self.window = window


class _Section:
    __slots__ = ("kind", "criteria", "span")

    def __init__(self, kind: str, criteria: list, span: A.Span):
        self.kind, self.criteria, self.span = kind, criteria, span


class _Header:
    __slots__ = ("key", "value", "span")

    def __init__(self, key: str, value, span: A.Span):
        self.key, self.value, self.span = key, value, span


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, text: str, filename: str):
        super().__init__(visit_tokens=False)
        self.source = text
        self.filename = filename

    def _error(self, message: str, span: A.Span, hint: str = "") -> CriteriaSyntaxError:
        lines = [line.rstrip("\r") for line in self.source.split("\n")]  # lines as the lexer counts them
        src = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
        return CriteriaSyntaxError(Problem(message, span.line, span.column, src, hint, self.filename))

    # ---- file ------------------------------------------------------------------
    def start(self, meta, items):
        """start: header_item* section* cohort*"""
        header: dict[str, _Header] = {}
        sections: list[_Section] = []
        cohorts: list[A.Cohort] = []
        for item in items:
            if isinstance(item, _Header):
                if item.key in header:
                    raise self._error(f"'{item.key}' is given twice in the header", item.span)
                header[item.key] = item
            elif isinstance(item, _Section):
                sections.append(item)
            else:
                cohorts.append(item)
        criteria = self._merge_sections(sections)
        seen: dict[str, A.Criterion] = {}
        for crit in list(criteria) + [c for co in cohorts for c in co.criteria]:
            if crit.id in seen:
                raise self._error(f"criterion id '{crit.id}' is used twice (first on line {seen[crit.id].span.line})",
                                  crit.span)
            seen[crit.id] = crit
        ids = [co.id for co in cohorts]
        for co in cohorts:
            if ids.count(co.id) > 1:
                raise self._error(f"cohort '{co.id}' is defined twice", co.span)
        get = lambda k: header[k].value if k in header else None  # noqa: E731
        return A.TrialAst(id=get("trial"), title=get("title"), anchors=get("anchors") or (),
                          lab_recency=get("labs"), criteria=criteria, cohorts=tuple(cohorts), span=_span(meta),
                          diseases=get("disease") or (), defining=get("defining") or (), fact_recency=get("facts"))

    def _merge_sections(self, sections: list[_Section]) -> tuple[A.Criterion, ...]:
        kinds: set[str] = set()
        out: list[A.Criterion] = []
        for sec in sections:
            if sec.kind in kinds:
                raise self._error(f"a second '{sec.kind}' section; put all {sec.kind} criteria in one section",
                                  sec.span)
            kinds.add(sec.kind)
            out.extend(sec.criteria)
        return tuple(out)

    def trial_id(self, meta, items):
        """header_item: "trial" STRING -> trial_id"""
        return _Header("trial", _string(items[0]), _span(meta))

    def title(self, meta, items):
        """header_item: "title" STRING+ -> title   (adjacent strings are one title)"""
        return _Header("title", "".join(_string(t) for t in items), _span(meta))

    def anchors(self, meta, items):
        """header_item: "anchors" NAME ("," NAME)* -> anchors"""
        names = tuple(str(t) for t in items)
        for i, t in enumerate(items):
            if str(t) in names[:i]:
                raise self._error(f"anchor '{t}' is listed twice", _tspan(t))
        return _Header("anchors", names, _span(meta))

    def _names(self, key: str, what: str, meta, items) -> _Header:
        names = tuple(str(t) for t in items)
        for i, t in enumerate(items):
            if str(t) in names[:i]:
                raise self._error(f"{what} '{t}' is listed twice", _tspan(t))
        return _Header(key, names, _span(meta))

    def diseases(self, meta, items):
        """header_item: "disease" NAME ("," NAME)* -> diseases"""
        return self._names("disease", "disease", meta, items)

    def defining(self, meta, items):
        """header_item: "defining" NAME ("," NAME)* -> defining"""
        return self._names("defining", "criterion", meta, items)

    def fact_recency(self, meta, items):
        """header_item: "facts" window -> fact_recency"""
        return _Header("facts", items[0], _span(meta))

    def lab_recency(self, meta, items):
        """header_item: "labs" window -> lab_recency"""
        return _Header("labs", items[0], _span(meta))

    def _section(self, kind: str, meta, items) -> _Section:
        crits = [A.Criterion(id=c.id, kind=kind, text=c.text, expr=c.expr, span=c.span, drafted=c.drafted)
                 for c in items]
        return _Section(kind, crits, _span(meta))

    def inclusion(self, meta, items):
        """section: "inclusion" ":" criterion* -> inclusion"""
        return self._section("inclusion", meta, items)

    def exclusion(self, meta, items):
        """section: "exclusion" ":" criterion* -> exclusion"""
        return self._section("exclusion", meta, items)

    def cohort(self, meta, items):
        """cohort: "cohort" NAME STRING? ":" section*"""
        name = str(items[0])
        rest = items[1:]
        title = None
        if rest and isinstance(rest[0], Token):
            title = _string(rest[0])
            rest = rest[1:]
        return A.Cohort(id=name, title=title, criteria=self._merge_sections(list(rest)), span=_span(meta))

    def criterion(self, meta, items):
        """criterion: "-" NAME STRING* draft_mark? ":" expr   (adjacent strings are one sentence)"""
        drafted = any(item is _DRAFT for item in items)
        strings = [item for item in items[1:-1] if item is not _DRAFT]
        text = "".join(_string(t) for t in strings) if strings else None
        return A.Criterion(id=str(items[0]), kind="", text=text, expr=items[-1], span=_span(meta), drafted=drafted)

    def draft_mark(self, meta, items):
        """draft_mark: "draft" """
        return _DRAFT

    # ---- logic -------------------------------------------------------------------
    def if_then_else(self, meta, items):
        """expr: "if" expr "then" expr "else" expr -> if_then_else"""
        return A.IfThenElse(items[0], items[1], items[2], span=_span(meta))

    def or_expr(self, meta, items):
        """or_expr: and_expr ("or" and_expr)*"""
        return A.Or(tuple(items), span=_span(meta))

    def and_expr(self, meta, items):
        """and_expr: not_expr ("and" not_expr)*"""
        return A.And(tuple(items), span=_span(meta))

    def not_(self, meta, items):
        """not_expr: "not" not_expr -> not_"""
        return A.Not(items[0], span=_span(meta))

    def expr_list(self, meta, items):
        """expr_list: expr ("," expr)* ","?"""
        return tuple(items)

    def all_of(self, meta, items):
        """atom: "all" "of" "(" expr_list ")" -> all_of"""
        return A.And(items[0], style="all of", span=_span(meta))

    def any_of(self, meta, items):
        """atom: "any" "of" "(" expr_list ")" -> any_of"""
        return A.Or(items[0], style="any of", span=_span(meta))

    def at_least(self, meta, items):
        """atom: "at" "least" NUMBER "of" "(" expr_list ")" -> at_least"""
        tok, exprs = items
        n = _decimal(tok)
        if n != n.to_integral_value() or n < 1 or n > len(exprs):
            raise self._error(f"'at least {tok} of' needs a whole number from 1 to {len(exprs)} "
                              f"(the number of items)", _tspan(tok))
        return A.AtLeast(int(n), exprs, span=_span(meta))

    def true(self, meta, items):
        """atom: "true" -> true"""
        return A.Const(True, span=_span(meta))

    def false(self, meta, items):
        """atom: "false" -> false"""
        return A.Const(False, span=_span(meta))

    def judgment(self, meta, items):
        """atom: "judgment" -> judgment"""
        return A.Judgment(span=_span(meta))

    def bool_fact(self, meta, items):
        """atom: NAME recency? -> bool_fact"""
        return A.BoolFact(str(items[0]), span=_tspan(items[0]), recency=items[1] if len(items) > 1 else None)

    # ---- comparisons -----------------------------------------------------------------
    def compare(self, meta, items):
        """comparison: measure COMP_OP value recency? -> compare"""
        measure, op, value = items[0], items[1], items[2]
        recency = items[3] if len(items) > 3 else None
        return A.Compare(measure, _OPS.get(str(op), str(op)), value, recency, span=_span(meta))

    def between(self, meta, items):
        """comparison: measure "between" value "and" value BOUNDS? recency? -> between"""
        measure, low, high = items[0], items[1], items[2]
        inclusive, recency = True, None
        for extra in items[3:]:
            if isinstance(extra, Token):
                inclusive = str(extra) == "inclusive"
            else:
                recency = extra
        # "between 18 and 70 years": the unit written once applies to both bounds.
        if isinstance(low, A.Quantity) and isinstance(high, A.Quantity) and low.unit is None and high.unit:
            low = A.Quantity(low.number, high.unit, span=low.span)
        return A.Between(measure, low, high, inclusive, recency, span=_span(meta))

    def _each_result(self, quantifier: str, meta, items):
        name, op, value, window = items
        measure = A.Measure(str(name), span=_tspan(name))
        return A.ResultQuant(quantifier, measure, _OPS.get(str(op), str(op)), value, window, span=_span(meta))

    def any_result(self, meta, items):
        """comparison: "any" NAME "result" COMP_OP value window -> any_result"""
        return self._each_result("any", meta, items)

    def every_result(self, meta, items):
        """comparison: "every" NAME "result" COMP_OP value window -> every_result"""
        return self._each_result("every", meta, items)

    def in_set(self, meta, items):
        """comparison: measure "in" "(" value ("," value)* ")" recency? -> in_set"""
        recency = items[-1] if isinstance(items[-1], A.Window) else None
        values = tuple(items[1:-1] if recency is not None else items[1:])
        return A.InSet(items[0], values, False, span=_span(meta), recency=recency)

    def not_in_set(self, meta, items):
        """comparison: measure "not" "in" "(" value ("," value)* ")" recency? -> not_in_set"""
        recency = items[-1] if isinstance(items[-1], A.Window) else None
        values = tuple(items[1:-1] if recency is not None else items[1:])
        return A.InSet(items[0], values, True, span=_span(meta), recency=recency)

    def fact_measure(self, meta, items):
        """measure: NAME ("by" NAME)? -> fact_measure"""
        method = str(items[1]) if len(items) > 1 else None
        return A.Measure(str(items[0]), method, span=_span(meta))

    def ratio_measure(self, meta, items):
        """measure: "ratio" "(" NAME "," NAME ")" -> ratio_measure"""
        return A.Measure(str(items[0]), None, str(items[1]), span=_span(meta))

    def quantity(self, meta, items):
        """value: NUMBER unit? -> quantity"""
        unit = items[1] if len(items) > 1 else None
        return A.Quantity(_decimal(items[0]), unit, span=_span(meta))

    def unit(self, meta, items):
        """unit: UNIT_BARE | UNIT_BRACKET | TIME_UNIT | WORD_UNIT"""
        tok = items[0]
        text = str(tok)
        if tok.type == "UNIT_BRACKET":
            text = text[1:-1].strip()
        elif tok.type == "TIME_UNIT":
            text = _TIME_UNITS.get(text, text)
        return text

    def ref_multiple(self, meta, items):
        """value: NUMBER _TIMES REF_LIMIT -> ref_multiple"""
        return A.RefMultiple(_decimal(items[0]), str(items[1]), span=_span(meta))

    def symbol(self, meta, items):
        """value: NAME -> symbol; ORDINAL (``2+``) -> symbol"""
        return A.Symbol(str(items[0]), span=_tspan(items[0]))

    def text(self, meta, items):
        """value: STRING -> text"""
        return A.Text(_string(items[0]), span=_tspan(items[0]))

    def recency(self, meta, items):
        """recency: window"""
        return items[0]

    # ---- histories ----------------------------------------------------------------------
    def concepts(self, meta, items):
        """concepts: concept | "(" concept ("," concept)* ")"   with   concept: NAME | STRING"""
        return tuple(A.Ref(_string(t) if t.type == "STRING" else str(t), span=_tspan(t)) for t in items)

    def where(self, meta, items):
        """where: "where" attr_test | "where" "(" attr_or ")" """
        (item,) = items
        return _Where(tuple(item) if isinstance(item, _Conj) else (item,))

    def attr_and(self, meta, items):
        """attr_and: attr_atom ("and" attr_atom)*"""
        out: list = []
        for it in items:
            out.extend(it if isinstance(it, _Conj) else (it,))
        return _Conj(out)

    def attr_or(self, meta, items):
        """attr_or: attr_and ("or" attr_and)*"""
        options: list = []
        for it in items:
            if isinstance(it, A.AttrAny):
                options.extend(it.options)
            else:
                options.append(tuple(it) if isinstance(it, _Conj) else (it,))
        return A.AttrAny(tuple(options), span=_span(meta))

    def attr_true(self, meta, items):
        """attr_test: NAME -> attr_true"""
        return A.AttrTest(str(items[0]), "true", span=_tspan(items[0]))

    def attr_false(self, meta, items):
        """attr_test: "not" NAME -> attr_false"""
        return A.AttrTest(str(items[0]), "false", span=_tspan(items[0]))

    def attr_compare(self, meta, items):
        """attr_test: NAME COMP_OP value -> attr_compare"""
        op = str(items[1])
        return A.AttrTest(str(items[0]), _OPS.get(op, op), (items[2],), span=_tspan(items[0]))

    def attr_in(self, meta, items):
        """attr_test: NAME "in" "(" value ("," value)* ")" -> attr_in"""
        return A.AttrTest(str(items[0]), "in", tuple(items[1:]), span=_tspan(items[0]))

    def attr_not_in(self, meta, items):
        """attr_test: NAME "not" "in" "(" value ("," value)* ")" -> attr_not_in"""
        return A.AttrTest(str(items[0]), "not in", tuple(items[1:]), span=_tspan(items[0]))

    def except_(self, meta, items):
        """except: "except" concepts"""
        return _Except(items[0])

    def _history_parts(self, items):
        where: tuple = ()
        excepted: tuple = ()
        window = None
        for it in items:
            if isinstance(it, _Where):
                where = tuple(it)
            elif isinstance(it, _Except):
                excepted = tuple(it)
            elif isinstance(it, A.Window):
                window = it
            elif isinstance(it, _Diagnosed):
                window = it.window
        return where, excepted, window

    def _condition(self, history: bool, meta, items):
        where, excepted, window = self._history_parts(items[1:])
        diagnosed = any(isinstance(it, _Diagnosed) for it in items[1:])
        allergens = next((tuple(it) for it in items[1:] if isinstance(it, _Allergen)), ())
        return A.ConditionPred(items[0], history, where, excepted, window, span=_span(meta), diagnosed=diagnosed,
                               allergens=allergens)

    def condition_current(self, meta, items):
        """condition: "condition" concepts allergen? where? except? when? -> condition_current"""
        return self._condition(False, meta, items)

    def condition_history(self, meta, items):
        """condition: "history" "of" concepts allergen? where? except? when? -> condition_history"""
        return self._condition(True, meta, items)

    def allergen(self, meta, items):
        """allergen: "to" concepts"""
        return _Allergen(items[0])

    def diagnosed(self, meta, items):
        """when: "diagnosed" window -> diagnosed"""
        return _Diagnosed(items[0])

    def selectors(self, meta, items):
        """selectors: concepts"""
        return _Selectors(items[0], False)

    def selectors_all(self, meta, items):
        """selectors: "(" concept ("and" concept)+ ")" -> selectors_all"""
        return _Selectors(tuple(A.Ref(_string(t) if t.type == "STRING" else str(t), span=_tspan(t)) for t in items),
                          True)

    def for_condition(self, meta, items):
        """indication: "for" "condition" concepts -> for_condition"""
        return _Indication(items[0], False)

    def not_for_condition(self, meta, items):
        """indication: "not" "for" "condition" concepts -> not_for_condition"""
        return _Indication(items[0], True)

    def therapy(self, meta, items):
        """therapy: "therapy" selectors therapy_timing? indication? where? except?"""
        timing, window, started, anchor = "ever", None, None, None
        indication: _Indication | None = None
        for it in items[1:]:
            if isinstance(it, tuple) and it and it[0] == "timing":
                _, timing, window, started, anchor = it
            elif isinstance(it, _Indication):
                indication = it
        where, excepted, _ = self._history_parts(items[1:])
        sel = items[0]
        return A.TherapyPred(sel.refs, timing, window, started, anchor, where, excepted, span=_span(meta),
                             conjunct=sel.conjunct, indication=indication.refs if indication else (),
                             indication_negated=bool(indication and indication.negated))

    def washout(self, meta, items):
        """washout: "washout" "from" selectors "of" "at" "least" span "before" NAME"""
        sel, span, anchor = items
        durations = span if isinstance(span, tuple) else (span,)
        window = A.Window(durations, str(anchor), span=_span(meta))
        return A.TherapyPred(sel.refs, "washout", window, span=_span(meta), conjunct=sel.conjunct)

    def participation(self, meta, items):
        """participation: "participation" "in" "another" "study" window?"""
        return A.ParticipationPred(items[0] if items else None, span=_span(meta))

    def timing_window(self, meta, items):
        """therapy_timing: window -> timing_window"""
        return ("timing", "window", items[0], None, None)

    def timing_ongoing(self, meta, items):
        """therapy_timing: "ongoing" -> timing_ongoing"""
        return ("timing", "ongoing", None, None, None)

    def timing_started(self, meta, items):
        """therapy_timing: "started" "at" "least" duration "before" NAME -> timing_started"""
        return ("timing", "started", None, items[0], str(items[1]))

    def procedure(self, meta, items):
        """procedure: "procedure" concepts where? except? window?"""
        where, excepted, window = self._history_parts(items[1:])
        return A.ProcedurePred(items[0], where, window, span=_span(meta), excepted=excepted)

    def dose(self, meta, items):
        """dose: "daily" "dose" "of" concepts ("as" NAME)? COMP_OP value window? where?"""
        selectors = items[0]
        rest = list(items[1:])
        equivalent = None
        if isinstance(rest[0], Token) and rest[0].type == "NAME":
            equivalent = str(rest.pop(0))
        op = str(rest.pop(0))
        value = rest.pop(0)
        where, _, window = self._history_parts(rest)
        return A.DosePred(selectors, equivalent, _OPS.get(op, op), value, window, where, span=_span(meta))

    def total_dose(self, meta, items):
        """total_dose: "total" "dose" "of" concepts ("as" NAME)? window COMP_OP value where?"""
        selectors = items[0]
        rest = list(items[1:])
        equivalent = None
        if isinstance(rest[0], Token) and rest[0].type == "NAME":
            equivalent = str(rest.pop(0))
        window = rest.pop(0)
        op = str(rest.pop(0))
        value = rest.pop(0)
        where, _, _ = self._history_parts(rest)
        return A.DosePred(selectors, equivalent, _OPS.get(op, op), value, window, where, total=True,
                          span=_span(meta))

    def stable_dose(self, meta, items):
        """stable_dose: "stable" "dose" "of" concepts where? "for" duration "before" NAME"""
        where = tuple(items[1]) if isinstance(items[1], _Where) else ()
        duration, anchor = items[-2], items[-1]
        return A.StableDosePred(items[0], duration, str(anchor), where, span=_span(meta))

    # ---- time ------------------------------------------------------------------------------
    def window(self, meta, items):
        """window: "within" span "before" NAME"""
        span, anchor = items
        return A.Window(span if isinstance(span, tuple) else (span,), str(anchor), span=_span(meta))

    def span_max(self, meta, items):
        """span: "max" "(" duration ("," duration)* ")" -> span_max"""
        return tuple(items)

    def duration(self, meta, items):
        """duration: NUMBER TIME_UNIT | NUMBER HALF_LIVES"""
        unit = str(items[1])
        unit = _TIME_UNITS.get(unit, unit)
        return A.Duration(_decimal(items[0]), unit, span=_span(meta))


# "except" is a Python keyword; lark looks the rule up by name.
setattr(_ToAst, "except", _ToAst.except_)


def to_ast(tree: Tree, text: str, filename: str = "<criteria>") -> A.TrialAst:
    """Transform a parse tree of ``start`` into a :class:`~eligimatch.language.ast.TrialAst`."""
    try:
        return _ToAst(text, filename).transform(tree)
    except VisitError as exc:  # lark wraps what a rule method raises; ours must reach the caller as is
        if isinstance(exc.orig_exc, (CriteriaSyntaxError, RecursionError)):  # RecursionError: see compile_trial
            raise exc.orig_exc from None
        raise
