"""Bounds on what eligimatch reads: criteria texts (see :mod:`eligimatch.language._parser`) and patient documents.

A module of its own so that ``import eligimatch`` does not import the parser
(and lark) before a trial is compiled.  ``docs/reliability.md`` ("Limits")
lists every bound and why it is there.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS", "InputLimits", "INPUT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    """Bounds on what a criteria text may hold.  Each is configurable.

    >>> import eligimatch
    >>> eligimatch.Limits().max_depth
    64
    >>> trial = eligimatch.load_trial("examples/trials/NCT05621486.elig", limits=eligimatch.Limits(max_criteria=500))
    """

    max_chars: int = 1_000_000    # characters in the text (a 10 MB file fails before it is read further)
    max_depth: int = 64           # nesting of parentheses, `not`s and sub-expressions
    max_criteria: int = 2_000     # criteria in the file, cohorts included
    max_number_length: int = 40   # characters in one number (a 10,000-digit number is refused)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class InputLimits:
    """Bounds on one patient document (a profile, a FHIR bundle, one line of a JSON Lines file).

    A document over a bound is refused with an error naming the bound, before
    it is validated: memory stays proportional to what the bounds allow, and a
    runaway export fails in a second rather than after minutes of swapping.
    The defaults are far above any one patient's screening data (a patient
    with ten years of daily laboratory panels has ~40,000 results).

    >>> import eligimatch
    >>> eligimatch.InputLimits().max_observations
    100000
    """

    max_bytes: int = 64 * 1024 * 1024   # bytes of one patient file, counted as read (not as the file claims)
    max_observations: int = 100_000     # results in `observations`
    max_records: int = 20_000           # records in each of `conditions`, `therapies`, `procedures`
    max_facts: int = 1_000              # entries in `facts` (and in `anchors`)
    max_line_bytes: int = 16 * 1024 * 1024  # bytes of one line of a JSON Lines file of patients


INPUT_LIMITS = InputLimits()
