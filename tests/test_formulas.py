"""Tests for eligimatch.knowledge._formulas."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligimatch.knowledge import bmi, bsa_mosteller, ckd_epi_2021, cockcroft_gault
from eligimatch.knowledge import convert

CREATININE_MOLAR_MASS = 113.12


# --------------------------------------------------------------------------- #
# Cockcroft-Gault
# --------------------------------------------------------------------------- #


def test_cockcroft_gault_man():
    # (140 - 55) * 90 / (72 * 1.09) = 7650 / 78.48 = 97.48
    crcl = cockcroft_gault(55, 90, 1.09, "male")
    assert crcl == pytest.approx(97, abs=1)
    assert crcl == pytest.approx(7650 / 78.48, rel=1e-12)


def test_cockcroft_gault_woman_with_creatinine_in_umol_per_l():
    scr = convert(85, "µmol/L", "mg/dL", molar_mass=CREATININE_MOLAR_MASS)
    assert scr == pytest.approx(0.96152, abs=1e-5)  # 85 µmol/L × 113.12 g/mol = 9.615 mg/L
    # (140 - 65) * 60 / (72 * 0.96152) * 0.85 = 4500 / 69.229 * 0.85 = 55.25
    crcl = cockcroft_gault(65, 60, scr, "female")
    assert crcl == pytest.approx(55, abs=1)
    assert crcl == pytest.approx(4500 / (72 * scr) * 0.85, rel=1e-12)


def test_cockcroft_gault_female_factor():
    assert cockcroft_gault(40, 70, 1.0, "female") == pytest.approx(0.85 * cockcroft_gault(40, 70, 1.0, "male"))


@pytest.mark.parametrize("sex", ["male", "Male", "MALE", "m", "M", " male "])
def test_sex_spellings_male(sex):
    assert cockcroft_gault(55, 90, 1.09, sex) == cockcroft_gault(55, 90, 1.09, "male")


@pytest.mark.parametrize("sex", ["female", "Female", "F", "f", " FEMALE"])
def test_sex_spellings_female(sex):
    assert cockcroft_gault(55, 90, 1.09, sex) == cockcroft_gault(55, 90, 1.09, "female")


# --------------------------------------------------------------------------- #
# CKD-EPI 2021
# --------------------------------------------------------------------------- #


def test_ckd_epi_2021_man():
    # 142 × (1.2/0.9)^-1.200 × 0.9938^55 = 142 × 0.70808 × 0.71032 = 71.4
    egfr = ckd_epi_2021(55, 1.2, "male")
    assert round(egfr) == 71
    assert egfr == pytest.approx(142 * (1.2 / 0.9) ** -1.2 * 0.9938**55, rel=1e-12)


def test_ckd_epi_2021_woman_above_kappa():
    # 142 × (0.8/0.7)^-1.200 × 0.9938^60 × 1.012 = 84.3
    assert ckd_epi_2021(60, 0.8, "female") == pytest.approx(84.3, abs=0.1)


def test_ckd_epi_2021_below_kappa_uses_alpha():
    # woman, SCr 0.5 < κ 0.7: 142 × (0.5/0.7)^-0.241 × 0.9938^40 × 1.012
    #   = 142 × 1.08447 × 0.77976 × 1.012 = 121.5
    assert ckd_epi_2021(40, 0.5, "female") == pytest.approx(142 * (0.5 / 0.7) ** -0.241 * 0.9938**40 * 1.012, rel=1e-12)
    assert ckd_epi_2021(40, 0.5, "female") == pytest.approx(121.5, abs=0.1)
    # man, SCr 0.7 < κ 0.9: 142 × (0.7/0.9)^-0.302 × 0.9938^40 = 142 × 1.07885 × 0.77976 = 119.5
    assert ckd_epi_2021(40, 0.7, "male") == pytest.approx(119.5, abs=0.1)


def test_ckd_epi_2021_is_continuous_at_kappa():
    for sex, kappa in (("male", 0.9), ("female", 0.7)):
        below = ckd_epi_2021(50, kappa * (1 - 1e-9), sex)
        above = ckd_epi_2021(50, kappa * (1 + 1e-9), sex)
        assert below == pytest.approx(above, rel=1e-6)


# --------------------------------------------------------------------------- #
# Body size
# --------------------------------------------------------------------------- #


def test_bmi():
    assert bmi(70, 175) == pytest.approx(22.857, abs=0.001)
    assert bmi(100, 200) == pytest.approx(25.0)


def test_bsa_mosteller():
    assert bsa_mosteller(70, 175) == pytest.approx(1.8447, abs=0.0001)
    assert bsa_mosteller(36, 100) == pytest.approx(1.0)


# --------------------------------------------------------------------------- #
# Un-computable inputs give None
# --------------------------------------------------------------------------- #

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "args",
    [
        (0, 70, 1.0, "male"),
        (-5, 70, 1.0, "male"),
        (17, 70, 1.0, "male"),
        (121, 70, 1.0, "male"),
        (NAN, 70, 1.0, "male"),
        (50, 0, 1.0, "male"),
        (50, -70, 1.0, "male"),
        (50, NAN, 1.0, "male"),
        (50, INF, 1.0, "male"),
        (50, 70, 0, "male"),
        (50, 70, NAN, "male"),
        (50, 70, 1.0, "other"),
        (50, 70, 1.0, ""),
        (50, 70, 1.0, None),
        (True, 70, 1.0, "male"),
        ("50", 70, 1.0, "male"),
        (50, 70, None, "female"),
    ],
)
def test_cockcroft_gault_uncomputable(args):
    assert cockcroft_gault(*args) is None


@pytest.mark.parametrize(
    "args",
    [(0, 1.0, "male"), (17.9, 1.0, "male"), (50, 0, "female"), (50, -1, "female"), (50, NAN, "male"),
     (INF, 1.0, "male"), (50, 1.0, "unknown"), (50, 1.0, 1), (50, "1.0", "male")],
)
def test_ckd_epi_uncomputable(args):
    assert ckd_epi_2021(*args) is None


@pytest.mark.parametrize("args", [(0, 170), (70, 0), (NAN, 170), (70, INF), (-70, 170), (None, 170), (70, "170"), (1e308, 1e308), (10**400, 170)])
def test_body_size_uncomputable(args):
    assert bmi(*args) is None
    assert bsa_mosteller(*args) is None


def test_adult_age_bounds_are_inclusive():
    assert cockcroft_gault(18, 70, 1.0, "male") is not None
    assert cockcroft_gault(120, 70, 1.0, "male") is not None
    assert ckd_epi_2021(18, 1.0, "female") is not None


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

ages = st.floats(min_value=18, max_value=120)
weights = st.floats(min_value=20, max_value=300)
creatinines = st.floats(min_value=0.1, max_value=20)
sexes = st.sampled_from(["male", "female"])


@settings(max_examples=100, deadline=None)
@given(ages, weights, creatinines, sexes)
def test_cockcroft_gault_properties(age, weight, scr, sex):
    crcl = cockcroft_gault(age, weight, scr, sex)
    assert crcl is not None and math.isfinite(crcl) and crcl > 0
    assert cockcroft_gault(age, weight, scr * 2, sex) == pytest.approx(crcl / 2)
    assert cockcroft_gault(age, weight * 2, scr, sex) == pytest.approx(crcl * 2)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=18, max_value=119), creatinines, sexes)
def test_ckd_epi_decreases_with_age_and_creatinine(age, scr, sex):
    egfr = ckd_epi_2021(age, scr, sex)
    assert egfr is not None and egfr > 0
    assert ckd_epi_2021(age + 1, scr, sex) < egfr
    assert ckd_epi_2021(age, scr * 1.1, sex) < egfr


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.floats(), st.integers(), st.none(), st.text(max_size=3)),
       st.one_of(st.floats(), st.integers(), st.none()), st.one_of(st.floats(), st.integers()),
       st.one_of(st.text(max_size=7), st.none()))
def test_formulas_never_raise(a, b, c, sex):
    for result in (cockcroft_gault(a, b, c, sex), ckd_epi_2021(a, c, sex), bmi(b, c), bsa_mosteller(b, c)):
        assert result is None or (math.isfinite(result) and result > 0)
