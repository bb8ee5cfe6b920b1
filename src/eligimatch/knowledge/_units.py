"""Clinical units: reading them, labelling them and converting between them.

Protocols and laboratory feeds write the same unit in many ways
(``×10^9/L``, ``x10^9/L``, ``10*9/L``, ``G/L``, ``/nL``, ``K/µL`` are all one
unit of cell concentration).  This module reads those spellings into units of a
small, private `pint <https://pint.readthedocs.io>`_ registry and converts
values between them.

Design
------
* **A private registry.**  :func:`registry` builds, once and under a lock, a
  ``pint.UnitRegistry`` that starts *empty* and holds only the definitions in
  :data:`~eligimatch.knowledge._unit_vocabulary.DEFINITIONS`
  (:mod:`eligimatch.knowledge._unit_vocabulary`: the registry and the unit words, the *atoms*).  pint's default and application registries are never
  touched, so importing this module has no global side effect, and pint's large
  default vocabulary (where ``G`` is the gravitational constant and ``U`` is
  µmol/min) cannot leak a surprising meaning into eligibility decisions.
* **Our own reader, not pint's string parser.**  :func:`parse_unit` scans the
  text with a handful of regular expressions into known *atoms* (``mg``,
  ``dL``, ``10^9``, ``1.73 m²``...), exponents and the operators ``/``, ``.``,
  ``*``, ``·``, ``×`` and juxtaposition, then multiplies the corresponding pint
  units together.  Nothing is ever evaluated; the text is capped at
  :data:`MAX_UNIT_LENGTH` characters and exponents at ±4.  Every failure,
  including any exception escaping pint, surfaces as
  :class:`~eligimatch.errors.UnitError`.
* **UCUM by a small table, not ucumvert.**  Lab feeds (HL7 v2 OBX-6, FHIR
  ``Quantity.code``) send UCUM codes, and the UCUM forms met in practice here are
  few: ``10*9/L``, ``mm[Hg]``, ``[IU]/mL``, ``[iU]/L``, ``mL/min/{1.73_m2}``,
  ``{score}``, ``/uL``.  They are covered by the atom table (``_unit_vocabulary.ATOMS``) (square
  brackets are dropped, ``{annotations}`` are dimensionless, ``10*n``/``10^n``
  are powers of ten).  ``ucumvert`` 0.3.2 was read and rejected: it needs the
  full UCUM grammar (a lark parser generated from ``ucum-essence.xml``), it
  loads its definitions into pint's *application* registry unless handed one,
  it reads only strict UCUM (not ``×10⁹/L``, ``K/µL`` or ``mL/min/1.73 m²``), and
  it defines ``[IU]`` as dimensionless, which would make IU/mL comparable with a
  plain number.
* **Dimensions.**  Base dimensions are length, time, mass, substance (mole),
  ``[international_unit]``, ``[body_surface]`` and ``[equivalent]``:

  - *Counts are dimensionless*: ``cells``, ``copies``, ``{cells}`` are 1, so
    ``10^9/L``, ``/nL`` and ``cells/µL`` are all "count/volume".
  - *International units* (``IU``, ``[IU]``, ``[iU]``) are their own base
    dimension, comparable only with each other, never with moles or grams.
    The enzyme unit ``U`` (ALT, AST, ALP...) is treated as the *same* unit as
    ``IU`` (1 U/L = 1 IU/L), the convention of clinical laboratories; we do not
    use the SI identity U = µmol/min, and katal is not supported.
  - *Body-surface-normalised clearance*: ``1.73 m²`` in ``mL/min/1.73 m²`` is a
    pseudo-unit ``bsa_1_73_m2`` of its own dimension ``[body_surface]``, so
    eGFR (mL/min/1.73 m²) and creatinine clearance (mL/min) are *not*
    comparable: converting one into the other needs the patient's BSA.
  - *Equivalents* (``mEq/L``) are their own dimension: mEq ↔ mmol needs the
    ion's valence, which a unit string does not carry.
* **Mass ↔ amount.**  ``mg/dL`` ↔ ``µmol/L`` is possible only with a molar
  mass (g/mol) passed to :func:`conversion_factor`.
* **Case.**  Spellings are matched case-sensitively first (``G`` is 10^9, ``g``
  is gram, ``M`` is 10^6, ``m`` is metre).  Only if that fails is an atom of two
  or more letters matched case-insensitively against the spellings whose lower
  case form is unambiguous, so all-capitals feeds (``MG/DL``, ``UMOL/L``,
  ``ML/MIN``) are read; single letters are never case-folded.
* **Caching.**  :func:`parse_unit`, :func:`unit_label` and
  :func:`conversion_factor` are cached with bounded ``functools.lru_cache``.

Public API: :func:`registry`, :func:`parse_unit`, :func:`unit_label`,
:func:`conversion_factor`, :func:`convert`, :func:`compatible`,
:func:`dimension_name`, :data:`KNOWN_SPELLINGS`.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eligimatch.errors import UnitError
from eligimatch.knowledge._unit_vocabulary import (
    ATOMS,
    BSA_ATOM,
    DEFINITIONS,
    KNOWN_SPELLINGS,
    MAX_POW10,
    MIN_POW10,
    ONE,
    SUPER_LABEL,
    SUPERSCRIPTS,
    Atom,
    lookup_atom,
    pow10_name,
)

if TYPE_CHECKING:  # pint is imported on first use (registry()): it is slow to import
    import pint

__all__ = [
    "MAX_UNIT_LENGTH",
    "KNOWN_SPELLINGS",
    "registry",
    "parse_unit",
    "unit_label",
    "conversion_factor",
    "convert",
    "compatible",
    "dimension_name",
]

#: Longer unit strings are refused outright (hostile-input guard).
MAX_UNIT_LENGTH = 64
_MAX_EXPONENT = 4

# --------------------------------------------------------------------------- #
# The registry
# --------------------------------------------------------------------------- #

_registry: pint.UnitRegistry | None = None
_registry_lock = threading.Lock()


def registry() -> pint.UnitRegistry:
    """The module's private pint registry, built once on first use (thread-safe)."""
    global _registry
    reg = _registry
    if reg is None:
        with _registry_lock:
            reg = _registry
            if reg is None:
                import pint

                reg = pint.UnitRegistry(None, cache_folder=None)
                for line in DEFINITIONS:
                    reg.define(line)
                _registry = reg
    return reg



# --------------------------------------------------------------------------- #
# The reader
# --------------------------------------------------------------------------- #

# "1.73 m²", "1.73m2", "{1.73_m2}", "(1.73 m^2)", "1.73 sq m"  (after superscripts -> ^n)
_BSA_RE = re.compile(
    r"\(?\s*\{?\s*1[.,]73\s*_?\s*(?:m\s*(?:\^\s*2|2|\*\*\s*2)|sq\.?\s*m)\s*\}?\s*\)?",
    re.IGNORECASE,
)
# "x10^9", "×10⁹", "10*9" (UCUM), "10**9", "x10E3"
_POW10_RE = re.compile(r"(?:[x×X*]\s*)?10\s*(?:\^|\*\*|\*|[eE])\s*([+-]?\d{1,3})(?!\d)")
_ANNOT_RE = re.compile(r"\{([^{}]{0,40})\}")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
_ATOM_RE = re.compile(
    r"((?:[A-Za-z_']|\[[A-Za-z_']{1,10}\])+)"  # letters, optionally with [bracketed] parts
    r"(?:\s*(?:\^|\*\*)\s*([+-]?\d{1,3})|([+-]?\d{1,2})(?![\d.,]))?"  # exponent: ^2, **2 or bare 2
)
_OP_RE = re.compile(r"[/.*×]")
_SUPERSCRIPT_RUN = re.compile(r"([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_PER_RE = re.compile(r"\s+per\s+", re.IGNORECASE)
_MMHG_RE = re.compile(r"mm\s*\[?\s*hg\s*\]?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Parsed:
    unit: pint.Unit
    label: str


def _normalise(text: str) -> str:
    s = text.strip()
    s = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group(1).translate(SUPERSCRIPTS), s)
    # full-width letters, "㎎", "㎖"... (superscripts were made explicit first: NFKC would turn 10⁹ into 109)
    s = unicodedata.normalize("NFKC", s)
    if len(s) > 2 * MAX_UNIT_LENGTH:  # NFKC can expand a character into many
        raise UnitError(f"unit text is too long after normalisation: {text[:20]!r}...")
    s = s.replace("\u00b5", "u").replace("\u03bc", "u")  # micro sign, Greek mu
    s = s.replace("\u2212", "-").replace("\u2013", "-")  # minus sign, en dash
    for dot in ("\u00b7", "\u22c5", "\u2219", "\u2022"):
        s = s.replace(dot, ".")
    s = _PER_RE.sub("/", s)
    s = _MMHG_RE.sub("mmHg", s)
    return s


class _Reader:
    """Recursive-descent reader over the normalised text.

    term      := ["/"] component { [op] component }
    component := pow10 | bsa | annotation | "1" | atom [exponent] | "(" term ")"
    op        := "/" | "." | "*" | "×"        (juxtaposition multiplies)
    Operators apply left to right, as in UCUM: ``a/b.c`` is ``(a/b)·c``.
    """

    def __init__(self, text: str, original: str):
        self.s = text
        self.i = 0
        self.original = original
        self.depth = 0

    # -- helpers
    def _skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def _fail(self, message: str, bad: str | None = None) -> UnitError:
        return _unit_error(self.original, message, bad)

    # -- grammar
    def read(self) -> list[tuple[Atom, int]]:
        factors = self._term()
        self._skip_ws()
        if self.i < len(self.s):
            raise self._fail(f"unexpected {self.s[self.i]!r} at position {self.i + 1}")
        return factors

    def _term(self) -> list[tuple[Atom, int]]:
        out: list[tuple[Atom, int]] = []
        self._skip_ws()
        sign = 1
        if self.s.startswith("/", self.i):
            self.i += 1
            sign = -1
        out += [(a, e * sign) for a, e in self._component()]
        while True:
            self._skip_ws()
            if self.i >= len(self.s) or self.s[self.i] == ")":
                return out
            sign = 1
            m = _OP_RE.match(self.s, self.i)
            # "x10^9" / "*10" are handled by the pow10 rule, not as operators
            if m and not _POW10_RE.match(self.s, self.i):
                sign = -1 if m.group() == "/" else 1
                self.i = m.end()
                self._skip_ws()
            out += [(a, e * sign) for a, e in self._component()]

    def _component(self) -> list[tuple[Atom, int]]:
        self._skip_ws()
        s, i = self.s, self.i
        if i >= len(s):
            raise self._fail("a unit is missing after an operator")
        if s[i] == "(" and not _BSA_RE.match(s, i):
            self.depth += 1
            if self.depth > 3:
                raise self._fail("too many nested parentheses")
            self.i += 1
            inner = self._term()
            if not s.startswith(")", self.i):
                raise self._fail("unbalanced parenthesis")
            self.i += 1
            self.depth -= 1
            return inner
        m = _BSA_RE.match(s, i)
        if m:
            self.i = m.end()
            return [(BSA_ATOM, 1)]
        m = _POW10_RE.match(s, i)
        if m:
            n = int(m.group(1))
            if not (MIN_POW10 <= n <= MAX_POW10) or n == 0:
                raise self._fail(f"power of ten 10^{n} is out of range")
            self.i = m.end()
            return [(Atom(pow10_name(n), f"10^{n}", pow10_name(n)), 1)]
        m = _ANNOT_RE.match(s, i)
        if m:  # UCUM annotation: {score}, {cells} ... dimensionless
            self.i = m.end()
            return [(ONE, 1)]
        if s[i] == "%":
            self.i += 1
            return [(ATOMS["%"], 1)]
        m = _NUMBER_RE.match(s, i)
        if m:
            if m.group() != "1":
                raise self._fail(f"a numeric factor ({m.group()}) is not a unit; use 10^n for powers of ten")
            self.i = m.end()
            return [(ONE, 1)]
        m = _ATOM_RE.match(s, i)
        if m:
            word = m.group(1)
            exp_text = m.group(2) or m.group(3)
            exp = int(exp_text) if exp_text else 1
            if exp == 0 or abs(exp) > _MAX_EXPONENT:
                raise self._fail(f"exponent {exp} is not allowed")
            if word.casefold() == "bpm":  # beats per minute
                self.i = m.end()
                return [(ATOMS["min"], -exp)]
            atom = lookup_atom(word)
            if atom is None:
                raise self._fail(f"unknown unit {word!r}", word)
            self.i = m.end()
            return [(atom, exp)]
        raise self._fail(f"unexpected {s[i]!r} at position {i + 1}")


def _unit_error(text: object, message: str, bad: str | None = None) -> UnitError:
    shown = text if isinstance(text, str) else repr(text)
    suggestions: list[str] = []
    if isinstance(text, str) and text.strip():
        suggestions = difflib.get_close_matches(text.strip(), KNOWN_SPELLINGS, n=3, cutoff=0.6)
        if not suggestions and bad:
            suggestions = difflib.get_close_matches(bad, list(ATOMS), n=3, cutoff=0.6)
    if suggestions:
        hint = "did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
    else:
        hint = "expected a clinical unit such as 'mg/dL', 'µmol/L', '10^9/L', 'g/L', '%' or 'mL/min'"
    err = UnitError(f"cannot read unit {shown!r}: {message}; {hint}")
    err.suggestions = suggestions  # type: ignore[attr-defined]
    return err


def _render(factors: list[tuple[Atom, int]]) -> str:
    def piece(atom: Atom, exp: int) -> str:
        return atom.label + (str(exp).translate(SUPER_LABEL) if exp != 1 else "")

    num = [(a, e) for a, e in factors if e > 0 and a.label]
    den = [(a, -e) for a, e in factors if e < 0 and a.label]
    # powers of ten first: "10^9/L", not "L⁻¹·10^9"
    num.sort(key=lambda ae: not ae[0].key.startswith("tenpow_"))
    if len(num) == 1 and not den and num[0][1] == 1 and num[0][0].plural:
        return num[0][0].plural
    out = "·".join(piece(a, e) for a, e in num)
    for a, e in den:
        out += "/" + piece(a, e)
    return out or "1"


@functools.lru_cache(maxsize=2048)
def _parse_cached(text: str) -> _Parsed:
    normalised = _normalise(text)
    if not normalised or normalised == "1":
        return _Parsed(registry().dimensionless, "1")
    factors = _Reader(normalised, text).read()
    # merge repeated atoms, keep first-appearance order
    merged: dict[str, list] = {}
    for atom, exp in factors:
        if atom.key in merged:
            merged[atom.key][1] += exp
        else:
            merged[atom.key] = [atom, exp]
    final = [(a, e) for a, e in merged.values() if e != 0]
    if any(a.key == "percent" for a, _ in final) and len([a for a, _ in final if a.label]) > 1:
        raise _unit_error(text, "'%' cannot be combined with other units (for the old 'mg%' write 'mg/dL')")
    if any(abs(e) > _MAX_EXPONENT for _, e in final):
        raise _unit_error(text, "exponent too large")
    reg = registry()
    unit = reg.dimensionless
    for atom, exp in final:
        if atom.pint_name:
            unit = unit * reg.Unit(atom.pint_name) ** exp
    return _Parsed(unit, _render(final))


def _parse(text: object) -> _Parsed:
    if not isinstance(text, str):
        raise UnitError(f"a unit must be a string, not {type(text).__name__}")
    if len(text) > MAX_UNIT_LENGTH:
        raise UnitError(f"unit text is longer than {MAX_UNIT_LENGTH} characters: {text[:20]!r}...")
    try:
        return _parse_cached(text.strip())
    except UnitError:
        raise
    except Exception as exc:  # anything from pint or re: never let it escape raw
        raise _unit_error(text, f"{type(exc).__name__}: {exc}") from exc


def parse_unit(text: str) -> pint.Unit:
    """Read a clinical unit string into a unit of :func:`registry`.

    Surrounding whitespace is ignored; ``""`` and ``"1"`` are dimensionless.
    Raises :class:`UnitError` (with a did-you-mean when one is close; the
    candidates are also in the error's ``suggestions`` attribute) for anything
    unreadable, for non-strings and for strings over :data:`MAX_UNIT_LENGTH`.
    """
    return _parse(text).unit


def unit_label(text: str) -> str:
    """Canonical display label: ``"x10^9/L"`` → ``"10^9/L"``, ``"umol/L"`` → ``"µmol/L"``.

    Count words and annotations are dropped (``"cells/uL"`` → ``"/µL"``), a
    dimensionless unit is ``"1"``, a lone time unit is plural (``"days"``).
    """
    return _parse(text).label


# --------------------------------------------------------------------------- #
# Dimensions and conversions
# --------------------------------------------------------------------------- #

_DIM_WORDS = {
    "[length]": "length",
    "[time]": "time",
    "[mass]": "mass",
    "[substance]": "amount",
    "[international_unit]": "IU",
    "[body_surface]": "BSA",
    "[equivalent]": "equivalents",
}

_NAMED_DIMENSIONS: dict[frozenset, str] = {
    frozenset(): "dimensionless",
    frozenset({("[length]", -3)}): "count/volume",
    frozenset({("[mass]", 1), ("[length]", -3)}): "mass/volume",
    frozenset({("[substance]", 1), ("[length]", -3)}): "amount/volume",
    frozenset({("[international_unit]", 1), ("[length]", -3)}): "IU/volume",
    frozenset({("[equivalent]", 1), ("[length]", -3)}): "equivalents/volume",
    frozenset({("[length]", 3), ("[time]", -1)}): "clearance",
    frozenset({("[length]", 3), ("[time]", -1), ("[body_surface]", -1)}): "clearance/BSA",
    frozenset({("[mass]", 1), ("[length]", -1), ("[time]", -2)}): "pressure",
    frozenset({("[time]", 1)}): "time",
    frozenset({("[time]", -1)}): "frequency",
    frozenset({("[mass]", 1)}): "mass",
    frozenset({("[substance]", 1)}): "amount",
    frozenset({("[international_unit]", 1)}): "IU",
    frozenset({("[length]", 1)}): "length",
    frozenset({("[length]", 2)}): "area",
    frozenset({("[length]", 3)}): "volume",
    frozenset({("[mass]", 1), ("[time]", -1)}): "mass/time",
    frozenset({("[mass]", 1), ("[length]", -2)}): "mass/area",
    frozenset({("[body_surface]", 1)}): "BSA",
}


def _dims(unit: pint.Unit) -> dict[str, int]:
    return {k: int(v) for k, v in dict(unit.dimensionality).items() if v}  # type: ignore[arg-type]  # pint: int or float exponents


def _dims_name(dims: dict[str, int]) -> str:
    named = _NAMED_DIMENSIONS.get(frozenset(dims.items()))
    if named:
        return named
    pos = [f"{_DIM_WORDS.get(k, k)}{'^' + str(v) if v != 1 else ''}" for k, v in dims.items() if v > 0]
    neg = [f"{_DIM_WORDS.get(k, k)}{'^' + str(-v) if v != -1 else ''}" for k, v in dims.items() if v < 0]
    return "·".join(pos or ["1"]) + "".join("/" + n for n in neg)


def dimension_name(text: str) -> str:
    """A readable dimension: ``"count/volume"``, ``"mass/volume"``, ``"clearance/BSA"``..."""
    return _dims_name(_dims(parse_unit(text)))


def _check_molar_mass(molar_mass: object) -> float | None:
    if molar_mass is None:
        return None
    if isinstance(molar_mass, bool) or not isinstance(molar_mass, (int, float)):
        raise UnitError(f"molar mass must be a number in g/mol, got {molar_mass!r}")
    mm = float(molar_mass)
    if not math.isfinite(mm) or mm <= 0:
        raise UnitError(f"molar mass must be a positive finite number in g/mol, got {molar_mass!r}")
    return mm


_MASS_PER_AMOUNT = {"[mass]": 1, "[substance]": -1}


def _ratio(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) - v
    return {k: v for k, v in out.items() if v}


@functools.lru_cache(maxsize=4096)
def _factor_cached(src: str, dst: str, molar_mass: float | None) -> float:
    s, d = parse_unit(src), parse_unit(dst)
    ds, dd = _dims(s), _dims(d)
    reg = registry()
    one = reg.Quantity(1.0, s)
    if ds == dd:
        q = one
    else:
        r = _ratio(ds, dd)
        if r == _MASS_PER_AMOUNT or r == {k: -v for k, v in _MASS_PER_AMOUNT.items()}:
            if molar_mass is None:
                raise UnitError(
                    f"cannot convert {src!r} ({_dims_name(ds)}) to {dst!r} ({_dims_name(dd)}) "
                    "without a molar mass"
                )
            mm = reg.Quantity(molar_mass, reg.Unit("gram") / reg.Unit("mole"))
            q = one / mm if r == _MASS_PER_AMOUNT else one * mm
        else:
            raise UnitError(
                f"cannot convert {src!r} ({_dims_name(ds)}) to {dst!r} ({_dims_name(dd)}): "
                "the dimensions differ"
            )
    try:
        factor = float(q.to(d).magnitude)
    except Exception as exc:  # pragma: no cover - dimensions were checked above
        raise UnitError(f"cannot convert {src!r} to {dst!r}: {exc}") from exc
    if not math.isfinite(factor) or factor == 0.0:
        raise UnitError(f"conversion from {src!r} to {dst!r} is out of floating-point range")
    return float(f"{factor:.12g}")  # drop binary noise: 1e9 * 1e-9 -> 1.0


def conversion_factor(src: str, dst: str, *, molar_mass: float | None = None) -> float:
    """The multiplier ``f`` with ``value_in_dst = value_in_src * f``.

    Mass concentration ↔ amount concentration (and mass ↔ amount) needs
    ``molar_mass`` in g/mol; it is ignored when the dimensions already agree.
    Raises :class:`UnitError` for unreadable units, a bad molar mass, or units
    of different dimensions (the message names both units and dimensions).
    Results are rounded to 12 significant digits.
    """
    mm = _check_molar_mass(molar_mass)
    parse_unit(src), parse_unit(dst)  # validate types/length before using them as cache keys
    try:
        return _factor_cached(src.strip(), dst.strip(), mm)
    except UnitError:
        raise
    except Exception as exc:  # pragma: no cover - defensive: nothing raw escapes
        raise UnitError(f"cannot convert {src!r} to {dst!r}: {type(exc).__name__}: {exc}") from exc


def convert(value: float, src: str, dst: str, *, molar_mass: float | None = None) -> float:
    """``value`` expressed in ``src``, re-expressed in ``dst``."""
    return value * conversion_factor(src, dst, molar_mass=molar_mass)


def compatible(src: str, dst: str, *, molar_mass: float | None = None) -> bool:
    """Whether ``src`` converts to ``dst`` (given ``molar_mass`` if mass ↔ amount).

    Unreadable units raise :class:`UnitError` rather than answering ``False``,
    so that a typo is reported as a typo.
    """
    try:
        conversion_factor(src, dst, molar_mass=molar_mass)
    except UnitError:
        parse_unit(src), parse_unit(dst)  # re-raise if a unit is unreadable
        _check_molar_mass(molar_mass)
        return False
    return True
