"""Kleene's three-valued logic, and the causes an UNKNOWN carries.

Truth values are small integers ordered FALSE < UNKNOWN < TRUE, so that
AND is ``min``, OR is ``max`` and NOT is ``2 - x``: the result never depends on
the order of the operands.
"""

from __future__ import annotations

from enum import Enum, IntEnum, IntFlag

__all__ = ["Truth", "Cause", "CauseFlag", "FLAG_VALUES", "TRUTHS", "t_and", "t_or", "t_and2", "t_or2", "t_not",
           "t_at_least", "t_if"]


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


#: Truth by value (``TRUTHS[x]`` for an int 0..2), without the cost of calling the enum.
TRUTHS = (Truth.FALSE, Truth.UNKNOWN, Truth.TRUE)


# The one Kleene algebra of eligimatch: the compiled criteria (compile.py), the record histories
# (history.py) and the doses use these.  They take Truths (or their int values) and return Truths;
# they are on the evaluation's hot path, so they index TRUTHS rather than call the enum.

def t_and(*values: Truth | int) -> Truth:
    """Kleene AND: the least of the values (TRUE for none)."""
    return TRUTHS[min(values)] if values else Truth.TRUE


def t_or(*values: Truth | int) -> Truth:
    """Kleene OR: the greatest of the values (FALSE for none)."""
    return TRUTHS[max(values)] if values else Truth.FALSE


def t_and2(a: Truth | int, b: Truth | int) -> Truth:
    """``t_and(a, b)`` for exactly two values, the common case, without building a tuple."""
    return TRUTHS[a if a <= b else b]


def t_or2(a: Truth | int, b: Truth | int) -> Truth:
    """``t_or(a, b)`` for exactly two values."""
    return TRUTHS[a if a >= b else b]


def t_not(value: Truth | int) -> Truth:
    """Kleene NOT: TRUE and FALSE swap, UNKNOWN stays."""
    return TRUTHS[2 - value]


def t_at_least(n: int, values: list[Truth] | tuple[Truth, ...]) -> Truth:
    """At least ``n`` of the values TRUE: TRUE when enough are TRUE, FALSE when too few can be."""
    true = unknown = 0
    for v in values:
        if v == Truth.TRUE:
            true += 1
        elif v == Truth.UNKNOWN:
            unknown += 1
    if true >= n:
        return Truth.TRUE
    if true + unknown < n:
        return Truth.FALSE
    return Truth.UNKNOWN


def t_if(cond: Truth | int, then: Truth | int, otherwise: Truth | int) -> Truth:
    """``if cond then a else b``: with cond UNKNOWN, the branches' common value if they agree, else UNKNOWN."""
    if cond == Truth.TRUE:
        return TRUTHS[then]
    if cond == Truth.FALSE:
        return TRUTHS[otherwise]
    return TRUTHS[then] if then == otherwise else Truth.UNKNOWN
