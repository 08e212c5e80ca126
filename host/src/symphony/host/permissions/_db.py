"""The host's own permissions file: grants, user trust marks and the audit log in one SQLite file.

SQLAlchemy 2 typed ORM models over SQLite in WAL mode: readers (``symphony
audit``) never block the host writing, and a committed transaction survives a
crash of the process (``synchronous=NORMAL``; an operating-system crash or
power loss may lose the last commits).  One engine per database path per
process.  Used by :class:`._records.HostPermissionRecords`, the host's own
records when no plugin provides port ``permission_records``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Float, Index, Integer, String, UniqueConstraint, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from symphony.hookspecs import ConfigurationError

__all__ = ["AuditRow", "GrantRow", "StateRow", "TrustRow", "open_engine"]


class _Model(DeclarativeBase):
    pass


class GrantRow(_Model):
    """One permission (single target, text form) granted to one extension."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("extension", "permission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extension: Mapped[str] = mapped_column(String, index=True)
    permission: Mapped[str] = mapped_column(String)
    granted_at: Mapped[float] = mapped_column(Float)
    granted_by: Mapped[str] = mapped_column(String)
    #: How it was granted, e.g. ``symphony ext grant`` or ``api``.
    source: Mapped[str] = mapped_column(String)
    budget_calls: Mapped[int | None] = mapped_column(Integer, nullable=True)
    budget_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    budget_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The distribution it was granted to (see :mod:`._identity`); NULL for extensions that are not one.
    identity: Mapped[str | None] = mapped_column(String, nullable=True)


class TrustRow(_Model):
    """An extension the user marked trusted."""

    __tablename__ = "trusted"

    extension: Mapped[str] = mapped_column(String, primary_key=True)
    trusted_at: Mapped[float] = mapped_column(Float)
    trusted_by: Mapped[str] = mapped_column(String)
    identity: Mapped[str | None] = mapped_column(String, nullable=True)


class StateRow(_Model):
    """Counters: ``grants_version`` grows with every change to grants or trust, in any process."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class AuditRow(_Model):
    """One decision of the checker.  Never holds configuration values: only request targets."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_extension", "extension"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Float)
    extension: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    permission: Mapped[str] = mapped_column(String)
    target: Mapped[str] = mapped_column(String)
    decision: Mapped[str] = mapped_column(String, index=True)
    rule: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)
    run_id: Mapped[str | None] = mapped_column(String, nullable=True)
    mode: Mapped[str] = mapped_column(String)


_engines: dict[Path, Engine] = {}
_lock = threading.Lock()


def close_engine(engine: Engine) -> None:
    """Close ``engine``'s connections and forget it: the next ``open_engine`` of its file makes a new one.

    An engine still held elsewhere keeps working (SQLAlchemy reconnects on use).
    """
    with _lock:
        for path in [path for path, kept in _engines.items() if kept is engine]:
            del _engines[path]
    engine.dispose()


def _pragmas(connection: sqlite3.Connection, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _add_identity_columns(engine: Engine) -> None:
    """Databases made before grants were tied to distributions gain the column; their rows stay NULL.

    A NULL identity matches no installed distribution, so such grants are
    shown as stale and granted again rather than inherited by whoever holds
    the name now.
    """
    columns = inspect(engine)
    with engine.begin() as connection:
        for table in ("grants", "trusted"):
            if "identity" not in {column["name"] for column in columns.get_columns(table)}:
                connection.execute(text(f"ALTER TABLE {table} ADD COLUMN identity VARCHAR"))


def open_engine(path: Path) -> Engine:
    """The engine of the database at ``path``, created with its tables on first use in this process."""
    path = path.expanduser().absolute()
    with _lock:
        if path in _engines:
            return _engines[path]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(f"sqlite:///{path}")
            event.listen(engine, "connect", _pragmas)
            _Model.metadata.create_all(engine)
            _add_identity_columns(engine)
        except (OSError, SQLAlchemyError) as error:
            raise ConfigurationError(
                f"Cannot open the permissions database {path}: {error}. "
                "Set `permissions.database` (or `data_dir`) to a writable location."
            ) from None
        _engines[path] = engine
        return engine
