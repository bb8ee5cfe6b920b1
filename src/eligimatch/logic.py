"""Kleene's three-valued logic, and the causes an UNKNOWN carries.

Truth values are small integers ordered FALSE < UNKNOWN < TRUE, so that
AND is ``min``, OR is ``max`` and NOT is ``2 - x``: the result never depends on
the order of the operands.
"""

from __future__ import annotations

from enum import Enum, IntEnum, IntFlag

__all__ = ["Truth", "Cause", "CauseFlag", "FLAG_VALUES", "t_and", "t_or", "t_not", "t_at_least", "t_if"]


class Truth(IntEnum):
    FALSE = 0
    UNKNOWN = 1
    TRUE = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Cause(str, Enum):
    """Why an outcome is UNKNOWN."""

    MISSING = "missing"            # a fact the profile does not hold
    STALE = "stale"                # a result older than the criterion allows
    REVIEW = "review"              # a judgment criterion: only the investigator can decide
    INVALID = "invalid"            # a value that cannot be used (wrong unit, impossible value)
    INDETERMINATE = "indeterminate"  # partial dates allow both outcomes
    CONFLICTING = "conflicting"    # records that should agree (results of one date and time) do not


class CauseFlag(IntFlag):
    NONE = 0
    MISSING = 1
    STALE = 2
    REVIEW = 4
    INVALID = 8
    INDETERMINATE = 16
    CONFLICTING = 32

    def causes(self) -> list[Cause]:
        return [Cause(f.name.lower()) for f in CauseFlag if f and f in self and f.name]


# every combination of CauseFlag members (the tables that map a flag's value to its members use it)
FLAG_VALUES = range(1 << (len(CauseFlag.__members__) - 1))  # NONE is not a bit


def t_and(*values: Truth) -> Truth:
    return Truth(min(values, default=Truth.TRUE))


def t_or(*values: Truth) -> Truth:
    return Truth(max(values, default=Truth.FALSE))


def t_not(value: Truth) -> Truth:
    return Truth(2 - value)


def t_at_least(n: int, values: list[Truth] | tuple[Truth, ...]) -> Truth:
    true = sum(1 for v in values if v == Truth.TRUE)
    unknown = sum(1 for v in values if v == Truth.UNKNOWN)
    if true >= n:
        return Truth.TRUE
    if true + unknown < n:
        return Truth.FALSE
    return Truth.UNKNOWN


def t_if(cond: Truth, then: Truth, otherwise: Truth) -> Truth:
    if cond == Truth.TRUE:
        return then
    if cond == Truth.FALSE:
        return otherwise
    return then if then == otherwise else Truth.UNKNOWN
