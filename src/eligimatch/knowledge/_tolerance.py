"""Numbers compared with the documented tolerance.

A threshold met "exactly" after unit conversion (1.8 mg/dL against 1.5 x ULN of 1.2 mg/dL) must count as
met although binary floating point gives 1.7999999999999998: two numbers within a relative 1e-9 (or an
absolute 1e-12) of each other are equal.  Every comparison of a patient value with a threshold goes through
:func:`compare`; ages, labs, doses and formulas alike.
"""

from __future__ import annotations

import math

__all__ = ["ABS_TOL", "REL_TOL", "compare"]

REL_TOL = 1e-9
ABS_TOL = 1e-12


def compare(a: float, op: str, b: float) -> bool:
    """``a op b`` with the documented tolerance."""
    eq = math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if op == "<=":
        return eq or a < b
    if op == ">=":
        return eq or a > b
    if op == "<":
        return a < b and not eq
    if op == ">":
        return a > b and not eq
    if op == "=":
        return eq
    if op == "!=":
        return not eq
    raise ValueError(f"unknown operator {op!r}")
