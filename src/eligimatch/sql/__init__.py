"""The SQL backend: trials compiled to SQL, run where the patients are (DuckDB, PostgreSQL, Spark).

* the canonical patient tables (:data:`TABLES`, documented in docs/sql.md) and their DDL (:func:`ddl`);
* :func:`write_duckdb` / :func:`write_parquet`: ``Patient`` objects (so patient JSON and FHIR) into them;
* :func:`compile_sql`: a trial's plan to one query, a column of TRUE/FALSE/NULL per criterion and the verdict;
* :func:`run` / :func:`screen`: the query on a connection (DuckDB, or any :class:`Adapter`).

Populations (docs/population.md): :func:`open_database` (a DuckDB file or a PostgreSQL URL holding the
canonical tables or an OMOP CDM), :func:`screen_population` (a :class:`Population`: counts by verdict and
tier, one row per patient and trial, :class:`Attrition`, what-if as :class:`WhatIfResult`), on DuckDB,
PostgreSQL (:func:`write_postgres`, :func:`copy_to_postgres`) or Spark (:mod:`eligimatch.spark`).
"""

from eligimatch.sql._agreement import Disagreement, disagreements
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
from eligimatch.sql._writer import iter_rows, patient_rows, write_duckdb, write_parquet

# populations: counts, rows, attrition and what-if where the patients are (DuckDB, PostgreSQL, Spark)
from eligimatch.sql._attrition import Attrition, Step
from eligimatch.sql._backends import Backend, connect_backend
from eligimatch.sql._database import Database, open_database
from eligimatch.sql._population import Population, TrialRun, screen_population
from eligimatch.sql._postgres import copy_to_postgres, write_postgres
from eligimatch.sql._whatif import WhatIf
from eligimatch.sql._whatif_run import WhatIfResult

__all__ = [
    "DIALECTS",
    "TABLES",
    "Disagreement",
    "disagreements",
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
    "Database",
    "Population",
    "Step",
    "TrialRun",
    "WhatIf",
    "WhatIfResult",
    "connect_backend",
    "copy_to_postgres",
    "open_database",
    "screen_population",
    "write_postgres",
]
