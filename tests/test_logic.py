"""Kleene's three-valued logic: the laws, in both the truth tables and compiled criteria."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

import eligimatch
from eligimatch.logic import Truth, t_and, t_at_least, t_if, t_not, t_or

T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
truths = st.sampled_from([T, F, U])


def test_truth_tables():
    assert t_and(F, U) == F and t_and(U, F) == F
    assert t_or(T, U) == T and t_or(U, T) == T
    assert t_and(T, U) == U and t_or(F, U) == U
    assert t_not(U) == U and t_not(T) == F and t_not(F) == T


@given(truths, truths)
def test_commutative(a, b):
    assert t_and(a, b) == t_and(b, a)
    assert t_or(a, b) == t_or(b, a)


@given(truths, truths)
def test_de_morgan(a, b):
    assert t_not(t_and(a, b)) == t_or(t_not(a), t_not(b))
    assert t_not(t_or(a, b)) == t_and(t_not(a), t_not(b))


@given(truths, truths)
def test_absorption(a, b):
    assert t_and(a, t_or(a, b)) == a
    assert t_or(a, t_and(a, b)) == a


@given(truths, truths, truths)
def test_associative_and_distributive(a, b, c):
    assert t_and(a, t_and(b, c)) == t_and(t_and(a, b), c)
    assert t_and(a, t_or(b, c)) == t_or(t_and(a, b), t_and(a, c))


@given(st.lists(truths, min_size=1, max_size=6), st.data())
def test_at_least_bounds(values, data):
    n = data.draw(st.integers(1, len(values)))
    r = t_at_least(n, values)
    # at least 1 of = any of; at least len of = all of
    if n == 1:
        assert r == t_or(*values)
    if n == len(values):
        assert r == t_and(*values)
    # order does not matter
    assert r == t_at_least(n, list(reversed(values)))


@given(truths, truths, truths)
def test_if_then_else_unknown_condition(c, a, b):
    r = t_if(c, a, b)
    if c == U:
        assert r == (a if a == b else U)
    # equivalent to (c and a) or (not c and b) except where a == b settles an unknown condition
    classic = t_or(t_and(c, a), t_and(t_not(c), b))
    assert r == classic or (c == U and a == b)


# ---- the same laws, through the compiled language ---------------------------------------

# three yes/no facts whose presence and value the test controls
FACTS = ["pregnant", "breastfeeding", "consent_signed"]


def _patient(values: tuple) -> eligimatch.Patient:
    facts = {name: v for name, v in zip(FACTS, values) if v is not None}
    return eligimatch.Patient(facts=facts)


def _truth_of(expr: str, patient: eligimatch.Patient) -> str:
    trial = eligimatch.compile_trial(f"inclusion:\n  - C: {expr}\n")
    return eligimatch.match(patient, trial, as_of=date(2026, 1, 1)).criteria[0].outcome.value


EXPR_PAIRS = [
    ("not (pregnant and breastfeeding)", "not pregnant or not breastfeeding"),
    ("not (pregnant or breastfeeding)", "not pregnant and not breastfeeding"),
    ("pregnant and breastfeeding", "breastfeeding and pregnant"),
    ("pregnant or (pregnant and breastfeeding)", "pregnant"),
    ("pregnant and (breastfeeding or consent_signed)",
     "(pregnant and breastfeeding) or (pregnant and consent_signed)"),
    ("all of (pregnant, breastfeeding)", "pregnant and breastfeeding"),
    ("any of (pregnant, breastfeeding)", "pregnant or breastfeeding"),
    ("at least 1 of (pregnant, breastfeeding, consent_signed)", "pregnant or breastfeeding or consent_signed"),
    ("not not pregnant", "pregnant"),
    ("if pregnant then breastfeeding else consent_signed",
     "if not pregnant then consent_signed else breastfeeding"),
]


def test_laws_hold_in_compiled_criteria():
    for left, right in EXPR_PAIRS:
        for values in itertools.product([True, False, None], repeat=3):
            p = _patient(values)
            assert _truth_of(left, p) == _truth_of(right, p), (left, right, values)


def test_and_or_do_not_depend_on_operand_order_for_unknown():
    p = _patient((None, False, True))  # pregnant unknown, breastfeeding false, consent true
    assert _truth_of("pregnant and breastfeeding", p) == "false"
    assert _truth_of("breastfeeding and pregnant", p) == "false"
    assert _truth_of("pregnant or consent_signed", p) == "true"
    assert _truth_of("consent_signed or pregnant", p) == "true"
    assert _truth_of("not pregnant", p) == "unknown"
