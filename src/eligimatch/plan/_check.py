"""Check a trial's AST before compiling it: names, units, dimensions, anchors.

Every problem is collected (not just the first) and reported with its line,
column and a did-you-mean; a threshold whose dimension cannot apply to its
analyte (a platelet count in mg/dL) is an error here, never a wrong answer later.
The resolvers are shared with :mod:`eligimatch.engine._compile`, which runs only on a
tree that passed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from eligimatch.language import ast as A
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.errors import CriteriaCheckError, PlanError, Problem, UnitError
from eligimatch.knowledge._units import compatible, dimension_name

__all__ = ["check", "MeasureInfo", "resolve_measure", "STANDARD_ANCHORS", "COMPUTED"]

STANDARD_ANCHORS = ("screening", "consent", "apheresis", "leukapheresis", "enrollment", "lymphodepletion",
                    "infusion", "baseline")
TIME_UNITS = ("day", "week", "month", "year")
COMPUTED = {("crcl", "cockcroft_gault"), ("egfr", "ckd_epi_2021")}
SEXES = ("male", "female")
_LOGIC = (A.And, A.Or, A.Not, A.AtLeast, A.IfThenElse, A.Const, A.Judgment)  # checked through their operands


@dataclass(frozen=True)
class MeasureInfo:
    kind: str  # "age" | "sex" | "fact" | "analyte" | "computed" | "ratio"
    fact: Any = None
    analyte: Any = None
    denominator: Any = None
    method: str | None = None

    @property
    def label(self) -> str:
        if self.kind in ("age", "sex"):
            return self.kind
        if self.kind == "fact":
            return self.fact.name
        if self.kind == "ratio":
            return f"{self.analyte.name} / {self.denominator.name}"
        return self.analyte.name

    @property
    def id(self) -> str:
        if self.kind in ("age", "sex"):
            return self.kind
        if self.kind == "fact":
            return self.fact.id
        if self.kind == "ratio":
            return f"{self.analyte.id}/{self.denominator.id}"
        return self.analyte.id


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def resolve_measure(m: A.Measure, cats: Catalogs) -> MeasureInfo | tuple[str, str]:
    """What a measure names, or ``(message, hint)``."""
    if m.denominator is not None:
        num, den = cats.analytes.resolve(m.name), cats.analytes.resolve(m.denominator)
        for name, a in ((m.name, num), (m.denominator, den)):
            if a is None:
                return (f"unknown lab {name!r} in ratio", _did_you_mean(name, [x.id for x in cats.analytes]))
        return MeasureInfo("ratio", analyte=num, denominator=den)
    if m.name == "age" and m.method is None:
        return MeasureInfo("age")
    if m.name == "sex" and m.method is None:
        return MeasureInfo("sex")
    fact = cats.facts.resolve(m.name)
    if fact is not None:
        if m.method:
            return (f"fact {m.name!r} has no computation method {m.method!r}", "")
        return MeasureInfo("fact", fact=fact)
    analyte = cats.analytes.resolve(m.name)
    if analyte is not None:
        if m.method:
            if (analyte.id, m.method) not in COMPUTED:
                methods = [meth for (aid, meth) in COMPUTED if aid == analyte.id]
                hint = f"known: {', '.join(methods)}" if methods else f"{analyte.id} is not computed by eligimatch"
                return (f"{analyte.id} cannot be computed by {m.method!r}", hint)
            return MeasureInfo("computed", analyte=analyte, method=m.method)
        return MeasureInfo("analyte", analyte=analyte)
    names = ["age", "sex"] + [f.id for f in cats.facts] + [a.id for a in cats.analytes]
    hint = _did_you_mean(m.name, names)
    if not hint and cats.conditions.resolve(m.name) is not None:
        hint = f"{m.name!r} is a condition: write `condition {m.name}`"
    return (f"unknown fact or lab {m.name!r}", hint)


class _Checker:
    def __init__(self, trial: A.TrialAst, cats: Catalogs, text: str, filename: str):
        self.trial = trial
        self.cats = cats
        self.lines = [line.rstrip("\r") for line in text.split("\n")]  # lines as the lexer counts them
        self.filename = filename
        self.problems: list[Problem] = []
        self.anchors = trial.anchors or STANDARD_ANCHORS

    def error(self, span: A.Span, message: str, hint: str = "") -> None:
        src = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        self.problems.append(Problem(message, span.line or 1, span.column or 1, src, hint, self.filename))

    # ---- file -----------------------------------------------------------------------------
    def run(self) -> None:
        if self.trial.lab_recency is not None:
            self.window(self.trial.lab_recency, allow_half_life=False)
        if self.trial.fact_recency is not None:
            self.window(self.trial.fact_recency, allow_half_life=False)
        crits = list(self.trial.criteria) + [c for co in self.trial.cohorts for c in co.criteria]
        self.not_empty(crits)
        self.header_disease(crits)
        for crit in crits:
            for node in A.walk(crit.expr):
                self.node(node)

    def not_empty(self, crits: list[A.Criterion]) -> None:
        """A trial (or a cohort) without criteria would match every patient, even ``{}`` (issue 18 D13)."""
        if not crits:
            span = self.trial.span
            at = span if span.line else A.Span(1, 1, 1, 1)
            what = "the file is empty" if not any(ln.strip() for ln in self.lines) else (
                "the file holds only comments" if all(not ln.strip() or ln.lstrip().startswith("#")
                                                      for ln in self.lines) else "the trial has no criteria")
            self.error(at, f"{what}: a trial with no criteria would match every patient",
                       "add an `inclusion:` or `exclusion:` section with at least one criterion")
        for co in self.trial.cohorts:
            if not co.criteria:
                self.error(co.span, f"cohort {co.id!r} has no criteria: every patient would meet it",
                           "give the cohort its inclusion or exclusion criteria, or remove it")

    def header_disease(self, crits: list[A.Criterion]) -> None:
        """``disease`` names catalog conditions; ``defining`` names the file's own inclusion criteria."""
        span = self.trial.span
        for name in self.trial.diseases:
            if self.cats.conditions.resolve(name) is None:
                hint = _did_you_mean(name, [c.id for c in self.cats.conditions])
                self.error(self._header_span("disease", name, span), f"unknown condition {name!r} in `disease`",
                           hint)
        by_id = {c.id: c for c in crits}
        for cid in self.trial.defining:
            c = by_id.get(cid)
            where = self._header_span("defining", cid, span)
            if c is None:
                self.error(where, f"`defining` names {cid!r}, which is not a criterion of this file",
                           _did_you_mean(cid, list(by_id)))
            elif c.kind != "inclusion":
                self.error(where, f"`defining` names {cid!r}, an exclusion; disease-defining criteria are "
                                  f"inclusions")

    def _header_span(self, keyword: str, name: str, default: A.Span) -> A.Span:
        """The place of ``name`` on the header line that starts with ``keyword`` (header items keep no spans)."""
        for i, line in enumerate(self.lines, 1):
            stripped = line.lstrip()
            if stripped.startswith(keyword + " "):
                col = line.find(name, len(line) - len(stripped) + len(keyword))
                if col >= 0:
                    return A.Span(line=i, column=col + 1, end_line=i, end_column=col + 1 + len(name))
        return default

    def node(self, n: Any) -> None:
        if isinstance(n, A.BoolFact):
            self.bool_fact(n)
        elif isinstance(n, (A.Compare, A.Between, A.InSet)):
            self.comparison(n)
        elif isinstance(n, A.ResultQuant):
            self.result_quant(n)
        elif isinstance(n, A.ParticipationPred):
            if n.window is not None:
                self.window(n.window, allow_half_life=False)
        elif isinstance(n, A.ConditionPred):
            self.concepts(n.concepts + n.excepted, self.cats.conditions, "condition")
            self.attribute_values(n.where)
            if n.allergens:
                self.drugs(n.allergens)
            if n.window is not None:
                self.window(n.window, allow_half_life=False)
                if not n.history and not n.diagnosed:
                    self.error(n.window.span, "a window applies to `history of`, not to `condition` (present now)",
                               "write `history of ... within ...`")
        elif isinstance(n, A.ProcedurePred):
            self.attribute_values(n.where)
            self.concepts(n.concepts + n.excepted, self.cats.procedures, "procedure")
            if n.window is not None:
                self.window(n.window, allow_half_life=False)
        elif isinstance(n, A.TherapyPred):
            self.attribute_values(n.where)
            self.drugs(n.selectors + n.excepted)
            if n.indication:
                self.concepts(n.indication, self.cats.conditions, "condition")
            if n.window is not None:
                self.window(n.window, allow_half_life=True)
            if n.timing == "started" and n.started is not None:
                self.anchor(n.anchor, n.span)
                self.duration(n.started, allow_half_life=False)
        elif isinstance(n, A.DosePred):
            self.attribute_values(n.where)
            self.drugs(n.selectors)
            if n.equivalent is not None and n.equivalent != "prednisone":
                self.error(n.span, f"dose equivalents are expressed as prednisone, not {n.equivalent!r}",
                           "write `as prednisone`")
            if n.window is not None:
                self.window(n.window, allow_half_life=False)
            self.dose_value(n.value, total=n.total)
        elif isinstance(n, A.StableDosePred):
            self.attribute_values(n.where)
            self.drugs(n.selectors)
            self.duration(n.duration, allow_half_life=False)
            self.anchor(n.anchor, n.span)
        elif not isinstance(n, _LOGIC):
            # a node type with no rule here is a bug, never a silently accepted criterion
            raise PlanError(f"the checker has no rule for {type(n).__name__}")

    def bool_fact(self, n: A.BoolFact) -> None:
        fact = self.cats.facts.resolve(n.name)
        if fact is None:
            names = [f.id for f in self.cats.facts if f.type == "bool"]
            hint = _did_you_mean(n.name, names)
            if not hint and self.cats.conditions.resolve(n.name) is not None:
                hint = f"{n.name!r} is a condition: write `condition {n.name}`"
            elif not hint and self.cats.drugs.resolve(n.name) is not None:
                hint = f"{n.name!r} is a drug or class: write `therapy {n.name}`"
            self.error(n.span, f"unknown yes/no fact {n.name!r}", hint)
        elif fact.type != "bool":
            self.error(n.span, f"{n.name!r} is a {fact.type} fact, not yes/no; compare it with a value",
                       f"e.g. `{n.name} >= 1`" if fact.type == "number" else "")
        if n.recency is not None:
            self.window(n.recency, allow_half_life=False)

    # ---- comparisons --------------------------------------------------------------------------
    def comparison(self, n: A.Compare | A.Between | A.InSet) -> None:
        info = resolve_measure(n.measure, self.cats)
        if isinstance(info, tuple):
            self.error(n.measure.span, *info)
            return
        recency = getattr(n, "recency", None)
        if recency is not None:
            if info.kind not in ("analyte", "computed", "ratio", "fact"):
                self.error(recency.span, f"a recency window applies to lab results and recorded facts, not to "
                                         f"{info.label}",
                           "age is counted from the date of birth" if info.kind == "age" else "")
            self.window(recency, allow_half_life=False)
        if isinstance(n, A.InSet):
            self.symbols(info, n.values, n.measure.span)
            return
        values = (n.value,) if isinstance(n, A.Compare) else (n.low, n.high)
        if info.kind in ("sex",) or (info.kind == "fact" and info.fact.type == "enum"):
            ordered = info.kind == "fact" and info.fact.ordered
            if isinstance(n, A.Compare) and (n.op in ("=", "!=") or ordered):
                self.symbols(info, values, n.measure.span)
            else:
                self.error(n.span, f"{info.label} takes = , != or in (...), not an order comparison",
                           "" if isinstance(n, A.Compare) else "its values have no order")
            return
        if info.kind == "fact" and info.fact.type == "bool":
            self.error(n.span, f"{info.id!r} is yes/no: write `{info.id}` or `not {info.id}`")
            return
        units = set()
        for v in values:
            u = self.value(info, v)
            if u is not None:
                units.add(u)
        if isinstance(n, A.Between) and info.kind == "age" and len(units) > 1:
            self.error(n.span, "give both age bounds in the same unit")

    def result_quant(self, n: A.ResultQuant) -> None:
        """``any/every X result <op> value within ...``: X is a lab, vital or score with dated results."""
        info = resolve_measure(n.measure, self.cats)
        if isinstance(info, tuple):
            self.error(n.measure.span, *info)
            return
        if info.kind != "analyte":
            self.error(n.measure.span, f"`{n.quantifier} ... result` compares the dated results of a lab, vital or "
                                       f"score, not {info.label}")
            return
        self.window(n.window, allow_half_life=False)
        self.value(info, n.value)

    def value(self, info: MeasureInfo, v: A.Value) -> str | None:
        if isinstance(v, (A.Symbol, A.Text)):
            self.error(v.span, f"{info.label} is compared with a number, not "
                               f"{(v.name if isinstance(v, A.Symbol) else v.value)!r}")
            return None
        if isinstance(v, A.RefMultiple):
            if info.kind != "analyte":
                self.error(v.span, f"x {v.limit} applies to a lab result with a reference range, not to {info.label}")
            return None
        unit = v.unit
        if info.kind == "age":
            if unit not in TIME_UNITS:
                self.error(v.span, "an age needs a unit of time", f"e.g. `age >= {v.number} years`")
            return unit
        if info.kind == "fact":
            fact = info.fact
            if fact.type == "duration":
                if unit is None or not self._compatible(unit, fact.unit or "month"):
                    self.error(v.span, f"{fact.id} is a duration: give a unit of time",
                               f"e.g. `{fact.id} >= {v.number} months`")
            elif unit is not None and not self._compatible(unit, fact.unit or "1"):
                self.error(v.span, f"{fact.id} is {'a plain number' if not fact.unit else 'in ' + fact.unit}; "
                                   f"{unit!r} cannot apply")
            return unit
        if info.kind == "ratio":
            if unit is not None:
                self.error(v.span, "a ratio of two results is a plain number: remove the unit")
            if not self._compatible(info.analyte.unit, info.denominator.unit):
                self.error(v.span, f"the ratio of {info.analyte.id} ({dimension_name(info.analyte.unit)}) to "
                                   f"{info.denominator.id} ({dimension_name(info.denominator.unit)}) is not a "
                                   f"ratio of like quantities")
            return None
        analyte = info.analyte
        if unit is None:
            if not self._compatible("1", analyte.unit):
                self.error(v.span, f"the threshold for {analyte.id} needs a unit (its results are in "
                                   f"{dimension_name(analyte.unit)}, e.g. {analyte.unit})",
                           f"e.g. `{analyte.id} >= {v.number} {analyte.unit}`")
            return None
        try:
            ok = analyte.accepts(unit)
        except UnitError as exc:
            self.error(v.span, str(exc).splitlines()[0])
            return None
        if not ok:
            try:
                dim = dimension_name(unit)
            except UnitError:
                dim = "an unknown dimension"
            self.error(v.span, f"a threshold in {unit!r} ({dim}) cannot apply to {analyte.name} "
                               f"({dimension_name(analyte.unit)}, e.g. {analyte.unit})")
        return unit

    def _compatible(self, a: str, b: str) -> bool:
        try:
            return compatible(a, b)
        except UnitError:
            return False

    def symbols(self, info: MeasureInfo, values: tuple, span: A.Span) -> None:
        if info.kind == "sex":
            allowed: tuple[str, ...] = SEXES
        elif info.kind == "fact" and info.fact.type == "enum":
            allowed = info.fact.values
        else:
            self.error(span, f"{info.label} is compared with numbers, not with a set of words")
            return
        for v in values:
            word = v.name if isinstance(v, A.Symbol) else v.value if isinstance(v, A.Text) else (
                str(v.number) if isinstance(v, A.Quantity) and v.unit is None and str(v.number) in allowed else None)
            if word is None or word not in allowed:
                shown = word or (str(v.number) if isinstance(v, A.Quantity) else "a number")
                self.error(v.span, f"{info.label} is one of {', '.join(allowed)}, not {shown!r}",
                           _did_you_mean(str(word), list(allowed)))

    def attribute_values(self, tests: tuple) -> None:
        """`where` tests on an attribute with a declared vocabulary (catalog/attributes.toml) name only
        its values (or their synonyms): `stage in (IIA, IIB)`, not `stage = IIBB`."""
        vocab = self.cats.attributes
        stack = list(tests)
        while stack:
            t = stack.pop()
            if isinstance(t, A.AttrAny):
                for option in t.options:
                    stack.extend(option)
                continue
            d = vocab.get(t.name)
            if d is None:
                if not vocab.declared(t.name):
                    self.error(t.span, f"unknown attribute {t.name!r} (attributes are declared in "
                               "catalog/attributes.toml, or in a site catalog's [attributes])",
                               _did_you_mean(t.name, vocab.names()))
                continue
            if t.op in ("true", "false"):
                self.error(t.span, f"{t.name} ({d.name}) is not yes/no: compare it with a value",
                           f"e.g. `{t.name} = {d.values[0]}`")
                continue
            if t.op not in ("=", "!=", "in", "not in"):
                self.error(t.span, f"{t.name} ({d.name}) takes = , != or in (...), not an order comparison")
                continue
            for v in t.values:
                word = _attr_word(v)
                if d.normalize(word) is None:
                    hint = d.suggest(word)
                    self.error(v.span, f"{t.name} ({d.name}) has no value {word!r}",
                               f"did you mean {' or '.join(hint)}?" if hint else
                               f"values: {', '.join(d.values[:12])}{', ...' if len(d.values) > 12 else ''}")

    def dose_value(self, v: A.Value, total: bool = False) -> None:
        if total:
            if not isinstance(v, A.Quantity) or v.unit not in ("mg", "g"):
                self.error(v.span, "a total dose is written in mg (or g)", "e.g. `>= 70 mg`")
        elif not isinstance(v, A.Quantity) or v.unit not in ("mg/day", "mg/d", "mg"):
            self.error(v.span, "a daily dose threshold is written in mg/day", "e.g. `>= 70 mg/day`")

    # ---- names of concepts ----------------------------------------------------------------------
    def concepts(self, refs: tuple[A.Ref, ...], catalog: Any, kind: str) -> None:
        for r in refs:
            if catalog.resolve(r.name) is None:
                hint = _did_you_mean(r.name, [c.id for c in catalog]) or _did_you_mean(
                    r.name, [s for c in catalog for s in c.synonyms])
                other = self.cats.procedures if kind == "condition" else self.cats.conditions
                if not hint and other.resolve(r.name) is not None:
                    hint = f"{r.name!r} is a {'procedure' if kind == 'condition' else 'condition'}"
                self.error(r.span, f"unknown {kind} {r.name!r}", hint)

    def drugs(self, refs: tuple[A.Ref, ...]) -> None:
        for r in refs:
            if self.cats.drugs.resolve(r.name) is None:
                self.error(r.span, f"unknown drug or drug class {r.name!r}", self._drug_hint(r.name))

    def _drug_hint(self, name: str) -> str:
        hint = "; ".join(self.cats.drugs.suggest(name))
        return f"did you mean {hint}?" if hint else ""

    # ---- time ------------------------------------------------------------------------------------
    def window(self, w: A.Window, *, allow_half_life: bool) -> None:
        for d in w.durations:
            self.duration(d, allow_half_life=allow_half_life)
        if not allow_half_life and len(w.durations) > 1:
            self.error(w.span, "max(...) of several durations applies to therapy washouts only")
        self.anchor(w.anchor, w.span)

    def duration(self, d: A.Duration, *, allow_half_life: bool) -> None:
        if d.unit == "half-life" and not allow_half_life:
            self.error(d.span, "half-lives apply to therapy washouts only")
        elif d.unit == "hour":
            self.error(d.span, "windows are counted in days, weeks, months or years", "e.g. `within 2 days`")
        if d.amount != d.amount.to_integral_value() and d.unit != "half-life":
            self.error(d.span, "a window is a whole number of days, weeks, months or years")
        if d.amount > 100_000:
            self.error(d.span, "this window is longer than any record could be")

    def anchor(self, name: str | None, span: A.Span) -> None:
        if name is None or name in self.anchors:
            return
        hint = _did_you_mean(name, list(self.anchors))
        declared = "declared in the header's `anchors`" if self.trial.anchors else "standard"
        self.error(span, f"unknown date anchor {name!r}; the {declared} anchors are {', '.join(self.anchors)}",
                   hint)


def check(trial: A.TrialAst, cats: Catalogs, text: str, filename: str = "<criteria>") -> None:
    """Raise :class:`CriteriaCheckError` listing every problem, or return quietly."""
    checker = _Checker(trial, cats, text, filename)
    checker.run()
    if checker.problems:
        checker.problems.sort(key=lambda p: (p.line, p.column))
        raise CriteriaCheckError(checker.problems)


def _attr_word(v: A.Value) -> str:
    """A `where` value as written: ``IIB``, ``"Stage IIB"``, ``2``."""
    if isinstance(v, A.Symbol):
        return v.name
    if isinstance(v, A.Text):
        return v.value
    if isinstance(v, A.Quantity):
        return str(v.number) + (f" {v.unit}" if v.unit else "")
    return str(v)
