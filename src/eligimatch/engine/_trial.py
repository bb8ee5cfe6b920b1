"""A compiled trial: immutable, shareable between threads, picklable for processes.

Pickling carries the criteria text and options, not the closures: a process that
unpickles a trial compiles it again (milliseconds), so what it runs is exactly
what the text says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from eligimatch.language import ast as A

__all__ = ["CompiledTrial", "CompiledCriterion", "TrialOptions"]


@dataclass(frozen=True)
class TrialOptions:
    """Site or trial settings that are not in the criteria text.

    ``reference_ranges``: default reference ranges for ``x ULN`` / ``x LLN`` when a
    result carries none, as ``{analyte_id: (low, high, unit)}`` (low or high may be None).
    """

    reference_ranges: Mapping[str, tuple[float | None, float | None, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # read-only, and a copy: a compiled trial cannot change behind its closures (or its pickles)
        ranges = {k: tuple(v) for k, v in dict(self.reference_ranges).items()}
        object.__setattr__(self, "reference_ranges", MappingProxyType(ranges))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.reference_ranges.items())))

    def __reduce__(self):
        return (TrialOptions, (dict(self.reference_ranges),))


@dataclass(frozen=True)
class CompiledCriterion:
    id: str
    kind: str  # "inclusion" | "exclusion"
    text: str | None
    cohort: str | None
    line: int
    source: str  # the expression, rendered canonically
    needs: tuple[str, ...]  # the data it reads
    judgment: bool  # only the investigator can decide it
    fn: Callable[[Any], tuple] = field(repr=False, compare=False)
    # an exclusion written `<data> and judgment`: when the data part is met, the patient is excluded
    # unless the investigator judges the exception applies
    judgment_exception: bool = False
    drafted: bool = False  # marked `draft`: a machine wrote it from the registry text; to be reviewed


@dataclass(frozen=True)
class CompiledTrial:
    """A compiled trial: its criteria checked against the catalogs and ready to evaluate; immutable.

    Made by :func:`~eligimatch.load_trial` or :func:`~eligimatch.compile_trial`; evaluated by
    :func:`~eligimatch.match`.  It pickles as its text and recompiles (for worker processes).

        >>> import eligimatch
        >>> trial = eligimatch.load_trial("examples/trials/NCT05621486.elig")
        >>> trial.id, trial.anchors
        ('NCT05621486', ('screening', 'apheresis', 'enrollment'))
    """

    id: str | None
    title: str | None
    anchors: tuple[str, ...]
    lab_recency: Any  # the plan's Window (eligimatch.plan.Window) of `labs within ...`, or None
    criteria: tuple[CompiledCriterion, ...]
    cohorts: tuple[tuple[str, str | None, tuple[CompiledCriterion, ...]], ...]
    ast: A.TrialAst = field(repr=False)
    text: str = field(repr=False)
    filename: str = "<criteria>"
    catalogs: Any = field(default=None, repr=False, compare=False)
    options: TrialOptions = field(default_factory=TrialOptions, repr=False)
    limits: Any = field(default=None, repr=False, compare=False)
    fact_recency: Any = None  # the plan's Window of `facts within ...`, or None
    #: the resolved plan (:class:`eligimatch.plan.Plan`): the input of every backend
    plan: Any = field(default=None, repr=False, compare=False)

    def all_criteria(self) -> tuple[CompiledCriterion, ...]:
        return self.criteria + tuple(c for _, _, cs in self.cohorts for c in cs)

    def __reduce__(self):
        return (_recompile, (self.text, self.filename, self.catalogs, self.options, self.limits))


def _recompile(text: str, filename: str, catalogs: Any, options: TrialOptions, limits: Any) -> CompiledTrial:
    from eligimatch.engine._compile import compile_trial

    return compile_trial(text, filename=filename, catalogs=catalogs, options=options, limits=limits)
