"""Screen populations on Spark: the same compiled SQL as DuckDB and PostgreSQL, on a Spark session.

    import eligimatch, eligimatch.spark
    spark = eligimatch.spark.local_session()            # local[2]; on a cluster: the platform's session
    pop = eligimatch.spark.screen(spark, "data/canonical/",   # <table>.parquet per canonical table
                                  [eligimatch.load_trial("examples/trials/NCT05621486.elig")],
                                  as_of=datetime.date(2026, 3, 1))
    pop.counts(); pop.attrition("NCT05621486")
    pop.rows_frame().write.parquet("out/rows")           # Spark's own writer: a folder of part files

On a cluster the call is the same; only the session and the paths change (docs/population.md):
Databricks gives ``spark`` in a notebook or job, ``spark-submit`` runs a script that calls
``SparkSession.builder.getOrCreate()``; the Parquet folder is then a DBFS, S3, ABFS or HDFS URL.
Each trial is one SQL query over the canonical tables: Spark plans it, splits it by partitions of
the tables, and runs it on the executors; only the counts come back to the driver.

Needs the ``spark`` extra (``pip install 'eligimatch[spark]'``) and Java 17 or later.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from typing import Any

from eligimatch.sql._population import Population, screen_population
from eligimatch.sql._spark import local_session, spark_tables

__all__ = ["local_session", "screen", "tables"]


def tables(spark: Any, source: Any, *, prefix: str = "", staging: str | os.PathLike[str] | None = None
           ) -> dict[str, Any]:
    """Register the canonical tables of ``source`` (a folder or URL of ``<table>.parquet``, or a DuckDB
    connection holding them) as views of ``spark`` named ``prefix + table``; the DataFrames by table
    name.  From a DuckDB connection the tables are staged as Parquet under ``staging`` (default: a
    temporary folder that lives as long as the process, since Spark reads lazily)."""
    return spark_tables(spark, source, prefix=prefix, staging=staging)


def screen(spark: Any, source: Any, trials: Sequence[Any], *, as_of: _dt.date | None = None,
           anchors: Mapping[str, _dt.date] | None = None) -> Population:
    """Register ``source``'s canonical tables on ``spark`` (``None``: they are already views of the
    session) and screen ``trials``: a :class:`~eligimatch.sql.Population`."""
    if source is not None:
        spark_tables(spark, source)
    return screen_population(spark, trials, as_of=as_of, anchors=anchors,
                             source=str(source) if source is not None else "spark")
