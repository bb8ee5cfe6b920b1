"""Derived clinical quantities: creatinine clearance, eGFR, BMI, BSA.

Pure functions of plain floats in the units their names state; no unit
handling here (convert first, e.g. creatinine µmol/L → mg/dL with
``eligimatch.knowledge._units.conversion_factor("µmol/L", "mg/dL", molar_mass=113.12)``).

**Un-computable inputs return None; nothing is raised.**  An input is
un-computable when it is not a real number (``bool`` and strings included), is
NaN or infinite, is ≤ 0, when ``sex`` is not male/female, or when the age is
outside the adult range the equations were derived in (18 to 120 years; use a
paediatric equation such as bedside Schwartz for children).  ``sex`` accepts
``"male"``/``"female"`` and ``"m"``/``"f"`` in any case, surrounding spaces
ignored.

References
----------
* Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum
  creatinine. Nephron 1976;16(1):31-41. doi:10.1159/000180580
* Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based
  equations to estimate GFR without race. N Engl J Med 2021;385:1737-49.
  doi:10.1056/NEJMoa2102953
* Mosteller RD. Simplified calculation of body-surface area. N Engl J Med
  1987;317(17):1098. doi:10.1056/NEJM198710223171717
* WHO. Body mass index: weight (kg) / height (m)².
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., "float | None"])

__all__ = ["cockcroft_gault", "ckd_epi_2021", "bmi", "bsa_mosteller"]

_MIN_AGE, _MAX_AGE = 18.0, 120.0


def _positive(*values: object) -> bool:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        try:
            f = float(v)
        except OverflowError:  # an int beyond float range
            return False
        if not math.isfinite(f) or f <= 0:
            return False
    return True


def _adult(age: object) -> bool:
    return _positive(age) and _MIN_AGE <= age <= _MAX_AGE  # type: ignore[operator]


def _none_on_arithmetic_error(func: F) -> F:
    """Extreme inputs (1e-308 cm) can still underflow to a division by zero: that is un-computable too."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ArithmeticError:  # ZeroDivisionError, OverflowError
            return None

    return wrapper  # type: ignore[return-value]


def _finite(value: float) -> float | None:
    """Extreme but finite inputs can overflow; an infinite result is un-computable."""
    return value if math.isfinite(value) and value > 0 else None


def _sex(sex: object) -> str | None:
    if not isinstance(sex, str):
        return None
    s = sex.strip().casefold()
    if s in ("male", "m"):
        return "male"
    if s in ("female", "f"):
        return "female"
    return None


@_none_on_arithmetic_error
def cockcroft_gault(age_years: float, weight_kg: float, creatinine_mg_dl: float, sex: str) -> float | None:
    """Creatinine clearance in mL/min (Cockcroft & Gault, 1976).

    CrCl = (140 − age) × weight / (72 × SCr), × 0.85 for women, with age in
    years, *actual* body weight in kg and serum creatinine in mg/dL.  Not
    normalised to body surface.  ``None`` for un-computable inputs (see module
    docstring).
    """
    s = _sex(sex)
    if s is None or not _adult(age_years) or not _positive(weight_kg, creatinine_mg_dl):
        return None
    crcl = (140.0 - age_years) * weight_kg / (72.0 * creatinine_mg_dl)
    return _finite(crcl * 0.85 if s == "female" else crcl)


@_none_on_arithmetic_error
def ckd_epi_2021(age_years: float, creatinine_mg_dl: float, sex: str) -> float | None:
    """eGFR in mL/min/1.73 m² by the race-free CKD-EPI 2021 creatinine equation.

    eGFR = 142 × min(SCr/κ, 1)^α × max(SCr/κ, 1)^−1.200 × 0.9938^age [× 1.012 if female],
    κ = 0.7 (female) / 0.9 (male), α = −0.241 (female) / −0.302 (male), SCr in
    mg/dL, age in years (Inker et al., NEJM 2021).  ``None`` for un-computable
    inputs (see module docstring).
    """
    s = _sex(sex)
    if s is None or not _adult(age_years) or not _positive(creatinine_mg_dl):
        return None
    female = s == "female"
    kappa = 0.7 if female else 0.9
    alpha = -0.241 if female else -0.302
    ratio = creatinine_mg_dl / kappa
    egfr = 142.0 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age_years
    return _finite(egfr * 1.012 if female else egfr)


@_none_on_arithmetic_error
def bmi(weight_kg: float, height_cm: float) -> float | None:
    """Body mass index in kg/m²: weight / (height in metres)².  ``None`` if un-computable."""
    if not _positive(weight_kg, height_cm):
        return None
    metres = height_cm / 100.0
    return _finite(weight_kg / (metres * metres))


@_none_on_arithmetic_error
def bsa_mosteller(weight_kg: float, height_cm: float) -> float | None:
    """Body surface area in m² (Mosteller, 1987): √(height_cm × weight_kg / 3600).  ``None`` if un-computable."""
    if not _positive(weight_kg, height_cm):
        return None
    return _finite(math.sqrt(height_cm * weight_kg / 3600.0))
