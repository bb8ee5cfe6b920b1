"""The analytes criteria talk about, and the catalog that names them.

An :class:`Analyte` is a measurable quantity (ANC, creatinine, eGFR, SLEDAI-2K)
with a canonical unit, synonyms, LOINC codes and, for substances reported both
as mass and as amount concentration, a molar mass.  An :class:`AnalyteCatalog`
is an immutable collection of analytes that resolves the many ways protocols
and laboratory feeds name them::

    cat = AnalyteCatalog.default()
    anc = cat.resolve("Absolute-Neutrophil_Count")      # or "ANC", "751-8", "LOINC:751-8"
    anc.factor_from("/µL")                              # 0.001: 1500 /µL = 1.5 10^9/L
    cat.resolve("creatinine").factor_from("µmol/L")     # 1/88.4 via the molar mass

The shipped catalog is ``catalog/analytes.toml`` next to this module; its
format and how to extend it are described in ``docs/analytes.md``.

Errors: a malformed catalog or analyte raises
:class:`~eligimatch.errors.CatalogError`; unit problems raise
:class:`~eligimatch.errors.UnitError`.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from eligimatch.errors import CatalogError, UnitError
from eligimatch.knowledge._catalog_files import read_catalog
from eligimatch.knowledge._names import ANALYTE_NAME_SYMBOLS, normalize_name
from eligimatch.knowledge._units import compatible, conversion_factor, parse_unit

__all__ = ["Analyte", "AnalyteCatalog", "KINDS", "is_valid_loinc", "analyte_key"]

#: The allowed values of :attr:`Analyte.kind`.
KINDS = frozenset({"lab", "vital", "score", "measurement", "computed"})

_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LOINC_RE = re.compile(r"^\d{1,7}-\d$")
_LOINC_QUERY_RE = re.compile(r"^\s*(?:loinc\s*[:|#]?\s*)?(\d{1,7}-\d)\s*$", re.IGNORECASE)
_MAX_NAME_LENGTH = 200

_DEFAULT_PATH = Path(__file__).resolve().parent.parent / "catalog" / "analytes.toml"
_FIELDS = ("name", "unit", "synonyms", "loinc", "molar_mass", "kind", "description", "signed", "units", "plausible",
           "plausible_source")


def analyte_key(text: str) -> str:
    """The matching key of an analyte name: :func:`~eligimatch.knowledge._names.normalize_name` keeping
    ``%``, ``+`` and ``/``."""
    return normalize_name(text, ANALYTE_NAME_SYMBOLS)


def is_valid_loinc(code: str) -> bool:
    """Whether ``code`` is shaped like a LOINC code (``nnnnn-n``) and its mod-10 check digit is right."""
    if not isinstance(code, str) or not _LOINC_RE.match(code):
        return False
    body, check = code.split("-")
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # rightmost digit and every second one leftwards are doubled
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10 == int(check)


def _str_tuple(value: object, field: str, analyte_id: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise CatalogError(f"analyte {analyte_id!r}: {field} must be a list of strings, got {value!r}")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise CatalogError(f"analyte {analyte_id!r}: {field} entries must be non-empty strings, got {item!r}")
        out.append(item.strip())
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Analyte:
    """A measurable quantity with its canonical unit.

    Validated on construction (:class:`CatalogError` otherwise): ``id`` is
    snake_case, ``unit`` is readable by :func:`eligimatch.knowledge._units.parse_unit`,
    LOINC codes have a correct check digit (a ``LOINC:`` prefix is dropped),
    ``molar_mass`` is a positive number of g/mol, ``kind`` is one of
    :data:`KINDS`.  Lists given for ``synonyms``/``loinc`` become tuples.
    """

    id: str
    name: str
    unit: str
    synonyms: tuple[str, ...] = ()
    loinc: tuple[str, ...] = ()
    molar_mass: float | None = None
    kind: str = "lab"
    description: str = ""
    signed: bool = False  # a change or difference that may be negative; any other negative result is invalid
    # other units a result of a *dimensionless* analyte may be recorded in (a fraction "1" for a
    # percentage): without the declaration, a scaling unit such as "%" on INR is refused, not converted
    units: tuple[str, ...] = ()
    # (low, high) in `unit`: the physiologically possible range; a result outside it after conversion
    # is not compared (UNKNOWN, implausible: probably a unit error)
    plausible: tuple[float, float] | None = None
    # where the range comes from (the extreme values reported, the instrument's range); required with it
    plausible_source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise CatalogError(f"analyte id must be snake_case (a-z, 0-9, _), got {self.id!r}")
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > _MAX_NAME_LENGTH:
            raise CatalogError(f"analyte {self.id!r}: name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.unit, str):
            raise CatalogError(f"analyte {self.id!r}: unit must be a string, got {self.unit!r}")
        try:
            parse_unit(self.unit)
        except UnitError as exc:
            raise CatalogError(f"analyte {self.id!r}: {exc}") from exc
        synonyms = _str_tuple(self.synonyms, "synonyms", self.id)
        if any(len(s) > _MAX_NAME_LENGTH for s in synonyms):
            raise CatalogError(f"analyte {self.id!r}: a synonym is longer than {_MAX_NAME_LENGTH} characters")
        loinc = tuple(
            re.sub(r"^loinc\s*[:|#]?\s*", "", code, flags=re.IGNORECASE)
            for code in _str_tuple(self.loinc, "loinc", self.id)
        )
        for code in loinc:
            if not is_valid_loinc(code):
                raise CatalogError(f"analyte {self.id!r}: {code!r} is not a valid LOINC code (format or check digit)")
        if len(set(loinc)) != len(loinc):
            raise CatalogError(f"analyte {self.id!r}: a LOINC code is listed twice")
        molar_mass = self.molar_mass
        if molar_mass is not None:
            if isinstance(molar_mass, bool) or not isinstance(molar_mass, (int, float)):
                raise CatalogError(f"analyte {self.id!r}: molar_mass must be a number (g/mol), got {molar_mass!r}")
            molar_mass = float(molar_mass)
            if not math.isfinite(molar_mass) or molar_mass <= 0:
                raise CatalogError(f"analyte {self.id!r}: molar_mass must be positive, got {self.molar_mass!r}")
        if self.kind not in KINDS:
            raise CatalogError(f"analyte {self.id!r}: kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        if not isinstance(self.description, str):
            raise CatalogError(f"analyte {self.id!r}: description must be a string")
        if not isinstance(self.signed, bool):
            raise CatalogError(f"analyte {self.id!r}: signed must be true or false, got {self.signed!r}")
        units = _str_tuple(self.units, "units", self.id)
        for u in units:
            try:
                parse_unit(u)
            except UnitError as exc:
                raise CatalogError(f"analyte {self.id!r}: units: {exc}") from exc
            if not compatible(u, self.unit, molar_mass=molar_mass):
                raise CatalogError(f"analyte {self.id!r}: units: {u!r} cannot apply to {self.unit!r}")
        plausible = self.plausible
        if plausible is not None:
            if (not isinstance(plausible, (list, tuple)) or len(plausible) != 2
                    or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in plausible)
                    or not all(math.isfinite(x) for x in plausible) or plausible[0] >= plausible[1]):
                raise CatalogError(f"analyte {self.id!r}: plausible must be [low, high] in {self.unit}, low < high, "
                                   f"got {plausible!r}")
            plausible = (float(plausible[0]), float(plausible[1]))
            if not isinstance(self.plausible_source, str) or not self.plausible_source.strip():
                raise CatalogError(f"analyte {self.id!r}: plausible needs a plausible_source (the extreme values "
                                   f"reported, or the instrument's range, and where)")
        elif self.plausible_source:
            raise CatalogError(f"analyte {self.id!r}: plausible_source without plausible")
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "plausible", plausible)
        object.__setattr__(self, "synonyms", synonyms)
        object.__setattr__(self, "loinc", loinc)
        object.__setattr__(self, "molar_mass", molar_mass)

    def accepts(self, unit_text: str) -> bool:
        """Whether a value in ``unit_text`` can be converted to this analyte's unit.

        Uses the molar mass, so creatinine accepts both mg/dL and µmol/L while
        platelets refuse mg/dL.  An unreadable unit raises :class:`UnitError`
        (with a did-you-mean) rather than returning ``False``.
        """
        return compatible(unit_text, self.unit, molar_mass=self.molar_mass)

    def factor_from(self, unit_text: str, to: str | None = None) -> float:
        """Factor turning a value in ``unit_text`` into ``to`` (default: :attr:`unit`).

        ``value_in_to = value_in_unit_text * factor``; :class:`UnitError` when
        the units do not apply to each other.
        """
        return conversion_factor(unit_text, self.unit if to is None else to, molar_mass=self.molar_mass)

    @property
    def unit_free(self) -> bool:
        """Whether a bare number is a result of this analyte: its unit is the plain number ``1`` (INR, a
        score).  A percentage is not: 0.97 and 97 would both be read."""
        return self.unit.strip() == "1"

    def recorded_factor(self, unit_text: str | None, to: str | None = None) -> float:
        """Factor turning a *recorded* result in ``unit_text`` into ``to`` (default: :attr:`unit`).

        Stricter than :meth:`factor_from`, which converts any two units of the right dimension:
        a result without a unit is refused unless the analyte is :attr:`unit_free` (never given the
        analyte's unit: issue 18 D7), and a dimensionless analyte accepts only its own unit, the
        units declared in :attr:`units`, and spellings worth exactly its unit (``{score}``) -- an
        INR in ``%`` is refused, not read as 0.015 (D16).  :class:`UnitError` says why.
        """
        if unit_text is None or not unit_text.strip():
            if not self.unit_free:
                raise UnitError(f"recorded without a unit; a {self.name} result needs one "
                                f"(e.g. {self.unit}): a unit is never assumed")
            unit_text = self.unit
        elif unit_text != self.unit and unit_text not in self.units and compatible(unit_text, "1"):
            if compatible(self.unit, "1") and not math.isclose(conversion_factor(unit_text, self.unit), 1.0):
                declared = ", ".join((self.unit, *self.units))
                raise UnitError(f"{unit_text!r} is not a unit {self.name} is recorded in (declared: {declared})")
        return self.factor_from(unit_text, to)

    @property
    def names(self) -> tuple[str, ...]:
        """``id``, ``name`` and the synonyms: every name this analyte answers to."""
        return (self.id, self.name, *self.synonyms)


class AnalyteCatalog:
    """An immutable, indexed collection of :class:`Analyte`.

    Names are matched with :func:`analyte_key` (so ``"ANC"``, ``"anc"``,
    ``"Absolute-Neutrophil_Count"`` are one key); no two analytes may share a
    matching key or a LOINC code, and ids are unique (:class:`CatalogError`).
    """

    __slots__ = ("_by_id", "_by_key", "_by_loinc")

    def __init__(self, analytes: Iterable[Analyte] = ()):
        by_id: dict[str, Analyte] = {}
        by_key: dict[str, str] = {}
        by_loinc: dict[str, str] = {}
        for analyte in analytes:
            if not isinstance(analyte, Analyte):
                raise CatalogError(f"expected an Analyte, got {type(analyte).__name__}")
            if analyte.id in by_id:
                raise CatalogError(f"duplicate analyte id {analyte.id!r}")
            by_id[analyte.id] = analyte
            for name in analyte.names:
                key = analyte_key(name)
                if not key:
                    raise CatalogError(f"analyte {analyte.id!r}: name {name!r} is empty once normalised")
                owner = by_key.setdefault(key, analyte.id)
                if owner != analyte.id:
                    raise CatalogError(
                        f"name {name!r} of analyte {analyte.id!r} is already a name of analyte {owner!r}"
                    )
            for code in analyte.loinc:
                owner = by_loinc.setdefault(code, analyte.id)
                if owner != analyte.id:
                    raise CatalogError(f"LOINC {code} of analyte {analyte.id!r} already belongs to {owner!r}")
        self._by_id = by_id
        self._by_key = by_key
        self._by_loinc = by_loinc

    # -- construction
    @classmethod
    def default(cls) -> AnalyteCatalog:
        """The catalog shipped with eligimatch (``catalog/analytes.toml``), loaded once."""
        global _default
        catalog = _default
        if catalog is None:
            with _default_lock:
                catalog = _default
                if catalog is None:
                    catalog = _default = cls.from_toml(_DEFAULT_PATH)
        return catalog

    @classmethod
    def from_toml(cls, path_or_text: str | os.PathLike | bytes) -> AnalyteCatalog:
        """Load a catalog from a TOML file or TOML text.

        A ``pathlib.Path``/``os.PathLike`` is read as a file; ``bytes`` are
        UTF-8 TOML; a ``str`` containing a newline or ``=`` is TOML text, any
        other ``str`` is a file path.
        """
        data, source = read_catalog(path_or_text, "analyte")
        return cls(_analytes_from_mapping(data, source))

    def extended(self, analytes: Iterable[Analyte] | AnalyteCatalog) -> AnalyteCatalog:
        """A new catalog with ``analytes`` added; this catalog is left unchanged.

        An analyte whose id is already present *replaces* the existing entry
        (keeping its position); a new name or LOINC code that clashes with a
        *different* analyte raises :class:`CatalogError`.
        """
        if isinstance(analytes, (str, bytes)) or not isinstance(analytes, Iterable):
            raise CatalogError(f"extended() expects analytes or a catalog, got {type(analytes).__name__}")
        merged = dict(self._by_id)
        seen: set[str] = set()
        for analyte in analytes:
            if not isinstance(analyte, Analyte):
                raise CatalogError(f"expected an Analyte, got {type(analyte).__name__}")
            if analyte.id in seen:
                raise CatalogError(f"duplicate analyte id {analyte.id!r} in the extension")
            seen.add(analyte.id)
            merged[analyte.id] = analyte
        return type(self)(merged.values())

    # -- lookup
    def resolve(self, name_or_code: str) -> Analyte | None:
        """The analyte known by this id, name, synonym or LOINC code (``"751-8"``, ``"LOINC:751-8"``), else ``None``."""
        if not isinstance(name_or_code, str) or len(name_or_code) > _MAX_NAME_LENGTH:
            return None
        m = _LOINC_QUERY_RE.match(name_or_code)
        if m:
            analyte_id = self._by_loinc.get(m.group(1))
            if analyte_id is not None:
                return self._by_id[analyte_id]
        analyte_id = self._by_key.get(analyte_key(name_or_code))
        return None if analyte_id is None else self._by_id[analyte_id]

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Up to ``n`` ids of analytes whose names are close to ``name`` (did-you-mean)."""
        if not isinstance(name, str) or n <= 0 or len(name) > _MAX_NAME_LENGTH:
            return []
        key = analyte_key(name)
        if not key:
            return []
        out: list[str] = []
        for match in difflib.get_close_matches(key, list(self._by_key), n=max(3 * n, 10), cutoff=0.6):
            analyte_id = self._by_key[match]
            if analyte_id not in out:
                out.append(analyte_id)
                if len(out) == n:
                    break
        return out

    # -- container protocol
    def __iter__(self) -> Iterator[Analyte]:
        return iter(tuple(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Analyte):
            return self._by_id.get(item.id) == item
        if isinstance(item, str):
            return self.resolve(item) is not None
        return False

    def __repr__(self) -> str:
        return f"<AnalyteCatalog of {len(self)} analytes>"


def _analytes_from_mapping(data: dict, source: str) -> list[Analyte]:
    version = data.get("schema_version", 1)
    if version != 1:
        raise CatalogError(f"analyte catalog {source}: unsupported schema_version {version!r} (expected 1)")
    analytes = []
    for analyte_id, table in data.items():
        if analyte_id == "schema_version":
            continue
        if not isinstance(table, dict):
            raise CatalogError(f"analyte catalog {source}: {analyte_id!r} must be a table ([{analyte_id}])")
        unknown = sorted(set(table) - set(_FIELDS))
        if unknown:
            hint = ""
            close = difflib.get_close_matches(unknown[0], _FIELDS, n=1)
            if close:
                hint = f" (did you mean {close[0]!r}?)"
            raise CatalogError(f"analyte catalog {source}: [{analyte_id}] has unknown key {unknown[0]!r}{hint}")
        for required in ("name", "unit"):
            if required not in table:
                raise CatalogError(f"analyte catalog {source}: [{analyte_id}] lacks the required key {required!r}")
        try:
            analytes.append(Analyte(id=analyte_id, **table))
        except CatalogError as exc:
            raise CatalogError(f"analyte catalog {source}: {exc}") from exc
    return analytes


_default: AnalyteCatalog | None = None
_default_lock = threading.Lock()
