"""Spark: the canonical patient tables as Spark views, for the same compiled SQL (``spark`` dialect).

:func:`spark_tables` registers the canonical tables (:mod:`eligimatch.sql._schema`) as temporary
views of a Spark session, from a folder of Parquet files (``<folder>/<table>.parquet``, one file or
a directory of part files each, as :func:`~eligimatch.sql.write_parquet` or any Spark job writes
them; a path on HDFS, S3, ABFS or DBFS works as well) or from a DuckDB connection holding the
tables (staged as Parquet in ``staging``).  A table absent from the folder is an empty view with
the declared columns, so a database without, say, study participation still runs.

Spark before 4.1 has no TIME type: the ``time`` column of ``observations`` is staged as text
(``HH:MM:SS[.ffffff]``) by :func:`spark_tables` from DuckDB; a Parquet file with a TIME column
needs ``spark.sql.timeType.enabled`` (set by :func:`local_session`).  The compiled SQL orders
results of one date by ``time_key_us``, never by ``time``.

Needs the ``spark`` extra (``pip install 'eligimatch[spark]'``) and Java 17 or later.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eligimatch.errors import EligimatchError
from eligimatch.sql._schema import TABLES

__all__ = ["local_session", "require_pyspark", "spark_tables"]

_SPARK_TYPES = {"TEXT": "STRING", "DATE": "DATE", "TIME": "STRING", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT",
                "INTEGER": "INT", "BOOLEAN": "BOOLEAN"}


def require_pyspark() -> Any:
    try:
        import pyspark
    except ImportError:
        raise EligimatchError("Spark needs pyspark: pip install 'eligimatch[spark]' (and Java 17)") from None
    return pyspark


def local_session(master: str = "local[2]", app_name: str = "eligimatch", conf: Mapping[str, str] | None = None
                  ) -> Any:
    """A Spark session for one machine (``local[N]``): no web UI, few shuffle partitions (the
    populations of one machine are small for Spark), TIME columns readable, small memory pages
    (``spark.buffer.pageSize=1m``: a trial's query chains one join per criterion, and every join of a
    task holds its pages at once).  On a cluster, use the
    session the platform gives (Databricks' ``spark``, or ``SparkSession.builder.getOrCreate()``
    under ``spark-submit``) instead: see docs/population.md."""
    require_pyspark()
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", os.environ.get("ELIGIMATCH_SPARK_PARTITIONS", "4"))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.timeType.enabled", "true")
               # a trial is one query chaining a join per criterion; each sort-merge join of a task takes
               # memory pages of this size at once, and with the default (up to 64 MB, from the heap and
               # the cores) a trial of ~100 criteria ran out of heap even on 24 patients
               .config("spark.buffer.pageSize", os.environ.get("ELIGIMATCH_SPARK_PAGE_SIZE", "1m"))
               # the driver is the executor in local mode: Spark's 1 GB default ran out of heap serialising
               # the tasks of the five seed trials' queries (about 200 criteria) in one session
               .config("spark.driver.memory", os.environ.get("ELIGIMATCH_SPARK_DRIVER_MEMORY", "3g")))
    for k, v in (conf or {}).items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


def _empty(spark: Any, name: str) -> Any:
    t = next(t for t in TABLES if t.name == name)
    schema = ", ".join(f"`{c.name}` {_SPARK_TYPES[c.type]}" for c in t.columns)
    return spark.createDataFrame([], schema)


def _parquet_path(folder: str, name: str) -> str | None:
    if "://" in folder or folder.startswith("dbfs:"):
        return f"{folder.rstrip('/')}/{name}.parquet"  # a remote store: the caller's layout is trusted
    path = Path(folder) / f"{name}.parquet"
    return str(path) if path.exists() else None


def spark_tables(spark: Any, source: Any, *, prefix: str = "", staging: str | os.PathLike[str] | None = None
                 ) -> dict[str, Any]:
    """Register the canonical tables of ``source`` as temporary views of ``spark`` (named
    ``prefix + table``) and return the DataFrames by table name.

    ``source``: a folder (local path or URL) of ``<table>.parquet``, or a DuckDB connection holding
    the canonical tables (written to Parquet under ``staging``, by default a temporary folder that
    lives as long as the process: Spark reads lazily).
    """
    require_pyspark()
    frames: dict[str, Any] = {}
    if isinstance(source, (str, os.PathLike)):
        folder = os.fspath(source)
        for t in TABLES:
            path = _parquet_path(folder, t.name)
            df = spark.read.parquet(path) if path is not None else _empty(spark, t.name)
            frames[t.name] = df
    else:
        out: Path = Path(staging) if staging is not None else Path(tempfile.mkdtemp(prefix="eligimatch-spark-"))
        out.mkdir(parents=True, exist_ok=True)
        for t in TABLES:
            cols = ", ".join(f'CAST("{c.name}" AS VARCHAR) AS "{c.name}"' if c.type == "TIME" else f'"{c.name}"'
                             for c in t.columns)
            staged = out / f"{t.name}.parquet"
            quoted = str(staged).replace("'", "''")
            source.execute(f"COPY (SELECT {cols} FROM {t.name}) TO '{quoted}' (FORMAT parquet)")
            frames[t.name] = spark.read.parquet(str(staged))
    for name, df in frames.items():
        df.createOrReplaceTempView(prefix + name)
    return frames
