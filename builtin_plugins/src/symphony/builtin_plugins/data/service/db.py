"""Engines and sessions: SQLite (WAL, writes begin IMMEDIATE) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from symphony.hookspecs import ConfigurationError

#: As many connections as the worker threads the requests run on (anyio's default limit is 40), so a request
#: never waits for a connection while a thread is free.
#: As many pooled connections as requests can run at once (anyio's 40 worker threads), none made and closed on demand:
#: an overflow connection closed after each use is reconnected under load (100+ PostgreSQL sessions per 5 s seen).
_POOL = {"pool_size": 40, "max_overflow": 0}
#: JSON columns (specs, audit records) through msgspec rather than the json module: several per write.
_JSON: dict[str, Any] = {
    "json_serializer": lambda document: msgspec.json.encode(document).decode(),
    "json_deserializer": msgspec.json.decode,
}
#: How long a SQLite transaction waits for another writer's lock before it fails.
BUSY_TIMEOUT_MS = 10_000


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy's default driver would be psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def open_engine(url: str) -> Engine:
    """An engine for ``url``; on SQLite, WAL and a busy timeout so readers never block the writer."""
    url = normalize_url(url)
    if not url.startswith("sqlite"):
        # No pre-ping (a round trip per checkout): a connection the server closed fails on use, and the pool then
        # replaces every connection as old; Service.serve runs a request that met one again (nothing committed).
        return create_engine(url, **_POOL, **_JSON)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **_POOL, **_JSON)
    event.listen(engine, "connect", sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def sqlite_pragmas(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # the driver's own implicit BEGIN off: _sqlite_begin decides the mode
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}"):
        cursor.execute(f"pragma {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # The transaction starts here: a write takes the lock at BEGIN
    # (IMMEDIATE), so two writers queue on the busy timeout instead of failing to upgrade a read lock.
    # One that must not wait (it runs on the event loop) fails at once instead, and is run again where it may wait.
    options = connection.get_execution_options()
    timeout = BUSY_TIMEOUT_MS if options.get("wait", True) else 0
    if connection.info.get("busy_timeout", BUSY_TIMEOUT_MS) != timeout:  # a statement only when it changes
        connection.exec_driver_sql(f"pragma busy_timeout={timeout}")
        connection.info["busy_timeout"] = timeout
    connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if options.get('write') else 'DEFERRED'}")


class Database:
    """One engine and the session factories the routes use: reads and writes (one transaction each)."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        self.dialect = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            self.engine.dispose()
            raise ConfigurationError(
                f"The data service runs on SQLite or PostgreSQL, not {self.dialect};"
                " use a sqlite:// or postgresql:// URL."
            )
        # expire_on_commit=False: a record returned after commit is read from memory, not re-selected.
        # Reads on PostgreSQL autocommit: no BEGIN and ROLLBACK round trips, and no less consistent, since under READ
        # COMMITTED each statement of a transaction takes its own snapshot anyway.
        reads = {} if self.dialect == "sqlite" else {"isolation_level": "AUTOCOMMIT"}
        self._sqlite_file = _sqlite_file(self.engine)
        self._raw: sqlite3.Connection | None = None
        self._sessions = {
            (write, wait): sessionmaker(
                self.engine.execution_options(write=write, wait=wait, **({} if write else reads)),
                expire_on_commit=False,
            )
            for write in (False, True)
            for wait in (False, True)
        }

    def session(self, *, write: bool, wait: bool = True) -> Session:
        """A session for one transaction; ``wait=False`` (SQLite): fail at once when another writer holds the lock."""
        return self._sessions[write, wait]()

    def raw_sqlite(self) -> sqlite3.Connection | None:
        """A sqlite3 connection of its own to the database file, kept until ``dispose``; None off a SQLite file.

        Configured as the pool's are (WAL, ``synchronous=NORMAL``, foreign keys) but never waiting for a lock: it
        serves writes made on the event loop (``inline.py``), which go elsewhere when they would wait. Nor does it
        checkpoint the log when a commit makes it long (two fsyncs and the copy, ~10 ms): its user calls
        ``checkpoint_log`` from another thread instead. Its callers take turns.
        """
        if self._raw is None and self._sqlite_file is not None:
            raw = sqlite3.connect(self._sqlite_file, check_same_thread=False)
            sqlite_pragmas(raw, None)
            raw.execute("pragma busy_timeout=0")
            raw.execute("pragma wal_autocheckpoint=0")
            self._raw = raw
        return self._raw

    def checkpoint_log(self) -> None:
        """Copy the write-ahead log's commits into the database file (SQLite; a passive checkpoint: it waits for
        nobody and nobody waits for it), so the next writer starts the log over instead of growing it."""
        if self._sqlite_file is None:
            return
        file = f"{Path(self._sqlite_file).absolute().as_uri()}?mode=rw"  # never create it: it may be gone by now
        with closing(sqlite3.connect(file, uri=True, isolation_level=None)) as connection:
            connection.execute("pragma wal_checkpoint(PASSIVE)").fetchall()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._raw is not None:
            self._raw.close()
            self._raw = None


def sync_log(engine: Engine) -> None:
    """Force SQLite's write-ahead log to disk: every commit in it survives a power loss too, as each would with
    ``synchronous=FULL``. Nothing to do on PostgreSQL, whose commits are on disk when they return."""
    path = _sqlite_file(engine)
    if path is None:
        return
    try:
        descriptor = os.open(f"{path}-wal", os.O_RDONLY)
    except FileNotFoundError:  # no log: every commit is in the database file, synced when the log was emptied
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sqlite_file(engine: Engine) -> str | None:
    """The file of a SQLite database given by a plain path (not in memory, no URI options); None otherwise."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.query or url.database in (None, "", ":memory:"):
        return None
    return url.database
