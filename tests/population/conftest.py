"""Fixtures of the population tests: a real PostgreSQL server and a Spark session, each started once.

Without the tool (no PostgreSQL server binaries, no psycopg, no pyspark or Java) a test that needs
it is skipped with the reason, except in CI (``CI`` set, as .ci/run does), where it fails: CI
installs them (.ci/run: Debian's ``postgresql`` and a JRE; the ``test`` extra: psycopg, pyspark).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from pgserver import PostgresServer, unavailable


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_conninfo() -> Iterator[str]:
    """The libpq connection string of a PostgreSQL server started for this test session (stopped after)."""
    reason = unavailable()
    if reason:
        _missing(reason)
    with PostgresServer.start() as server:
        yield server.conninfo


@pytest.fixture()
def pg(postgres_conninfo: str) -> Iterator[object]:
    """A connection in a schema of its own (dropped after), so tests do not see each other's tables."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_conninfo, autocommit=False) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.commit()
        yield conn
        conn.rollback()
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.commit()


def spark_unavailable() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'eligimatch[spark]')"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Spark needs a Java runtime (Debian: apt-get install default-jre-headless)"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One ``local[2]`` Spark session for the population tests (start-up takes seconds), stopped after.
    Each test registers the views it reads (``eligimatch.spark.tables``)."""
    reason = spark_unavailable()
    if reason:
        _missing(reason)
    from eligimatch.spark import local_session

    session = local_session("local[2]", "eligimatch-tests", {"spark.sql.shuffle.partitions": "2"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
