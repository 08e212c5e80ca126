"""Durable stale marks: which artifacts no longer reflect their inputs, and why, in ``<data_dir>/stale.db``.

SQLite in WAL mode through SQLAlchemy; each write is one transaction, so a mark is
either recorded whole or not at all, and several processes may mark at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, create_engine, event, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from symphony.hookspecs import DataError, ValidationError

from ..artifacts.catalog import is_content_id

__all__ = ["Mark", "Marks"]


class _Base(DeclarativeBase):
    pass


class Mark(_Base):
    """An artifact marked stale: the latest reason wins."""

    __tablename__ = "marks"

    artifact_id: Mapped[str] = mapped_column(String(71), primary_key=True)
    reason: Mapped[str]
    marked_at: Mapped[float]


class Marks:
    """The marks database; opened lazily, and read as empty while it does not exist (a report writes nothing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine: Engine | None = None

    def _open(self, *, create: bool) -> Engine | None:
        if self._engine is None:
            if not create and not self.path.exists():
                return None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(f"sqlite:///{self.path}", connect_args={"check_same_thread": False})

                @event.listens_for(engine, "connect")
                def _pragmas(connection: Any, _record: Any) -> None:
                    cursor = connection.cursor()
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA busy_timeout=5000")
                    cursor.close()

                _Base.metadata.create_all(engine)
            except (OSError, SQLAlchemyError) as error:
                raise DataError(f"Cannot open the stale marks database {self.path}: {error}.") from None
            self._engine = engine
        return self._engine

    def mark(self, artifact_ids: Iterable[str], reason: str) -> None:
        """Mark every id in one transaction; a malformed id marks none."""
        ids = list(dict.fromkeys(artifact_ids))
        bad = [i for i in ids if not is_content_id(i)]
        if bad:
            raise ValidationError(f"Cannot mark {bad[0]!r} stale: an artifact id is 'sha256:' and 64 hex digits.")
        if not ids:
            return
        engine = self._open(create=True)
        assert engine is not None
        now = time.time()
        statement = insert(Mark).values([{"artifact_id": i, "reason": reason, "marked_at": now} for i in ids])
        statement = statement.on_conflict_do_update(
            index_elements=["artifact_id"], set_={"reason": statement.excluded.reason, "marked_at": now}
        )
        try:
            with Session(engine) as session, session.begin():
                session.execute(statement)
        except SQLAlchemyError as error:
            raise DataError(f"Cannot write stale marks to {self.path}: {error.__cause__ or error}.") from None

    def reason(self, artifact_id: str) -> str | None:
        """Why ``artifact_id`` was marked stale (None: it was not)."""
        engine = self._open(create=False)
        if engine is None:
            return None
        try:
            with Session(engine) as session:
                return session.scalar(select(Mark.reason).where(Mark.artifact_id == artifact_id))
        except SQLAlchemyError as error:
            raise DataError(f"Cannot read stale marks from {self.path}: {error.__cause__ or error}.") from None

    def all(self) -> dict[str, str]:
        """Every mark: artifact id -> reason."""
        engine = self._open(create=False)
        if engine is None:
            return {}
        try:
            with Session(engine) as session:
                return {row.artifact_id: row.reason for row in session.scalars(select(Mark))}
        except SQLAlchemyError as error:
            raise DataError(f"Cannot read stale marks from {self.path}: {error.__cause__ or error}.") from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
