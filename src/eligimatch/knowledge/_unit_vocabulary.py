"""The vocabulary of clinical units: what the private pint registry defines and the spellings the reader knows.

* :data:`DEFINITIONS`: every definition of the registry :func:`eligimatch.knowledge._units.registry`
  builds (SI prefixes used clinically; length, time, mass, substance, international units, body surface
  and equivalents as base dimensions; the derived units; powers of ten ``tenpow_n``).
* :data:`ATOMS` maps every spelling of a unit word (``mg``, ``dL``, ``mcg``, ``G`` = 10^9, ``hrs``, ``%``,
  count words ...) to an :class:`Atom` -- its pint name, display label and identity; :func:`lookup_atom`
  reads a word case-sensitively first, then (two letters or more) through the case-folded spellings whose
  lower case is unambiguous (:data:`FOLDED`).
* :data:`KNOWN_SPELLINGS`: full unit strings offered by did-you-mean suggestions.

The reader that puts atoms together, and the conversions, are in :mod:`eligimatch.knowledge._units`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MIN_POW10", "MAX_POW10", "DEFINITIONS", "pow10_name", "Atom", "ATOMS", "FOLDED", "COUNT",
    "ONE", "BSA_ATOM", "KNOWN_SPELLINGS", "SUPERSCRIPTS", "SUPER_LABEL", "lookup_atom",
]

#: Powers of ten a unit may hold (10^-18 .. 10^18).
MIN_POW10, MAX_POW10 = -18, 18

# --------------------------------------------------------------------------- #
# The registry's definitions
# --------------------------------------------------------------------------- #

DEFINITIONS = [
    # SI prefixes we accept in clinical units
    "femto- = 1e-15 = f-",
    "pico- = 1e-12 = p-",
    "nano- = 1e-9 = n-",
    "micro- = 1e-6 = u-",
    "milli- = 1e-3 = m-",
    "centi- = 1e-2 = c-",
    "deci- = 1e-1 = d-",
    "kilo- = 1e3 = k-",
    # base dimensions
    "meter = [length] = m",
    "second = [time] = s",
    "gram = [mass] = g",
    "mole = [substance] = mol",
    "international_unit = [international_unit] = IU",
    "bsa_1_73_m2 = [body_surface]",
    "equivalent = [equivalent] = Eq",
    # derived
    "liter = decimeter ** 3 = L = l",
    "molar = mole / liter",
    "minute = 60 * second = min",
    "hour = 60 * minute = h",
    "day = 24 * hour",
    "week = 7 * day",
    "year = 365.25 * day",
    "month = year / 12",
    "pascal = kilogram / meter / second ** 2 = Pa",
    "millimeter_Hg = 133.322387415 * pascal = mmHg",
    "pound = 453.59237 * gram = lb",
    "inch = 2.54 * centimeter = in",
    "percent = 0.01 = %",
    "parts_per_million = 1e-6 = ppm",
    "thousand = 1e3",
    "million = 1e6",
] + [
    f"tenpow_{'m' if n < 0 else ''}{abs(n)} = 1e{n}"
    for n in range(MIN_POW10, MAX_POW10 + 1)
    if n != 0
]

def pow10_name(n: int) -> str:
    """The registry name of 10^n: ``tenpow_9``, ``tenpow_m3``."""
    return f"tenpow_{'m' if n < 0 else ''}{abs(n)}"


# --------------------------------------------------------------------------- #
# Atoms: the words a unit string is made of
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class Atom:
    pint_name: str  # name in our registry; "" for a dimensionless count/annotation
    label: str  # canonical display spelling
    key: str  # identity used to merge repeated atoms in one unit
    plural: str = ""  # display when the atom is the whole unit (time words)


SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
SUPER_LABEL = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")

_PREFIXES = {  # spelling -> (pint prefix, label)
    "f": ("femto", "f"),
    "p": ("pico", "p"),
    "n": ("nano", "n"),
    "u": ("micro", "µ"),
    "m": ("milli", "m"),
    "c": ("centi", "c"),
    "d": ("deci", "d"),
    "k": ("kilo", "k"),
}

# base spelling -> (pint name, label, prefixes allowed)
_PREFIXABLE = {
    "g": ("gram", "g", "fpnumcdk"),
    "L": ("liter", "L", "fpnumcd"),
    "l": ("liter", "L", "fpnumcd"),
    "mol": ("mole", "mol", "fpnum"),
    "m": ("meter", "m", "umc"),
    "s": ("second", "s", "m"),
    "IU": ("international_unit", "IU", "numk"),
    "iU": ("international_unit", "IU", "numk"),
    "U": ("international_unit", "U", "numk"),
    "Eq": ("equivalent", "Eq", "um"),
    "Pa": ("pascal", "Pa", "k"),
}

COUNT = Atom("", "", "count")


def _build_atoms() -> dict[str, Atom]:
    atoms: dict[str, Atom] = {}
    for base, (pname, label, allowed) in _PREFIXABLE.items():
        atoms[base] = Atom(pname, label, pname)
        for p in allowed:
            ppint, plabel = _PREFIXES[p]
            atoms[p + base] = Atom(ppint + pname, plabel + label, ppint + pname)

    def add(names: str, pint_name: str, label: str, plural: str = "") -> None:
        for n in names.split():
            atoms[n] = Atom(pint_name, label, pint_name or label or "count", plural)

    # time
    add("sec secs second seconds", "second", "s")
    add("min mins minute minutes", "minute", "min")
    add("h hr hrs hour hours", "hour", "h")
    add("d day days", "day", "day", "days")
    add("wk wks week weeks", "week", "week", "weeks")
    add("mo mos month months", "month", "month", "months")
    add("a y yr yrs year years", "year", "year", "years")
    # powers of ten written as letters: G/L = 10^9/L, K/µL = 10^3/µL ...
    add("K k thou thousand", pow10_name(3), "10^3")
    add("M million", pow10_name(6), "10^6")
    add("G", pow10_name(9), "10^9")
    add("T", pow10_name(12), "10^12")
    # pressure, mass, length
    add("mmHg", "millimeter_Hg", "mmHg")
    add("lb lbs lb_av pound pounds", "pound", "lb")
    add("ppm", "parts_per_million", "ppm")  # exhaled carbon monoxide (smoking criteria)
    add("in in_i", "inch", "in")
    add("mcg", "microgram", "µg")
    add("mcL", "microliter", "µL")
    # molar concentration: mM = mmol/L (listed so that "mM" is never case-folded to "mm")
    for p in "mun":
        ppint, plabel = _PREFIXES[p]
        atoms[p + "M"] = Atom(ppint + "molar", plabel + "M", ppint + "molar")
    # dimensionless words: counts, scores, ratios
    for word in "cells cell copies copy count score scores points point pts ratio beats".split():
        atoms[word] = COUNT
    atoms["percent"] = Atom("percent", "%", "percent")
    atoms["%"] = atoms["percent"]
    return atoms


ATOMS: dict[str, Atom] = _build_atoms()


def _build_folded(atoms: dict[str, Atom]) -> dict[str, Atom]:
    folded: dict[str, Atom] = {}
    ambiguous: set[str] = set()
    for spelling, atom in atoms.items():
        if len(spelling) < 2:
            continue
        low = spelling.casefold()
        if low in folded and folded[low].key != atom.key:
            ambiguous.add(low)
        folded.setdefault(low, atom)
    for low in ambiguous:
        del folded[low]
    return folded


FOLDED = _build_folded(ATOMS)

BSA_ATOM = Atom("bsa_1_73_m2", "1.73 m²", "bsa_1_73_m2")
ONE = COUNT

#: Spellings offered by did-you-mean suggestions (full unit strings).
KNOWN_SPELLINGS: tuple[str, ...] = (
    "10^9/L", "×10^9/L", "x10^9/L", "10*9/L", "10^12/L", "G/L", "/nL",
    "10^3/µL", "10^3/uL", "K/µL", "K/uL", "/mm³", "/mm3", "cells/µL", "/µL",
    "g/L", "g/dL", "mg/dL", "mg/L", "µg/L", "ng/mL", "pg/mL",
    "µmol/L", "umol/L", "mmol/L", "nmol/L", "pmol/L", "mEq/L",
    "%", "mmHg", "mm[Hg]", "kPa", "mL/min", "mL/min/1.73 m²", "mL/min/1.73m2",
    "mL/min/{1.73_m2}", "IU/mL", "[IU]/mL", "IU/L", "U/L", "[iU]/L", "mIU/L",
    "kg", "g", "lb", "cm", "m", "in", "kg/m²", "m²", "s", "ms", "min", "h",
    "mg", "mg/day", "mg/d", "mg/kg", "mL", "L", "fL", "1", "{score}", "score",
    "points", "ratio", "days", "weeks", "months", "years", "/min", "bpm",
)


def lookup_atom(word: str) -> Atom | None:
    bare = word.replace("[", "").replace("]", "")
    atom = ATOMS.get(bare)
    if atom is None and len(bare) >= 2:
        atom = FOLDED.get(bare.casefold())
    return atom
