"""The nodes of a resolved plan: plain, frozen data, one class per kind of criterion.

A plan node holds everything a backend needs and nothing it must look up again: catalog entries
(as reference records: ids, names, codes, the concepts and drugs they cover), thresholds as floats
with the unit the comparison is made in and their value in the catalog's canonical unit, windows,
anchors, and ``where`` tests read through the attribute vocabularies.  Variants are distinct node
types (a therapy's timing is one of :class:`TherapyEver`, :class:`TherapyWithin`,
:class:`TherapyOngoing`, :class:`TherapyStarted`, :class:`WashoutComplete`), never a string with
optional fields beside it.

Each reference record may also carry the catalog's own entry object (``entry``) for the row engine;
it takes no part in equality and is not serialised (:func:`eligimatch.plan.from_dict` attaches it
again when given the catalogs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

__all__ = [
    # references to catalog entries
    "AnalyteRef", "FactRef", "ConceptRef", "DrugRef",
    # time
    "Duration", "Window",
    # where tests
    "YesNoTest", "CodedTest", "AttrValue", "ValueTest", "AnyTest", "WhereTest", "attr_names",
    # measures
    "AgeMeasure", "SexMeasure", "FactMeasure", "AnalyteMeasure", "FormulaMeasure", "RatioMeasure",
    "NumericMeasure", "SymbolMeasure",
    # logic
    "And", "Or", "Not", "AtLeast", "IfThenElse", "Const", "Judgment",
    # comparisons
    "BoolFact", "Threshold", "Between", "InSet", "RefMultiple", "ResultBound", "ResultMultiple", "EachResult",
    # histories
    "Present", "Ever", "Within", "DiagnosedWithin", "Condition", "Procedure",
    "TherapyEver", "TherapyWithin", "TherapyOngoing", "TherapyStarted", "WashoutComplete", "Therapy",
    "Dose", "StableDose", "Participation",
    # the file
    "Expr", "Criterion", "Cohort", "ReferenceRange", "Plan", "NODE_TYPES", "LOGIC_TYPES",
]

Op = Literal["<", "<=", ">", ">=", "=", "!="]


def _entry() -> Any:
    """The catalog's own entry object: for the row engine, not compared, not serialised."""
    return field(default=None, compare=False, repr=False, metadata={"entry": True})


# ---- references to catalog entries ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AnalyteRef:
    """A lab, vital or score of the analyte catalog; ``unit`` is its canonical unit."""

    id: str
    name: str
    unit: str
    loinc: tuple[str, ...] = ()
    molar_mass: float | None = None
    unit_free: bool = False  # a bare number is a result (INR, a score)
    entry: Any = _entry()


@dataclass(frozen=True, slots=True)
class FactRef:
    """A fact of the fact catalog: ``type`` bool, number, duration or enum (``values`` listed lowest first
    when ``ordered``)."""

    id: str
    name: str
    type: str
    unit: str | None = None
    values: tuple[str, ...] = ()
    ordered: bool = False
    entry: Any = _entry()


@dataclass(frozen=True, slots=True)
class ConceptRef:
    """A condition or procedure concept (``domain``), with what it covers: ``covers`` the ids of the concept
    and every concept below it, ``codes`` their codes (``system:code`` as the catalog writes them), and
    ``may_be`` the ids of concepts that overlap it without being below it (a record of one of those may or
    may not be this concept: UNKNOWN)."""

    id: str
    name: str
    domain: Literal["condition", "procedure"]
    covers: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    may_be: tuple[str, ...] = ()
    entry: Any = _entry()


@dataclass(frozen=True, slots=True)
class DrugRef:
    """A drug, a drug class or a target selector (``kind``), expanded: ``drugs`` the catalog drugs that are it,
    ``classes`` the classes below it (a class is its own), ``rxnorm`` the RxNorm codes of those drugs."""

    id: str
    name: str
    kind: Literal["drug", "class", "target"]
    drugs: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    rxnorm: tuple[str, ...] = ()
    half_life_days: float | None = None
    prednisone_equivalent_mg: float | None = None
    entry: Any = _entry()


# ---- time --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Duration:
    """``14 days``; ``5 half-lives`` (of each record's drug, from the drug catalog).  Calendar amounts are whole."""

    amount: float
    unit: Literal["day", "week", "month", "year", "half-life"]


@dataclass(frozen=True, slots=True)
class Window:
    """``within <durations> before <anchor>``; several durations (washouts only) mean the longest of them."""

    durations: tuple[Duration, ...]
    anchor: str


# ---- where tests ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class YesNoTest:
    """``where symptomatic`` / ``where not symptomatic``: only a recorded yes/no decides."""

    name: str
    expected: bool


@dataclass(frozen=True, slots=True)
class CodedTest:
    """A test on an attribute with a declared vocabulary (catalog/attributes.toml): the record's value is read
    through it; ``values`` are declared values.  ``negated``: ``!=`` / ``not in``."""

    name: str
    values: tuple[str, ...]
    negated: bool = False
    vocabulary: Any = _entry()  # the AttributeDef


@dataclass(frozen=True, slots=True)
class AttrValue:
    """A value written in a ``where`` test: as written (a number or a word), as a number when it is one
    (grades I-V count), and as a normalised word."""

    raw: float | str
    number: float | None
    norm: str


@dataclass(frozen=True, slots=True)
class ValueTest:
    """A test on an attribute without a vocabulary: ``grade >= 2``, ``route in (oral, iv)``."""

    name: str
    op: Literal["<", "<=", ">", ">=", "=", "!=", "in", "not in"]
    values: tuple[AttrValue, ...]


@dataclass(frozen=True, slots=True)
class AnyTest:
    """``where (a or (b and c))``: one of several conjunctions of tests holds."""

    options: tuple[tuple[WhereTest, ...], ...]

    @property
    def name(self) -> str:
        return ", ".join(dict.fromkeys(t.name for o in self.options for t in o))


WhereTest = Union[YesNoTest, CodedTest, ValueTest, AnyTest]


def attr_names(tests: tuple[WhereTest, ...]) -> tuple[str, ...]:
    """The attribute names a ``where`` tests, each once, in order."""
    out: list[str] = []
    stack: list[Any] = list(reversed(tests))
    while stack:
        t = stack.pop()
        if isinstance(t, AnyTest):
            stack.extend(reversed([x for o in t.options for x in o]))
        else:
            out.append(t.name)
    return tuple(dict.fromkeys(out))


# ---- measures ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AgeMeasure:
    """Age on the evaluation date in ``unit``: completed units, or the exact age (``exact``, for a
    fractional threshold such as 17.5 years)."""

    unit: Literal["year", "month", "week", "day"]
    exact: bool = False


@dataclass(frozen=True, slots=True)
class SexMeasure:
    pass


@dataclass(frozen=True, slots=True)
class FactMeasure:
    fact: FactRef


@dataclass(frozen=True, slots=True)
class AnalyteMeasure:
    """The latest result of an analyte."""

    analyte: AnalyteRef


@dataclass(frozen=True, slots=True)
class FormulaMeasure:
    """A value computed from the patient's own: ``crcl by cockcroft_gault``, ``egfr by ckd_epi_2021``;
    ``inputs`` the analytes it reads (creatinine, weight), besides age and sex."""

    analyte: AnalyteRef
    method: Literal["cockcroft_gault", "ckd_epi_2021"]
    inputs: tuple[AnalyteRef, ...] = ()


@dataclass(frozen=True, slots=True)
class RatioMeasure:
    """``ratio(a, b)``: a plain number, each result in its analyte's canonical unit."""

    numerator: AnalyteRef
    denominator: AnalyteRef


NumericMeasure = Union[AgeMeasure, FactMeasure, AnalyteMeasure, FormulaMeasure, RatioMeasure]
SymbolMeasure = Union[SexMeasure, FactMeasure]


# ---- logic --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


@dataclass(frozen=True, slots=True)
class AtLeast:
    n: int
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class IfThenElse:
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class Judgment:
    """Only the investigator can decide: always UNKNOWN with cause "review"."""


# ---- comparisons ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BoolFact:
    fact: FactRef
    recency: Window | None = None


@dataclass(frozen=True, slots=True)
class Threshold:
    """``measure op value``.  The comparison is made in ``unit`` (the threshold's, else the measure's own;
    None for a plain number); ``canonical_value`` is the threshold in ``canonical_unit`` (the catalog's
    unit, factors resolved here).  ``text`` is the threshold as reports show it."""

    measure: NumericMeasure
    op: Op
    value: float
    unit: str | None
    canonical_value: float
    canonical_unit: str | None
    text: str
    recency: Window | None = None


@dataclass(frozen=True, slots=True)
class Between:
    """``measure between low and high`` (both in ``unit``; ``inclusive`` or not)."""

    measure: NumericMeasure
    low: float
    high: float
    unit: str | None
    inclusive: bool
    canonical_low: float
    canonical_high: float
    canonical_unit: str | None
    text: str
    recency: Window | None = None


@dataclass(frozen=True, slots=True)
class InSet:
    """Sex or an enum fact is one of ``values`` (declared values; an ordered comparison is bound to the
    values on its side of the threshold); ``negated``: not one of them."""

    measure: SymbolMeasure
    values: tuple[str, ...]
    negated: bool = False
    recency: Window | None = None


@dataclass(frozen=True, slots=True)
class RefMultiple:
    """``analyte op factor x ULN`` (or LLN): against the result's own reference range, else the trial's default
    (:attr:`Plan.reference_ranges`)."""

    analyte: AnalyteRef
    op: Op
    factor: float
    limit: Literal["ULN", "LLN"]
    text: str  # the factor as written
    recency: Window | None = None


@dataclass(frozen=True, slots=True)
class ResultBound:
    """A number threshold for :class:`EachResult`, compared in ``unit``."""

    value: float
    unit: str
    canonical_value: float
    text: str


@dataclass(frozen=True, slots=True)
class ResultMultiple:
    """A reference-range multiple for :class:`EachResult`."""

    factor: float
    limit: Literal["ULN", "LLN"]
    text: str


@dataclass(frozen=True, slots=True)
class EachResult:
    """``any/every X result op value within W``: every result in the window, not only the latest."""

    quantifier: Literal["any", "every"]
    analyte: AnalyteRef
    op: Op
    bound: ResultBound | ResultMultiple
    window: Window


# ---- histories ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Present:
    """``condition X``: present now (started, neither resolved nor ended)."""


@dataclass(frozen=True, slots=True)
class Ever:
    """``history of X`` / ``procedure X``: at any time up to the evaluation date."""


@dataclass(frozen=True, slots=True)
class Within:
    """``history of X within W`` / ``procedure X within W``: some day of it lies in the window."""

    window: Window


@dataclass(frozen=True, slots=True)
class DiagnosedWithin:
    """``diagnosed within W``: the onset lies in the window; ``still_present`` (``condition X diagnosed within``)
    also asks that it be present now."""

    window: Window
    still_present: bool


ConditionTiming = Union[Present, Ever, Within, DiagnosedWithin]


@dataclass(frozen=True, slots=True)
class Condition:
    concepts: tuple[ConceptRef, ...]
    timing: ConditionTiming
    excepted: tuple[ConceptRef, ...] = ()
    where: tuple[WhereTest, ...] = ()
    allergens: tuple[DrugRef, ...] = ()  # `allergy to (drugs)`: the record's allergen is one of these


@dataclass(frozen=True, slots=True)
class Procedure:
    concepts: tuple[ConceptRef, ...]
    timing: Union[Ever, Within]
    excepted: tuple[ConceptRef, ...] = ()
    where: tuple[WhereTest, ...] = ()


@dataclass(frozen=True, slots=True)
class TherapyEver:
    """``therapy X``: received at any time up to the evaluation date."""


@dataclass(frozen=True, slots=True)
class TherapyWithin:
    """``therapy X within W``: the last dose, plus the window (``max(14 days, 5 half-lives)`` per record), reaches
    the anchor."""

    window: Window


@dataclass(frozen=True, slots=True)
class TherapyOngoing:
    """``ongoing therapy X``: still taken on the evaluation date."""


@dataclass(frozen=True, slots=True)
class TherapyStarted:
    """``therapy X started at least D before A``: every course still taken then began by ``A - D``."""

    duration: Duration
    anchor: str


@dataclass(frozen=True, slots=True)
class WashoutComplete:
    """``washout from X of at least W``: no record of X still inside the washout at the anchor."""

    window: Window


TherapyTiming = Union[TherapyEver, TherapyWithin, TherapyOngoing, TherapyStarted, WashoutComplete]


@dataclass(frozen=True, slots=True)
class Therapy:
    selectors: tuple[DrugRef, ...]
    timing: TherapyTiming
    excepted: tuple[DrugRef, ...] = ()
    where: tuple[WhereTest, ...] = ()
    conjunct: bool = False  # `therapy (car_t and cd19_targeted)`: one record is every selector
    indication: tuple[ConceptRef, ...] = ()  # `for condition X`
    indication_negated: bool = False  # `not for condition X`


@dataclass(frozen=True, slots=True)
class Dose:
    """``daily dose of X [as prednisone] op V mg/day [within W]`` (the highest total daily dose), or ``total``:
    ``total dose of X within W op V mg`` (the sum over the window).  ``threshold_mg`` in mg (a day)."""

    selectors: tuple[DrugRef, ...]
    equivalent: Literal["prednisone"] | None
    op: Op
    threshold_mg: float
    total: bool = False
    window: Window | None = None
    where: tuple[WhereTest, ...] = ()


@dataclass(frozen=True, slots=True)
class StableDose:
    """``stable dose of X for D before A``."""

    selectors: tuple[DrugRef, ...]
    duration: Duration
    anchor: str
    where: tuple[WhereTest, ...] = ()


@dataclass(frozen=True, slots=True)
class Participation:
    """``participation in another study [within W]``; a record of ``trial_id`` (this trial) does not count."""

    window: Window | None = None
    trial_id: str | None = None


Expr = Union[
    And, Or, Not, AtLeast, IfThenElse, Const, Judgment, BoolFact,
    Threshold, Between, InSet, RefMultiple, EachResult,
    Condition, Procedure, Therapy, Dose, StableDose, Participation,
]

LOGIC_TYPES = (And, Or, Not, AtLeast, IfThenElse, Const, Judgment)


# ---- the file ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Criterion:
    """A criterion: ``kind`` inclusion or exclusion, ``source`` its expression as canonical text, ``line`` where
    it stands in the file, ``cohort`` the cohort it belongs to (None: the trial's own)."""

    id: str
    kind: Literal["inclusion", "exclusion"]
    text: str | None
    expr: Expr
    source: str = ""
    line: int = 0
    cohort: str | None = None
    drafted: bool = False


@dataclass(frozen=True, slots=True)
class Cohort:
    id: str
    title: str | None
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    """A default reference range (trial option) for ``x ULN`` / ``x LLN`` when a result carries none."""

    analyte: str
    low: float | None
    high: float | None
    unit: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A trial resolved against its catalogs: the one input of every backend."""

    trial_id: str | None
    title: str | None
    anchors: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    cohorts: tuple[Cohort, ...] = ()
    lab_recency: Window | None = None  # `labs within ...`: the default recency of results
    fact_recency: Window | None = None  # `facts within ...`: the default recency of recorded facts
    diseases: tuple[ConceptRef, ...] = ()  # `disease a, b`
    defining: tuple[str, ...] = ()  # `defining I1`: the disease-defining inclusion criteria
    reference_ranges: tuple[ReferenceRange, ...] = ()

    def all_criteria(self) -> tuple[Criterion, ...]:
        return self.criteria + tuple(c for co in self.cohorts for c in co.criteria)

    def reference_range(self, analyte_id: str) -> tuple[float | None, float | None, str] | None:
        for r in self.reference_ranges:
            if r.analyte == analyte_id:
                return (r.low, r.high, r.unit)
        return None


NODE_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    AnalyteRef, FactRef, ConceptRef, DrugRef, Duration, Window,
    YesNoTest, CodedTest, AttrValue, ValueTest, AnyTest,
    AgeMeasure, SexMeasure, FactMeasure, AnalyteMeasure, FormulaMeasure, RatioMeasure,
    And, Or, Not, AtLeast, IfThenElse, Const, Judgment,
    BoolFact, Threshold, Between, InSet, RefMultiple, ResultBound, ResultMultiple, EachResult,
    Present, Ever, Within, DiagnosedWithin, Condition, Procedure,
    TherapyEver, TherapyWithin, TherapyOngoing, TherapyStarted, WashoutComplete, Therapy,
    Dose, StableDose, Participation, Criterion, Cohort, ReferenceRange, Plan,
)}
