"""The mapping tables the compiled SQL reads besides the patients: unit factors and coded fact values.

Units and spellings are data: which units a database's results are recorded in is known only by asking
it.  :func:`mapping_rows` takes the distinct (subject, unit) pairs and fact spellings found in the data
and computes, with the catalogs' own functions, what the row engine would compute for each:

``eligimatch_units(subject, unit, target, factor, own_factor, pct_factor)``
    ``subject`` is ``analyte:<id>`` or ``fact:<id>``; ``factor`` turns a value recorded in ``unit`` into
    ``target`` (NULL: the unit cannot apply, the value is then never compared); ``own_factor`` into the
    catalog's unit for the plausibility checks (NULL: not checked, or for a fact: not usable);
    ``pct_factor`` into percent for an analyte measured in % (NULL: not a percentage).
``eligimatch_fact_values(name, value_text, canonical)``
    A coded fact's recorded spelling and the declared value it means (NULL: none; never decides).
``eligimatch_therapy_kinds(node, sig, kind, attrs, hl_days, drug_id, eq_mg)``
    What each distinct therapy record is for each therapy predicate of the query
    (:mod:`eligimatch.sql._therapies`).
``eligimatch_dose_units(unit, factor, per_administration)``, ``eligimatch_dose_values(dose_value, dose_unit,
dose_per_day, mg6)``
    What turns a recorded dose into mg a day, and each distinct recorded dose's daily mg rounded as a stable
    dose compares them (:mod:`eligimatch.sql._doses`; filled only when the query has a dose criterion).
"""

from __future__ import annotations

from typing import Any

from eligimatch.knowledge._units import conversion_factor
from eligimatch.sql._context import FACT_VALUES_TABLE, UNITS_TABLE, Needs

__all__ = ["FACT_VALUES_COLUMNS", "UNITS_COLUMNS", "build_rows", "distinct_queries", "fact_value_rows", "unit_rows"]

UNITS_COLUMNS = (("subject", "VARCHAR"), ("unit", "VARCHAR"), ("target", "VARCHAR"), ("factor", "DOUBLE"),
                 ("own_factor", "DOUBLE"), ("pct_factor", "DOUBLE"))
FACT_VALUES_COLUMNS = (("name", "VARCHAR"), ("value_text", "VARCHAR"), ("canonical", "VARCHAR"))


def _try(fn: Any, *args: Any) -> float | None:
    try:
        return float(fn(*args))
    except Exception:  # UnitError (a unit that cannot apply) or an unreadable unit: NULL
        return None


def _analyte_row(a: Any, unit: str | None, target: str | None) -> tuple:
    factor = _try(a.recorded_factor, unit, target if target is not None else a.unit)
    own = None
    if a.plausible is not None and (unit is not None or a.unit_free):
        own = _try(a.recorded_factor, unit)
    pct = None
    if a.unit.strip() == "%":
        src = unit or a.unit
        pct = 1.0 if src == a.unit else _try(a.factor_from, src, a.unit)
    return factor, own, pct


def _fact_row(f: Any, unit: str | None, target: str | None) -> tuple:
    """As :func:`eligimatch.engine._evaluate.read_number_fact` converts: NULL factors for a value that
    cannot be used (no unit where one is needed, a unit on a plain number, a unit that cannot apply)."""
    fu = f.unit
    if unit is None and fu:
        return None, None, None
    if unit is not None and not fu and unit.strip() not in ("", "1"):
        return None, None, None
    if not fu:
        unit = None
    own = _try(conversion_factor, unit, fu) if unit and fu and unit != fu else 1.0
    factor = _try(conversion_factor, unit, target) if target and unit and unit != target else 1.0
    if own is None or factor is None:
        return None, None, None
    return factor, own, None


def unit_rows(needs: Needs, units: dict[str, set[str | None]]) -> list[tuple]:
    """The rows of ``eligimatch_units`` for ``needs``, given the distinct units recorded per subject
    (``units``: subject -> units, NULL included; reference-range units included for analytes)."""
    rows: dict[tuple, tuple] = {}
    targets: dict[str, set[str | None]] = {}
    for subject, target in needs.targets:
        targets.setdefault(subject, set()).add(target)
    for subject in needs.pairs:  # x ULN: factors between any two units the analyte's results use
        entry = needs.entries[subject]
        seen = set(units.get(subject, set())) | {entry.unit}
        targets.setdefault(subject, set()).update(seen)
    for subject, tgts in sorted(targets.items(), key=lambda kv: kv[0]):
        entry = needs.entries[subject]
        sources = set(units.get(subject, set())) | {None}
        if subject in needs.pairs:
            sources |= {entry.unit} | {t for t in tgts if t is not None}
        for unit in sources:
            for target in tgts:
                if subject.startswith("analyte:"):
                    vals = _analyte_row(entry, unit, target)
                else:
                    vals = _fact_row(entry, unit, target)
                rows[(subject, unit, target)] = (subject, unit, target, *vals)
    return list(rows.values())


def fact_value_rows(needs: Needs, spellings: dict[str, set[str]]) -> list[tuple]:
    out = []
    for name in sorted(needs.enums):
        entry = needs.entries[f"fact:{name}"]
        for text in sorted(spellings.get(name, set())):
            out.append((name, text, entry.canonical_value(text)))
    return out


def distinct_queries(needs: Needs) -> dict[str, str]:
    """The queries that list what the mapping tables must cover (DuckDB SQL, portable)."""
    analytes = sorted({s.split(":", 1)[1] for s, _ in needs.targets if s.startswith("analyte:")}
                      | {s.split(":", 1)[1] for s in needs.pairs})
    facts = sorted({s.split(":", 1)[1] for s, _ in needs.targets if s.startswith("fact:")})
    out = {}
    if analytes:
        names = ", ".join("'" + a.replace("'", "''") + "'" for a in analytes)
        out["analytes"] = (f"SELECT DISTINCT analyte_id, unit FROM observations WHERE analyte_id IN ({names}) "
                           f"UNION SELECT DISTINCT analyte_id, ref_unit FROM observations "
                           f"WHERE analyte_id IN ({names}) AND ref_unit IS NOT NULL")
    if facts:
        names = ", ".join("'" + f.replace("'", "''") + "'" for f in facts)
        out["facts"] = f"SELECT DISTINCT name, unit FROM facts WHERE name IN ({names})"
    if needs.enums:
        names = ", ".join("'" + f.replace("'", "''") + "'" for f in sorted(needs.enums))
        out["enums"] = (f"SELECT DISTINCT name, value_text FROM facts WHERE name IN ({names}) "
                        f"AND value_type = 'text'")
    return out


def build_rows(needs: Needs, fetch: Any, dialect: str = "duckdb"
               ) -> dict[str, tuple[tuple[tuple[str, str], ...], list[tuple]]]:
    """The mapping tables' rows: ``fetch(sql)`` runs a query on the patients' database (rows as tuples);
    ``dialect`` is that database's (the queries that are not portable SQL are rendered in it)."""
    queries = distinct_queries(needs)
    units: dict[str, set[str | None]] = {}
    for key in ("analytes", "facts"):
        if key in queries:
            prefix = "analyte:" if key == "analytes" else "fact:"
            for name, unit in fetch(queries[key]):
                units.setdefault(prefix + name, set()).add(unit)
    spellings: dict[str, set[str]] = {}
    if "enums" in queries:
        for name, value in fetch(queries["enums"]):
            if value is not None:
                spellings.setdefault(name, set()).add(value)
    from eligimatch.plan import _nodes as P
    from eligimatch.sql._doses import (
        DOSE_UNITS_COLUMNS,
        DOSE_UNITS_TABLE,
        DOSE_VALUES_COLUMNS,
        DOSE_VALUES_QUERY,
        DOSE_VALUES_TABLE,
        dose_unit_rows,
        dose_value_rows,
    )
    from eligimatch.sql._therapies import KINDS_COLUMNS, KINDS_TABLE, therapy_rows

    def fetch_in_dialect(sql: str) -> list[tuple]:
        if dialect != "duckdb":
            import sqlglot

            sql = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
        return list(fetch(sql))
    return {UNITS_TABLE: (UNITS_COLUMNS, unit_rows(needs, units)),
            FACT_VALUES_TABLE: (FACT_VALUES_COLUMNS, fact_value_rows(needs, spellings)),
            KINDS_TABLE: (KINDS_COLUMNS, therapy_rows(needs.therapies, needs.catalogs, fetch_in_dialect)),
            DOSE_UNITS_TABLE: (DOSE_UNITS_COLUMNS, dose_unit_rows(
                [u for (u,) in fetch("SELECT DISTINCT dose_unit FROM therapies WHERE dose_unit IS NOT NULL")]
                if any(isinstance(n, P.Dose) for n in needs.therapies.values()) else [])),
            DOSE_VALUES_TABLE: (DOSE_VALUES_COLUMNS, dose_value_rows(
                list(fetch(DOSE_VALUES_QUERY)) if any(isinstance(n, P.StableDose) for n in needs.therapies.values())
                else []))}

