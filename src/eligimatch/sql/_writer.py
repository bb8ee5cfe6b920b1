"""Write patient profiles into the canonical tables (:mod:`eligimatch.sql._schema`): DuckDB or Parquet.

:func:`patient_rows` turns one :class:`~eligimatch.Patient` into rows, resolving its names and codes
against the catalogs exactly as the row engine does (``PatientIndex``: an analyte by id, name,
synonym or LOINC code; a condition by its code unless its name names a narrower concept; a drug
by name, brand or RxNorm code).  :func:`write_duckdb` creates the tables in a DuckDB connection
and loads the rows in bulk (newline-delimited JSON staged in a temporary directory, read by
DuckDB's own reader: no per-row round trips); :func:`write_parquet` writes one Parquet file per
table through DuckDB.

    >>> import duckdb, eligimatch
    >>> from eligimatch.sql import write_duckdb
    >>> p = eligimatch.load_patient('{"id": "p1", "birth_date": "1970-05", "sex": "female",'
    ...     ' "observations": [{"analyte": "ANC", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}')
    >>> con = duckdb.connect()
    >>> write_duckdb(con, [p])
    {'patients': 1, 'observations': 1, 'facts': 0, 'conditions': 0, 'therapies': 0, 'therapy_classes': 0, \
'procedures': 0, 'record_attributes': 0, 'studies': 0, 'anchors': 0}
    >>> con.execute("SELECT analyte_id, value, unit FROM observations").fetchall()
    [('anc', 1800.0, '/uL')]
    >>> con.execute("SELECT birth_earliest, birth_latest, birth_precision FROM patients").fetchall()
    [(datetime.date(1970, 5, 1), datetime.date(1970, 5, 31), 'month')]
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.knowledge._dates import PartialDate
from eligimatch.knowledge._drugs import Drug
from eligimatch.sources._patient import Fact, Patient
from eligimatch.sql._schema import TABLE_NAMES, TABLES, ddl, table

__all__ = ["patient_rows", "write_duckdb", "write_parquet"]

Rows = dict[str, list[tuple]]


def _precision(d: PartialDate) -> str:
    if d.earliest == d.latest:
        return "day"
    return "month" if d.earliest.month == d.latest.month else "year"


def _partial(d: PartialDate | _dt.date | None) -> tuple:
    if d is None:
        return (None, None, None)
    if isinstance(d, PartialDate):
        return (d.earliest, d.latest, _precision(d))
    return (d, d, "day")


def _source(r: Any) -> tuple:
    s = getattr(r, "source", None)
    return (s.type, s.id) if s is not None else (None, None)


def _typed(v: Any) -> tuple:
    """(value_type, value_bool, value_number, value_text) of a recorded scalar."""
    if isinstance(v, bool):
        return ("bool", v, None, None)
    if isinstance(v, (int, float)):
        return ("number", None, float(v), None)
    return ("text", None, None, str(v))


def _attribute(name: str, v: Any, cats: Catalogs) -> tuple:
    """The columns of a ``record_attributes`` row after its name: the value as recorded
    (:func:`_typed`) and as ``where`` tests read it -- yes/no, number, word, the vocabulary's declared
    value -- by the row engine's own functions (:func:`eligimatch.engine._history.attr_truth`)."""
    from eligimatch.engine._history import yes_no
    from eligimatch.plan._bind import attr_norm, attr_number

    number = attr_number(v)
    if number is not None and not math.isfinite(number):
        number = None  # "inf", "nan": not a number a test can compare here (documented)
    vocab = cats.attributes.get(name)  # the vocabulary the binder gives a `where` test (plan._bind)
    coded = vocab.normalize(v) if vocab is not None else None
    text = str(v)  # an allergen as the row engine reads it (kinds/condition.py: _allergen_truth)
    entry = cats.drugs.resolve(text) if text.strip() else None
    drug = None if entry is None else f"{'drug' if isinstance(entry, Drug) else 'class'}:{entry.id}"
    return (*_typed(v), yes_no(v), number, attr_norm(v), coded, drug)


def _time_key(t: _dt.time | None) -> int | None:
    if t is None:
        return None
    us = ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
    off = t.utcoffset()
    if off is not None:
        us -= int(off.total_seconds() * 1_000_000)
    return us


def _resolve_record(catalog: Any, code: str | None, name: str | None) -> Any:
    from eligimatch.engine._evaluate import _resolve_record as resolve  # the row engine's own rule

    return resolve(catalog, code, name)


def patient_rows(patient: Patient, catalogs: Catalogs | None = None, *, key: str | None = None) -> Rows:
    """The rows of one patient, by table name.  ``key``: the ``patient_id`` to use (default: the
    profile's ``id``; the writers give ``#<n>`` to a profile without one).

        >>> import eligimatch
        >>> from eligimatch.sql import patient_rows
        >>> rows = patient_rows(eligimatch.load_patient('{"id": "p1", "observations": '
        ...     '[{"analyte": "ANC", "value": 1800, "unit": "/uL", "date": "2026-02-20"}]}'))
        >>> rows["observations"][0][:6]
        ('p1', 0, 'ANC', 'anc', 1800.0, '/uL')
    """
    cats = catalogs or Catalogs.default()
    pid = key if key is not None else patient.id
    if pid is None:
        raise ValueError("a patient without an id needs a key")
    out: Rows = {name: [] for name in TABLE_NAMES}
    c = patient.complete
    out["patients"].append((pid, *_partial(patient.birth_date), patient.sex, c.conditions, c.therapies,
                            c.procedures, c.studies))
    for i, o in enumerate(patient.observations):
        a = cats.analytes.resolve(o.analyte)
        rr = o.reference_range
        off = o.time.utcoffset() if o.time is not None else None
        out["observations"].append((
            pid, i, o.analyte, a.id if a is not None else None, o.value, o.unit, o.date,
            o.time.replace(tzinfo=None) if o.time is not None else None,
            int(off.total_seconds()) if off is not None else None, _time_key(o.time),
            rr.low if rr else None, rr.high if rr else None, rr.unit if rr else None, o.method, *_source(o)))
    for name, v in patient.facts.items():
        f = v if isinstance(v, Fact) else Fact(value=v)
        out["facts"].append((pid, name, *_typed(f.value), f.unit, *_partial(f.date), *_source(f)))
    for i, cond in enumerate(patient.conditions):
        concept = _resolve_record(cats.conditions, cond.code, cond.name)
        out["conditions"].append((pid, i, cond.name, cond.code, concept.id if concept is not None else None,
                                  *_partial(cond.onset), *_partial(cond.end), cond.status, *_source(cond)))
        for n, v in cond.attributes.items():
            out["record_attributes"].append((pid, "conditions", i, n, *_attribute(n, v, cats)))
    for i, t in enumerate(patient.therapies):
        d = cats.drugs.resolve(t.drug) if t.drug else None
        dose = t.dose
        out["therapies"].append((
            pid, i, t.drug, d.id if d is not None else None, t.investigational, *_partial(t.start),
            *_partial(t.end), t.ongoing, dose.value if dose else None, dose.unit if dose else None,
            dose.per_day if dose else None, *_partial(t.dose_since), t.route, t.indication, *_source(t)))
        for j, cls in enumerate(t.classes):
            out["therapy_classes"].append((pid, i, cls, j))
    for i, p in enumerate(patient.procedures):
        concept = _resolve_record(cats.procedures, p.code, p.name)
        out["procedures"].append((pid, i, p.name, p.code, concept.id if concept is not None else None,
                                  *_partial(p.date), *_source(p)))
        for n, v in p.attributes.items():
            out["record_attributes"].append((pid, "procedures", i, n, *_attribute(n, v, cats)))
    for i, s in enumerate(patient.studies):
        out["studies"].append((pid, i, s.study, *_partial(s.start), *_partial(s.end), *_source(s)))
    for n, day in patient.anchors.items():
        out["anchors"].append((pid, n, day))
    return out


def _json_value(v: Any) -> Any:
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return v


_DUCK_TYPES = {"TEXT": "VARCHAR", "DATE": "DATE", "TIME": "TIME", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT",
               "INTEGER": "INTEGER", "BOOLEAN": "BOOLEAN"}


def _stage(patients: Iterable[Patient], catalogs: Catalogs | None, folder: Path) -> dict[str, int]:
    """Write every table's rows as newline-delimited JSON files in ``folder``; the row counts."""
    cats = catalogs or Catalogs.default()
    files = {name: open(folder / f"{name}.ndjson", "w", encoding="utf-8") for name in TABLE_NAMES}
    counts = dict.fromkeys(TABLE_NAMES, 0)
    seen: set[str] = set()
    try:
        for n, p in enumerate(patients):
            key = p.id if p.id is not None else f"#{n}"
            if key in seen:
                raise ValueError(f"two patients have the id {key!r}: patient ids must be unique")
            seen.add(key)
            for name, rows in patient_rows(p, cats, key=key).items():
                cols = table(name).column_names
                fh = files[name]
                for row in rows:
                    fh.write(json.dumps({c: _json_value(v) for c, v in zip(cols, row)}, ensure_ascii=False,
                                        allow_nan=False))
                    fh.write("\n")
                counts[name] += len(rows)
    finally:
        for fh in files.values():
            fh.close()
    return counts


def _select_staged(path: Path, name: str) -> str:
    t = table(name)
    columns = ", ".join(f"'{c.name}': '{_DUCK_TYPES[c.type]}'" for c in t.columns)
    quoted = str(path).replace("'", "''")
    return (f"SELECT {', '.join(c.name for c in t.columns)} FROM read_json('{quoted}', "
            f"format = 'newline_delimited', columns = {{{columns}}})")


def write_duckdb(con: Any, patients: Iterable[Patient], catalogs: Catalogs | None = None, *,
                 replace: bool = False) -> dict[str, int]:
    """Create the canonical tables in the DuckDB connection ``con`` (if absent; dropped first with
    ``replace``) and append ``patients`` to them.  Returns the number of rows written per table.

        >>> import duckdb, eligimatch
        >>> from eligimatch.sql import write_duckdb
        >>> con = duckdb.connect()
        >>> counts = write_duckdb(con, [eligimatch.load_patient('{"id": "p1", "sex": "male"}')])
        >>> counts["patients"], con.execute("SELECT patient_id, sex FROM patients").fetchall()
        (1, [('p1', 'male')])
    """
    if replace:
        for name in TABLE_NAMES:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    for stmt in ddl("duckdb"):
        con.execute(stmt)
    with tempfile.TemporaryDirectory(prefix="eligimatch-sql-") as tmp:
        folder = Path(tmp)
        counts = _stage(patients, catalogs, folder)
        for name in TABLE_NAMES:
            if counts[name]:
                con.execute(f"INSERT INTO {name} {_select_staged(folder / f'{name}.ndjson', name)}")
    return counts


def write_parquet(folder: str | os.PathLike[str], patients: Iterable[Patient],
                  catalogs: Catalogs | None = None) -> dict[str, Path]:
    """Write the canonical tables as Parquet files (``<folder>/<table>.parquet``, every table, empty
    ones included, with their declared types).  Returns the paths by table name.

        >>> import duckdb, eligimatch, tempfile
        >>> from eligimatch.sql import write_parquet
        >>> folder = tempfile.mkdtemp()
        >>> paths = write_parquet(folder, [eligimatch.load_patient('{"id": "p1"}')])
        >>> sorted(paths)[:3], paths["patients"].name
        (['anchors', 'conditions', 'facts'], 'patients.parquet')
        >>> duckdb.sql(f"SELECT patient_id FROM '{paths['patients']}'").fetchall()
        [('p1',)]
    """
    import duckdb

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        write_duckdb(con, patients, catalogs)
        paths = {}
        for t in TABLES:
            path = out / f"{t.name}.parquet"
            quoted = str(path).replace("'", "''")
            con.execute(f"COPY {t.name} TO '{quoted}' (FORMAT parquet)")
            paths[t.name] = path
        return paths
    finally:
        con.close()


def iter_rows(patients: Iterable[Patient], catalogs: Catalogs | None = None) -> Iterator[tuple[str, tuple]]:
    """Every row of ``patients`` as ``(table name, row)``, for writing into another database.

        >>> import eligimatch
        >>> from eligimatch.sql import iter_rows
        >>> [name for name, _ in iter_rows([eligimatch.load_patient('{"id": "p1", "facts": {"ecog": 1}}')])]
        ['patients', 'facts']
    """
    cats = catalogs or Catalogs.default()
    for n, p in enumerate(patients):
        key = p.id if p.id is not None else f"#{n}"
        for name, rows in patient_rows(p, cats, key=key).items():
            for row in rows:
                yield name, row
