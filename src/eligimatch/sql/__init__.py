"""The SQL backend: trials compiled to SQL, run where the patients are (DuckDB, PostgreSQL, Spark).

* the canonical patient tables (:data:`TABLES`, documented in docs/sql.md) and their DDL (:func:`ddl`);
* :func:`write_duckdb` / :func:`write_parquet`: ``Patient`` objects (so patient JSON and FHIR) into them;
* :func:`compile_sql`: a trial's plan to one query, a column of TRUE/FALSE/NULL per criterion and the verdict;
* :func:`run` / :func:`screen`: the query on a connection (DuckDB, or any :class:`Adapter`).
"""

from eligimatch.sql._run import DIALECTS, Adapter, DuckDBAdapter, SqlCriterion, SqlTrial, compile_sql, prepare, run, screen
from eligimatch.sql._schema import TABLE_NAMES, TABLES, Column, Table, ddl
from eligimatch.sql._writer import iter_rows, patient_rows, write_duckdb, write_parquet

__all__ = [
    "TABLES", "TABLE_NAMES", "Column", "Table", "ddl",
    "patient_rows", "iter_rows", "write_duckdb", "write_parquet",
    "compile_sql", "SqlTrial", "SqlCriterion", "DIALECTS", "Adapter", "DuckDBAdapter", "prepare", "run", "screen",
]
