"""Tests for the units of eligimatch.knowledge (parse_unit, conversion_factor, ...)."""

from __future__ import annotations

import itertools
import threading

import pint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligimatch.errors import EligimatchError, UnitError
from eligimatch.knowledge import _units as units  # white-box: the registry singleton and the parse cache
from eligimatch.knowledge import (
    compatible,
    conversion_factor,
    convert,
    dimension_name,
    parse_unit,
    registry,
    unit_label,
)

# Every spelling the brief requires, with the dimension it must read as.
REQUIRED_SPELLINGS = {
    "×10^9/L": "count/volume",
    "x10^9/L": "count/volume",
    "×10⁹/L": "count/volume",
    "10^9/L": "count/volume",
    "10*9/L": "count/volume",
    "10^12/L": "count/volume",
    "G/L": "count/volume",
    "/nL": "count/volume",
    "10^3/µL": "count/volume",
    "10^3/uL": "count/volume",
    "K/µL": "count/volume",
    "K/uL": "count/volume",
    "/mm³": "count/volume",
    "/mm3": "count/volume",
    "cells/µL": "count/volume",
    "/µL": "count/volume",
    "g/L": "mass/volume",
    "g/dL": "mass/volume",
    "mg/dL": "mass/volume",
    "µmol/L": "amount/volume",  # micro sign U+00B5
    "umol/L": "amount/volume",
    "\u03bcmol/L": "amount/volume",  # Greek small letter mu
    "mmol/L": "amount/volume",
    "%": "dimensionless",
    "mmHg": "pressure",
    "mm[Hg]": "pressure",
    "mL/min": "clearance",
    "mL/min/1.73 m²": "clearance/BSA",
    "mL/min/1.73m2": "clearance/BSA",
    "mL/min/{1.73_m2}": "clearance/BSA",
    "IU/mL": "IU/volume",
    "[IU]/mL": "IU/volume",
    "IU/L": "IU/volume",
    "U/L": "IU/volume",
    "[iU]/L": "IU/volume",
    "kg": "mass",
    "g": "mass",
    "cm": "length",
    "m": "length",
    "s": "time",
    "mg": "mass",
    "mg/day": "mass/time",
    "mg/d": "mass/time",
    "1": "dimensionless",
    "": "dimensionless",
    "{score}": "dimensionless",
    "score": "dimensionless",
    "points": "dimensionless",
    "ratio": "dimensionless",
    "days": "time",
    "weeks": "time",
    "months": "time",
    "years": "time",
}


@pytest.mark.parametrize("text,dimension", sorted(REQUIRED_SPELLINGS.items()))
def test_required_spellings_parse_with_the_right_dimension(text, dimension):
    unit = parse_unit(text)
    assert isinstance(unit, pint.Unit)
    assert dimension_name(text) == dimension


@pytest.mark.parametrize("text", ["  mg/dL  ", "\tmg/dL\n", "mg / dL"])
def test_whitespace_is_ignored(text):
    assert conversion_factor(text, "mg/dL") == 1.0
    assert unit_label(text) == "mg/dL"


@pytest.mark.parametrize(
    "text,label",
    [
        ("×10^9/L", "10^9/L"),
        ("x10^9/L", "10^9/L"),
        ("×10⁹/L", "10^9/L"),
        ("10*9/L", "10^9/L"),
        ("G/L", "10^9/L"),
        ("K/uL", "10^3/µL"),
        ("10^3/uL", "10^3/µL"),
        ("umol/L", "µmol/L"),
        ("\u03bcmol/L", "µmol/L"),
        ("mm[Hg]", "mmHg"),
        ("[IU]/mL", "IU/mL"),
        ("[iU]/L", "IU/L"),
        ("mL/min/1.73m2", "mL/min/1.73 m²"),
        ("mL/min/{1.73_m2}", "mL/min/1.73 m²"),
        ("/mm3", "/mm³"),
        ("cells/uL", "/µL"),
        ("mg/d", "mg/day"),
        ("{score}", "1"),
        ("", "1"),
        ("days", "days"),
        ("MG/DL", "mg/dL"),
    ],
)
def test_unit_label_is_canonical(text, label):
    assert unit_label(text) == label


def test_label_uses_the_micro_sign():
    assert unit_label("umol/L") == "\u00b5mol/L"


# --------------------------------------------------------------------------- #
# Equivalences and conversions
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("spelling,value", [("/µL", 1500), ("G/L", 1.5), ("/nL", 1.5), ("K/µL", 1.5), ("10^3/uL", 1.5), ("/mm³", 1500)])
def test_cell_count_equivalences(spelling, value):
    # 1.5 ×10^9/L = 1500 /µL = 1.5 G/L = 1.5 /nL = 1.5 K/µL
    assert convert(1.5, "×10^9/L", spelling) == pytest.approx(value, rel=1e-12)
    assert convert(value, spelling, "×10^9/L") == pytest.approx(1.5, rel=1e-12)


def test_giga_per_litre_is_exactly_per_nanolitre():
    assert conversion_factor("10^9/L", "/nL") == 1.0
    assert conversion_factor("10^12/L", "10^9/L") == 1000.0


def test_mass_concentration_units():
    assert convert(85, "g/L", "g/dL") == pytest.approx(8.5)
    assert conversion_factor("g/dL", "g/L") == pytest.approx(10.0)
    assert conversion_factor("mg/dL", "g/L") == pytest.approx(0.01)


def test_creatinine_mass_to_amount_needs_molar_mass():
    assert convert(2.5, "mg/dL", "µmol/L", molar_mass=113.12) == pytest.approx(221.0, abs=0.01)
    assert convert(221.0, "umol/L", "mg/dL", molar_mass=113.12) == pytest.approx(2.5, abs=0.001)
    with pytest.raises(UnitError) as info:
        conversion_factor("mg/dL", "µmol/L")
    message = str(info.value)
    assert "mg/dL" in message and "µmol/L" in message
    assert "mass/volume" in message and "amount/volume" in message
    assert not compatible("mg/dL", "µmol/L")
    assert compatible("mg/dL", "µmol/L", molar_mass=113.12)


def test_molar_mass_is_ignored_when_dimensions_agree():
    assert conversion_factor("g/L", "g/dL", molar_mass=113.12) == pytest.approx(0.1)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "113", True])
def test_bad_molar_mass_is_a_unit_error(bad):
    with pytest.raises(UnitError):
        conversion_factor("mg/dL", "µmol/L", molar_mass=bad)


def test_normalised_clearance_is_its_own_dimension():
    assert not compatible("mL/min", "mL/min/1.73 m²")
    with pytest.raises(UnitError, match="clearance/BSA"):
        conversion_factor("mL/min", "mL/min/1.73 m²")
    assert conversion_factor("mL/min/1.73m2", "mL/min/{1.73_m2}") == 1.0
    assert conversion_factor("mL/s/1.73 m²", "mL/min/1.73 m²") == pytest.approx(60.0)


def test_international_units_stand_alone():
    assert not compatible("IU/mL", "mg/dL")
    assert not compatible("IU/mL", "mol/L")
    assert not compatible("IU/mL", "1")
    assert not compatible("IU/mL", "mg/dL", molar_mass=100.0)
    assert conversion_factor("IU/mL", "IU/L") == pytest.approx(1000.0)
    # enzyme units: U and IU are the same unit
    assert conversion_factor("U/L", "IU/L") == 1.0
    assert conversion_factor("[iU]/L", "U/L") == 1.0


def test_other_incompatibilities():
    assert not compatible("10^9/L", "%")  # absolute count vs differential percentage
    assert not compatible("10^9/L", "mg/dL")
    assert not compatible("mmHg", "mL/min")
    assert compatible("%", "1")
    assert conversion_factor("%", "1") == pytest.approx(0.01)


def test_time_and_pressure():
    assert conversion_factor("weeks", "days") == pytest.approx(7.0)
    assert conversion_factor("years", "months") == pytest.approx(12.0)
    assert conversion_factor("mmHg", "kPa") == pytest.approx(0.133322387415)
    assert conversion_factor("mg/day", "mg/d") == 1.0


def test_conversion_error_names_units_and_dimensions():
    with pytest.raises(UnitError) as info:
        conversion_factor("mL/min", "IU/L")
    assert "mL/min" in str(info.value) and "clearance" in str(info.value) and "IU/volume" in str(info.value)


def test_compatible_raises_on_unreadable_units():
    with pytest.raises(UnitError):
        compatible("mg/dLL", "mg/dL")


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #


def test_garbage_gets_a_did_you_mean():
    with pytest.raises(UnitError) as info:
        parse_unit("mg/dLL")
    assert "did you mean" in str(info.value)
    assert "'mg/dL'" in str(info.value)
    assert "mg/dL" in info.value.suggestions


def test_unknown_unit_is_named_with_a_hint():
    with pytest.raises(UnitError) as info:
        parse_unit("furlongs")
    message = str(info.value)
    assert "furlongs" in message
    assert "mg/dL" in message  # falls back to examples of what is expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        42,
        b"mg/dL",
        "x" * 65,
        "mg" + " " * 63,
        "mg%",
        "10^99/L",
        "m^9",
        "1.5",
        "mg/",
        "/",
        "((((((m))))))",
        "mg)/dL",
        "(mg/dL",
        "__import__('os')",
        "\x00",
    ],
)
def test_bad_input_is_a_unit_error(text):
    with pytest.raises(UnitError):
        parse_unit(text)


def test_unit_error_is_an_eligimatch_error():
    assert issubclass(UnitError, EligimatchError)


def test_sixty_four_characters_are_allowed():
    text = "mg/dL".ljust(64)
    assert len(text) == 64
    assert unit_label(text) == "mg/dL"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_parse_unit_on_any_text_returns_or_raises_unit_error(text):
    try:
        unit = parse_unit(text)
    except UnitError:
        return
    assert isinstance(unit, pint.Unit)
    assert isinstance(unit_label(text), str)
    assert isinstance(dimension_name(text), str)


UNIT_ALPHABET = "mgdLuµμnkKGT/^*x×.10923{}[]%() _IUiHbs²³⁹⁻-eE"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=UNIT_ALPHABET, max_size=24), st.text(alphabet=UNIT_ALPHABET, max_size=24))
def test_unit_shaped_text_never_leaks_other_exceptions(a, b):
    for call in (lambda: parse_unit(a), lambda: conversion_factor(a, b), lambda: compatible(a, b, molar_mass=113.12)):
        try:
            call()
        except UnitError:
            pass


# --------------------------------------------------------------------------- #
# Round trips over the catalog
# --------------------------------------------------------------------------- #

ALTERNATE_SPELLINGS = [
    "10^9/L", "/nL", "/µL", "K/uL", "G/L", "/mm3", "10^12/L",
    "g/L", "g/dL", "mg/dL", "mg/L", "µmol/L", "mmol/L", "nmol/L",
    "U/L", "IU/L", "[iU]/L", "IU/mL", "mL/min", "mL/s", "mL/min/1.73 m²",
    "%", "1", "s", "min", "kg", "g", "lb", "cm", "m", "in", "mmHg", "kPa", "ms", "/min",
    "kg/m²", "m²",
]


def _catalog_pairs():
    from eligimatch.knowledge import AnalyteCatalog

    pairs = []
    for analyte in AnalyteCatalog.default():
        spellings = [analyte.unit] + [u for u in ALTERNATE_SPELLINGS if analyte.accepts(u)]
        for a, b in itertools.combinations(spellings, 2):
            pairs.append((analyte.id, a, b, analyte.molar_mass))
    return pairs


CATALOG_PAIRS = _catalog_pairs()


def test_round_trip_pairs_cover_molar_conversions():
    assert len(CATALOG_PAIRS) > 100
    assert any(mm is not None and {a, b} == {"mg/dL", "µmol/L"} for _, a, b, mm in CATALOG_PAIRS)


def test_conversion_round_trip_over_catalog_pairs():
    failures = []
    for analyte_id, a, b, molar_mass in CATALOG_PAIRS:
        forward = conversion_factor(a, b, molar_mass=molar_mass)
        backward = conversion_factor(b, a, molar_mass=molar_mass)
        if forward * backward != pytest.approx(1.0, rel=1e-9):
            failures.append((analyte_id, a, b, forward, backward))
    assert failures == []


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(CATALOG_PAIRS), st.floats(min_value=1e-6, max_value=1e6))
def test_convert_there_and_back_returns_the_value(pair, value):
    _, a, b, molar_mass = pair
    there = convert(value, a, b, molar_mass=molar_mass)
    assert convert(there, b, a, molar_mass=molar_mass) == pytest.approx(value, rel=1e-9)


# --------------------------------------------------------------------------- #
# The registry
# --------------------------------------------------------------------------- #


def test_registry_is_private_and_single():
    reg = registry()
    assert reg is registry()
    assert isinstance(reg, pint.UnitRegistry)
    assert parse_unit("mg/dL")._REGISTRY is reg
    # pint's application registry is a different object, never replaced by us
    assert pint.application_registry.get() is not reg


def test_registry_is_built_once_under_concurrency(monkeypatch):
    monkeypatch.setattr(units, "_registry", None)
    results = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(registry())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert all(r is results[0] for r in results)


def test_parse_unit_is_cached():
    parse_unit("ng/mL")
    before = units._parse_cached.cache_info().hits
    first = parse_unit("ng/mL")
    assert parse_unit("ng/mL") is first
    assert units._parse_cached.cache_info().hits >= before + 2


def test_source_never_calls_eval():
    import inspect

    source = inspect.getsource(units)
    assert "eval(" not in source
    assert "set_application_registry(" not in source
