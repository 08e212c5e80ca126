"""The store's metadata: which chunks each object has and where each chunk lives, in SQLite (WAL).

The packs are the truth for chunk bytes; this database is the truth for which objects exist.
Other modules of the package declare their tables on the same :class:`Base`, so one
transaction can cover an object and its catalog entry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Integer, LargeBinary, String, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from symphony.hookspecs import DataError

__all__ = ["Base", "ChunkRow", "Database", "ObjectRow", "PackRow", "driver_connection"]


class Base(DeclarativeBase):
    """Every table of the artifact store's index.db."""


class ChunkRow(Base):
    __tablename__ = "chunks"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    pack: Mapped[str] = mapped_column(String, index=True)
    offset: Mapped[int] = mapped_column(Integer)
    length: Mapped[int] = mapped_column(Integer)
    sealed_length: Mapped[int] = mapped_column(Integer)


class ObjectRow(Base):
    __tablename__ = "objects"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    inline: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: msgpack list of chunk ids, in order (empty when inline).
    chunk_ids: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(index=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)


class PackRow(Base):
    __tablename__ = "packs"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    key_id: Mapped[str | None] = mapped_column(String, nullable=True)
    sealer: Mapped[str] = mapped_column(String)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column()
    #: "live" (its chunks are readable) or "doomed" (gc removed its rows; the file is being deleted).
    state: Mapped[str] = mapped_column(String, default="live")


def driver_connection(session: Session) -> sqlite3.Connection:
    """The sqlite3 connection under ``session``, in its transaction (for code shared with the ORM-free paths)."""
    connection: sqlite3.Connection = session.connection().connection.driver_connection  # type: ignore[assignment]
    return connection


class Database:
    """``index.db``: one engine, short explicit sessions; every process of every host may open it at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine: Engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

        @event.listens_for(self.engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            connection.isolation_level = None  # SQLAlchemy's BEGIN below, not the driver's implicit one
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            # Reads map the file instead of copying pages through read(): lookups by key cost half as much.
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _begin(connection: Any) -> None:
            # IMMEDIATE: a writer takes the lock at BEGIN, so two writers queue instead of deadlocking on upgrade;
            # a reader's deferred BEGIN takes no lock at all (WAL), so readers never block writers.
            readonly = connection.get_execution_options().get("readonly", False)
            connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        self._reader = self.engine.execution_options(readonly=True)
        self.create_tables()

    def create_tables(self) -> None:
        """Create every table declared on :class:`Base` so far (idempotent; modules call it after import)."""
        try:
            Base.metadata.create_all(self.engine)
        except SQLAlchemyError as error:
            raise DataError(f"Cannot open the artifact index {self.path}: {error.__cause__ or error}.") from None

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises; ``readonly`` takes no lock."""
        with Session(self._reader if readonly else self.engine) as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """One read-only Core transaction (no ORM session) for SQL written out, as search runs it per query."""
        with self._reader.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def connection(self, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction on a pooled driver connection, without the ORM: put, get and search run here.

        An ORM session costs ~0.3 ms and an ORM row ~10 µs, more than the SQL itself; the same
        BEGIN (IMMEDIATE) as :meth:`session`, and sqlite3 caches each statement's compiled form.
        """
        pooled = self.engine.raw_connection()
        try:
            connection: sqlite3.Connection = pooled.driver_connection  # type: ignore[assignment]
            connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            pooled.close()

    def close(self) -> None:
        self.engine.dispose()
