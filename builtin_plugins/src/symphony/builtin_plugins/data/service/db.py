"""Engines and sessions: SQLite (WAL, writes begin IMMEDIATE) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from symphony.hookspecs import ConfigurationError

#: As many connections as the worker threads the requests run on (anyio's default limit is 40), so a request
#: never waits for a connection while a thread is free.
_POOL = {"pool_size": 20, "max_overflow": 20}


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
        return create_engine(url, pool_pre_ping=True, **_POOL)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **_POOL)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # the driver's own implicit BEGIN off: _sqlite_begin decides the mode
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
        cursor.execute(f"pragma {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # The transaction starts here: a write takes the lock at BEGIN
    # (IMMEDIATE), so two writers queue on the busy timeout instead of failing to upgrade a read lock.
    mode = "IMMEDIATE" if connection.get_execution_options().get("write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine and the two session factories the routes use: reads, and writes (one transaction each)."""

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
        self.reads = sessionmaker(self.engine, expire_on_commit=False)
        self.writes = sessionmaker(self.engine.execution_options(write=True), expire_on_commit=False)

    def session(self, *, write: bool) -> Session:
        return (self.writes if write else self.reads)()

    def dispose(self) -> None:
        self.engine.dispose()
