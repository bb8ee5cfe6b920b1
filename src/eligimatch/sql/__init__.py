"""The SQL backend: trials compiled to SQL, run where the patients are (DuckDB, PostgreSQL, Spark).

* :mod:`eligimatch.sql._schema`: the canonical patient tables (documented in docs/sql.md) and their DDL;
* :mod:`eligimatch.sql._writer`: ``Patient`` objects (so patient JSON and FHIR) into those tables.
"""

from eligimatch.sql._schema import TABLE_NAMES, TABLES, Column, Table, ddl
from eligimatch.sql._writer import iter_rows, patient_rows, write_duckdb, write_parquet

__all__ = [
           "TABLES",
           "TABLE_NAMES",
           "Column",
           "Table",
           "ddl",
           "iter_rows",
           "patient_rows",
           "write_duckdb",
           "write_parquet",
]
