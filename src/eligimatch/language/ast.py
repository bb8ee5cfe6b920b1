"""The typed syntax tree of a criteria file.

Each construct of ``grammar/criteria.lark`` has one frozen dataclass here.
Every node keeps the :class:`Span` of the text it came from; spans do not take
part in equality, so a tree rendered back to text and parsed again compares
equal to the original (see :mod:`eligimatch.language._render`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator, Union

__all__ = [
    "Span", "Node", "Expr",
    "And", "Or", "Not", "AtLeast", "IfThenElse", "Const", "Judgment", "BoolFact",
    "Measure", "Quantity", "RefMultiple", "Symbol", "Text", "Value",
    "Compare", "Between", "InSet", "ResultQuant",
    "Duration", "Window", "AttrTest", "AttrAny", "Ref",
    "ConditionPred", "TherapyPred", "ProcedurePred", "DosePred", "StableDosePred", "ParticipationPred",
    "Criterion", "Cohort", "TrialAst", "walk",
]


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node stands in the source text (1-based lines and columns)."""

    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    start_pos: int = 0
    end_pos: int = 0


NOSPAN = Span()


def _span() -> Span:
    return field(default=NOSPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Node:
    pass


# ---- logic ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class And(Node):
    """``a and b`` / ``all of (a, b)``."""

    items: tuple[Expr, ...]
    style: str = field(default="and", compare=False)  # "and" | "all of"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Or(Node):
    """``a or b`` / ``any of (a, b)``."""

    items: tuple[Expr, ...]
    style: str = field(default="or", compare=False)  # "or" | "any of"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not(Node):
    item: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AtLeast(Node):
    """``at least N of (a, b, c)``."""

    n: int
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IfThenElse(Node):
    cond: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Judgment(Node):
    """Only the investigator can decide; always UNKNOWN with cause "review"."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BoolFact(Node):
    """A yes/no fact: ``pregnant``; with a recency bound on its date: ``pregnant within 7 days before enrollment``."""

    name: str
    span: Span = _span()
    recency: Window | None = None


# ---- values ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Measure(Node):
    """What is compared: a fact or analyte, optionally computed ``by`` a method, or a ratio."""

    name: str
    method: str | None = None
    denominator: str | None = None  # set for ratio(name, denominator)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Quantity(Node):
    """A number with an optional unit as written (``1.5 x10^9/L``, ``70 years``)."""

    number: Decimal
    unit: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RefMultiple(Node):
    """``1.5 x ULN``: a multiple of the result's upper (ULN) or lower (LLN) reference limit."""

    factor: Decimal
    limit: str  # "ULN" | "LLN"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Symbol(Node):
    """A bare word value such as ``female``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Text(Node):
    value: str
    span: Span = _span()


Value = Union[Quantity, RefMultiple, Symbol, Text]


# ---- time --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Duration(Node):
    """``14 days``, ``6 months``, ``5 half-lives``."""

    amount: Decimal
    unit: str  # "day" | "week" | "month" | "year" | "hour" | "half-life"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Window(Node):
    """``within 14 days before apheresis`` / ``within max(14 days, 5 half-lives) before apheresis``."""

    durations: tuple[Duration, ...]
    anchor: str
    span: Span = _span()


# ---- comparisons ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Compare(Node):
    measure: Measure
    op: str  # one of < <= > >= = !=
    value: Value
    recency: Window | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Between(Node):
    measure: Measure
    low: Value
    high: Value
    inclusive: bool = True
    recency: Window | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ResultQuant(Node):
    """``any creatinine result > 2.5 mg/dL within 8 weeks before leukapheresis`` (``every``: all of them).

    Every result of the analyte dated inside the window is compared, not only the latest."""

    quantifier: str  # "any" | "every"
    measure: Measure
    op: str
    value: Value
    window: Window
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class InSet(Node):
    measure: Measure
    values: tuple[Value, ...]
    negated: bool = False
    span: Span = _span()
    recency: Window | None = None


# ---- histories ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Ref(Node):
    """A name of a catalog concept (condition, drug, class, procedure) as written."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AttrTest(Node):
    """One test on a record's attribute inside ``where``: ``grade >= 2``, ``symptomatic``, ``route not in (inhaled)``."""

    name: str
    op: str  # "true" | "false" | a comparison operator | "in" | "not in"
    values: tuple[Value, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AttrAny(Node):
    """``where (a or (b and c))``: one of several conjunctions of tests holds."""

    options: tuple[tuple[Union[AttrTest, AttrAny], ...], ...]
    span: Span = _span()

    @property
    def name(self) -> str:  # the attributes it tests, for evidence lines
        return ", ".join(dict.fromkeys(t.name for o in self.options for t in o))


def attr_names(tests: tuple[Union[AttrTest, AttrAny], ...]) -> tuple[str, ...]:
    """The attribute names a ``where`` tests, each once, in order."""
    out: list[str] = []
    stack = list(reversed(tests))
    while stack:
        t = stack.pop()
        if isinstance(t, AttrAny):
            stack.extend(reversed([x for o in t.options for x in o]))
        else:
            out.append(t.name)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class ConditionPred(Node):
    concepts: tuple[Ref, ...]
    history: bool = False  # False: present now; True: ever (or within the window)
    where: tuple[AttrTest | AttrAny, ...] = ()
    excepted: tuple[Ref, ...] = ()
    window: Window | None = None
    span: Span = _span()
    diagnosed: bool = False  # `diagnosed within ...`: the onset falls in the window
    allergens: tuple[Ref, ...] = ()  # `allergy to (drugs)`: the record's allergen is one of these drugs/classes


@dataclass(frozen=True, slots=True)
class TherapyPred(Node):
    selectors: tuple[Ref, ...]
    timing: str = "ever"  # "ever" | "window" | "ongoing" | "started" | "washout"
    window: Window | None = None  # for timing "window", and "washout" (the washout's length and anchor)
    started: Duration | None = None  # for timing "started": at least this long before anchor
    anchor: str | None = None  # for timing "started"
    where: tuple[AttrTest | AttrAny, ...] = ()
    excepted: tuple[Ref, ...] = ()
    span: Span = _span()
    conjunct: bool = False  # `therapy (car_t and cd19_targeted)`: one record is every selector
    indication: tuple[Ref, ...] = ()  # `for condition X`: the record's indication is one of these conditions
    indication_negated: bool = False  # `not for condition X`


@dataclass(frozen=True, slots=True)
class ProcedurePred(Node):
    concepts: tuple[Ref, ...]
    where: tuple[AttrTest | AttrAny, ...] = ()
    window: Window | None = None
    span: Span = _span()
    excepted: tuple[Ref, ...] = ()


@dataclass(frozen=True, slots=True)
class ParticipationPred(Node):
    """``participation in another study [within 3 months before enrollment]``."""

    window: Window | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DosePred(Node):
    """``daily dose of corticosteroid as prednisone >= 70 mg/day within 7 days before apheresis``: the
    highest total daily dose; or, with ``total``, the sum over the window:
    ``total dose of corticosteroid as prednisone within 7 days before apheresis >= 70 mg``."""

    selectors: tuple[Ref, ...]
    equivalent: str | None
    op: str
    value: Value
    window: Window | None = None
    where: tuple[AttrTest, ...] = ()
    total: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class StableDosePred(Node):
    """``stable dose of corticosteroid for 7 days before screening``."""

    selectors: tuple[Ref, ...]
    duration: Duration
    anchor: str
    where: tuple[AttrTest, ...] = ()
    span: Span = _span()


Expr = Union[
    And, Or, Not, AtLeast, IfThenElse, Const, Judgment, BoolFact,
    Compare, Between, InSet, ResultQuant, ConditionPred, TherapyPred, ProcedurePred, DosePred, StableDosePred,
    ParticipationPred,
]


# ---- file structure --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Criterion(Node):
    id: str
    kind: str  # "inclusion" | "exclusion"
    text: str | None
    expr: Expr
    span: Span = _span()
    drafted: bool = False  # `draft`: written by a machine from the registry text, to be reviewed


@dataclass(frozen=True, slots=True)
class Cohort(Node):
    id: str
    title: str | None
    criteria: tuple[Criterion, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TrialAst(Node):
    id: str | None
    title: str | None
    anchors: tuple[str, ...]
    lab_recency: Window | None
    criteria: tuple[Criterion, ...]
    cohorts: tuple[Cohort, ...] = ()
    span: Span = _span()
    #: the conditions the trial is for (``disease a, b``), and its disease-defining inclusions (``defining I1``)
    diseases: tuple[str, ...] = ()
    defining: tuple[str, ...] = ()
    #: ``facts within N before A``: the default recency of the facts the criteria read (as ``lab_recency`` for labs)
    fact_recency: Window | None = None


def walk(expr: Any) -> Iterator[Any]:
    """Every expression node in ``expr``, itself first (iteratively: no recursion, whatever the depth)."""
    stack = [expr]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (And, Or, AtLeast)):
            stack.extend(reversed(n.items))
        elif isinstance(n, Not):
            stack.append(n.item)
        elif isinstance(n, IfThenElse):
            stack.extend((n.otherwise, n.then, n.cond))
