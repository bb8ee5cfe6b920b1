"""Patients from an OMOP CDM v5.4 database (DuckDB file, PostgreSQL...): ``eligimatch.omop`` is this package.

Two ways in, both through a DB-API connection (``duckdb.connect("cdm.duckdb")``, ``psycopg.connect(...)``):

* **One patient for the row engine** (every answer explained)::

      imported = eligimatch.omop.patient(con, person_id=6, as_of=date(2026, 3, 1))
      imported.patient                  # an eligimatch.Patient
      print(imported.report.text())     # every row read: mapped, skipped, not mapped, rejected, and why

* **The whole database for the SQL backend**: :func:`create_views` presents the OMOP tables as the canonical
  patient tables of :mod:`eligimatch.sql` (``patients``, ``observations``, ``conditions``, ``therapies``,
  ``therapy_classes``, ``procedures``, ``facts``, ``record_attributes``, ``studies``, ``anchors``), so that a
  compiled trial runs on it directly::

      if eligimatch.omop.is_omop(con):
          eligimatch.omop.create_views(con, as_of=date(2026, 3, 1))   # TEMP views in the connection
          ...                                                         # then run the compiled SQL on con

  :func:`is_omop` (``con, *, schema=None`` -> bool) only reads the catalog of tables.  :func:`create_views`
  (``con, *, as_of=None, schema=None, target_schema=None, complete=None, catalogs=None, temporary=True``) first
  resolves every concept the clinical tables use with the same catalogs and terminology as :func:`patient` (a
  small mapping table per domain), then creates the views; a person's rows in the views are the records
  :func:`patient` maps for that person, so the SQL backend and the row engine see the same patient.

``schema`` is the schema of the CDM tables (``cdm`` -> ``cdm.person``; None: the connection's default);
``paramstyle`` is guessed from the driver (``?`` for DuckDB and SQLite, ``%s`` for psycopg).  What is mapped, the
report and the limits: docs/omop.md.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from eligimatch.errors import OmopError
from eligimatch.sources._patient import Completeness
from eligimatch.sources.omop._db import Database, is_omop
from eligimatch.sources.omop._mapper import OmopImport, OmopMapper
from eligimatch.sources.omop._views import VIEW_NAMES, create_views

__all__ = ["VIEW_NAMES", "OmopError", "OmopImport", "create_views", "is_omop", "patient", "vocabulary"]


def vocabulary(connection: Any, *, schema: str | None = None, paramstyle: str | None = None) -> Any:
    """The database's vocabulary as a terminology (:class:`~eligimatch.knowledge._terminology.OmopVocabulary`),
    combined with the ones eligimatch ships (ICD-10-CM)."""
    from eligimatch.knowledge._terminology import OmopVocabulary, Terminologies, default_terminology

    db = Database(connection, schema=schema, paramstyle=paramstyle)
    return Terminologies([OmopVocabulary(connection, schema=schema, paramstyle=db.paramstyle),
                          *default_terminology().terminologies])


def patient(connection: Any, person_id: Any, as_of: _dt.date | str | None = None, *, schema: str | None = None,
            complete: Any = None, catalogs: Any = None, terminology: Any = None,
            paramstyle: str | None = None) -> OmopImport:
    """One OMOP person as an :class:`OmopImport` (``.patient``, ``.report``).

    ``as_of`` (default: today) is the evaluation date the observation periods are checked against.
    ``complete``: None (default) marks no history complete -- a missing record is then never an absence;
    ``"observation_period"`` marks conditions, therapies and procedures complete when one observation period
    covers the person's life up to ``as_of`` -- it starts on or before the earliest day the birth date allows
    (records before a later start may be missing, and a completeness has no start date: see docs/omop.md); a
    :class:`~eligimatch.Completeness` is taken as given.  Either way a history keeps its completeness only when
    every one of its rows was mapped.  ``terminology`` defaults to :func:`vocabulary` of the same database.

    Raises :class:`~eligimatch.errors.OmopError` when the database is not an OMOP CDM one or has no such person.
    """
    if isinstance(as_of, str):
        as_of = _dt.date.fromisoformat(as_of)
    as_of = as_of or _dt.date.today()
    if complete is not None and complete != "observation_period" and not isinstance(complete, Completeness):
        complete = Completeness.model_validate(complete)
    db = Database(connection, schema=schema, paramstyle=paramstyle)
    if not is_omop(connection, schema=schema):
        raise OmopError("not an OMOP CDM database: it needs the tables person, observation_period and concept"
                        + (f" in schema {schema!r}" if schema else ""))
    if catalogs is None:
        from eligimatch.knowledge._catalogs import Catalogs

        catalogs = Catalogs.default()
    if terminology is None:
        terminology = vocabulary(connection, schema=schema, paramstyle=db.paramstyle)
    return OmopMapper(db, person_id, as_of, catalogs, complete, terminology).run()
