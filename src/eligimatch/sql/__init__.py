"""The SQL backend: trials compiled to SQL, run where the patients are (DuckDB, PostgreSQL, Spark).

* the canonical patient tables (:data:`TABLES`, documented in docs/sql.md) and their DDL (:func:`ddl`);
* :func:`write_duckdb` / :func:`write_parquet`: ``Patient`` objects (so patient JSON and FHIR) into them;
* :func:`compile_sql`: a trial's plan to one query, a column of TRUE/FALSE/NULL per criterion and the verdict;
* :func:`run` / :func:`screen`: the query on a connection (DuckDB, or any :class:`Adapter`).

Populations (docs/population.md): :func:`open_database` (a DuckDB file or a PostgreSQL URL holding the
canonical tables or an OMOP CDM), :func:`screen_population` (a :class:`Population`: counts by verdict and
tier, one row per patient and trial, :class:`Attrition`, what-if as :class:`WhatIfResult`), on DuckDB,
PostgreSQL (:func:`write_postgres`, :func:`copy_to_postgres`) or Spark (:mod:`eligimatch.spark`); the
backends themselves (:class:`DuckDBBackend`, :class:`PostgresBackend`, :class:`SparkBackend`, made by
:func:`connect_backend`), what a database holds (:func:`database_kind`), the columns of a run
(:class:`CriterionColumn`), and a trial edited for a what-if (:func:`edit_trial`, :class:`Threshold`,
:class:`EditedTrial`).

One engine, two backends, proven equal: :func:`disagreements` lists every patient, trial and criterion
where the SQL backend and the row engine differ (a list of :class:`Disagreement`; the agreement tests
require it empty).
"""

# the agreement check (the SQL backend against the row engine); populations: counts, rows, attrition and
# what-if where the patients are (DuckDB, PostgreSQL, Spark); compiling and running trials; the tables
from eligimatch.sql._agreement import Disagreement, disagreements
from eligimatch.sql._attrition import Attrition, Step
from eligimatch.sql._backends import Backend, DuckDBBackend, PostgresBackend, SparkBackend, connect_backend
from eligimatch.sql._database import Database, database_kind, open_database
from eligimatch.sql._population import CriterionColumn, Population, TrialRun, screen_population
from eligimatch.sql._postgres import copy_to_postgres, write_postgres
from eligimatch.sql._run import (
    DIALECTS,
    Adapter,
    DuckDBAdapter,
    SqlCriterion,
    SqlTrial,
    compile_sql,
    prepare,
    run,
    screen,
)
from eligimatch.sql._schema import TABLE_NAMES, TABLES, Column, Table, ddl
from eligimatch.sql._whatif import EditedTrial, Threshold, WhatIf, edit_trial
from eligimatch.sql._whatif_run import WhatIfResult
from eligimatch.sql._writer import iter_rows, patient_rows, write_duckdb, write_parquet

__all__ = [
    "DIALECTS",
    "TABLES",
    "TABLE_NAMES",
    "Adapter",
    "Column",
    "DuckDBAdapter",
    "SqlCriterion",
    "SqlTrial",
    "Table",
    "compile_sql",
    "ddl",
    "iter_rows",
    "patient_rows",
    "prepare",
    "run",
    "screen",
    "write_duckdb",
    "write_parquet",
    # populations
    "Attrition",
    "Backend",
    "CriterionColumn",
    "Database",
    "DuckDBBackend",
    "EditedTrial",
    "Population",
    "PostgresBackend",
    "SparkBackend",
    "Step",
    "Threshold",
    "TrialRun",
    "WhatIf",
    "WhatIfResult",
    "connect_backend",
    "copy_to_postgres",
    "database_kind",
    "edit_trial",
    "open_database",
    "screen_population",
    "write_postgres",
    # agreement
    "Disagreement",
    "disagreements",
]
