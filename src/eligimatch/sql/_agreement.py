"""One engine, two backends, proven equal: compare the SQL backend with the row engine.

:func:`disagreements` runs trials on the patients already written to a database (through any
connection :func:`eligimatch.sql.run` accepts: DuckDB, or a PostgreSQL / Spark adapter) and with
:func:`eligimatch.match` on the same ``Patient`` objects, and lists every patient, trial and criterion
where the two differ: the verdict, or a criterion's outcome (TRUE / FALSE / UNKNOWN).  The property tests
(tests/sql/test_agreement.py) require the list to be empty; the PostgreSQL and Spark runners reuse it
with their connections.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eligimatch.sql._run import SqlTrial, compile_sql, run

__all__ = ["Disagreement", "disagreements"]

_OUTCOME = {True: "true", False: "false", None: "unknown"}


@dataclass(frozen=True)
class Disagreement:
    """One difference between the row engine and the SQL backend: in ``trial``, for ``patient``, on
    ``what`` (``verdict``, a criterion id, or ``patient`` when the SQL rows miss the patient).

        >>> from eligimatch.sql import Disagreement
        >>> print(Disagreement("DEMO", "p2", "I2", "unknown", "false"))
        DEMO / p2 / I2: row engine unknown, SQL false
    """

    trial: str | None
    patient: str
    what: str  # "verdict" or a criterion id
    row_engine: str
    sql: str

    def __str__(self) -> str:
        return f"{self.trial} / {self.patient} / {self.what}: row engine {self.row_engine}, SQL {self.sql}"


def disagreements(connection: Any, trials: Iterable[Any], patients: Iterable[Any], as_of: _dt.date,
                  anchors: Mapping[str, _dt.date] | None = None, *, dialect: str | None = None,
                  strict: bool = True, assume_absent: bool = False) -> list[Disagreement]:
    """Every difference between the row engine and the SQL backend, for ``patients`` (already written to
    ``connection``'s canonical tables, with the same ids) and ``trials`` (compiled trials).

    ``strict=False`` compares only the criteria the backend expresses (and the verdict when all are);
    ``assume_absent`` runs both backends with that policy.

    >>> import datetime, duckdb, eligimatch
    >>> from eligimatch import sql
    >>> trial = eligimatch.compile_trial('trial "DEMO"\\ninclusion:\\n'
    ...                                  '  - I1: age >= 18 years\\n  - I2: anc >= 1.5 x10^9/L\\n')
    >>> patients = [eligimatch.load_patient('{"id": "p1", "birth_date": "1970-05-02"}')]
    >>> con = duckdb.connect()
    >>> _ = sql.write_duckdb(con, patients)
    >>> sql.disagreements(con, [trial], patients, datetime.date(2026, 3, 1))
    []
    """
    from eligimatch.engine._matching import match

    out: list[Disagreement] = []
    patients = list(patients)
    keys = [p.id if p.id is not None else f"#{n}" for n, p in enumerate(patients)]
    for trial in trials:
        st = trial if isinstance(trial, SqlTrial) else compile_sql(
            trial, str(dialect or getattr(connection, "dialect", "duckdb")), strict=strict, assume_absent=assume_absent)
        compiled = trial if not isinstance(trial, SqlTrial) else None
        if compiled is None:
            raise TypeError("disagreements() needs the compiled trials (the row engine runs them too)")
        rows = {r["patient_id"]: r for r in run(connection, st, as_of, anchors)}
        ids = [c.id for c in st.criteria if c.expressible]
        for key, p in zip(keys, patients):
            got = rows.get(key)
            if got is None:
                out.append(Disagreement(st.id, key, "patient", "present", "missing"))
                continue
            result = match(p, compiled, as_of=as_of, anchors=anchors, assume_absent=assume_absent)
            outcomes = {c.id: c.outcome.value for c in result.criteria}
            for cid in ids:
                sql_value = _OUTCOME[got[cid]]
                if outcomes[cid] != sql_value:
                    out.append(Disagreement(st.id, key, cid, outcomes[cid], sql_value))
            if st.complete and result.verdict.value != got["verdict"]:
                out.append(Disagreement(st.id, key, "verdict", result.verdict.value, got["verdict"]))
    return out
