"""The audit log: every decision of the checker, allowed and denied, in the permissions database.

Durability rule: a **denial is committed before the checker returns it**
(together with every allowed decision buffered before it, so order is kept);
allowed decisions are buffered and written by a background thread every
``flush_interval`` seconds or every :data:`BATCH` entries, and on
:meth:`AuditLog.close` (also at interpreter exit).  A crash can therefore lose
at most the last interval of *allowed* decisions, never a denial.

What is written is only what a :class:`Decision` holds (extension, permission
text, request target, rule, reason, run id): paths, hosts, capabilities and
model ids, never configuration values or request bodies.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from pathlib import Path
from typing import Final, Literal

import msgspec
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ._db import AuditRow, open_engine
from ._requests import Decision

__all__ = ["BATCH", "AuditEntry", "AuditLog"]

#: Buffered allowed decisions that trigger a write without waiting for the interval.
BATCH: Final = 512

Mode = Literal["enforce", "learn"]

_TABLE: Final[Table] = AuditRow.__table__  # type: ignore[assignment]  # declarative tables are Tables
#: The columns :meth:`AuditLog.flush` writes, in the order of its row tuples (generated from the model).
_COLUMNS: Final = ("at", "extension", "kind", "permission", "target", "decision", "rule", "reason", "run_id", "mode")
assert set(_COLUMNS) == {c.name for c in _TABLE.columns} - {"id"}, "AuditRow and _COLUMNS disagree"
_INSERT: Final = f"INSERT INTO {_TABLE.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded decision, as read back (``symphony audit --json`` prints these)."""

    id: int
    at: float
    extension: str
    kind: str
    permission: str
    target: str
    decision: Literal["allowed", "denied"]
    rule: str
    reason: str
    run_id: str | None = None
    mode: Mode = "enforce"


class AuditLog:
    """Records decisions (see the module docstring for when they reach the disk)."""

    def __init__(self, database: Path, *, flush_interval: float = 0.5) -> None:
        self.database = database
        self._engine = open_engine(database)
        self._interval = flush_interval
        self._buffer: list[tuple[float, Decision, str | None, Mode]] = []
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        atexit.register(_close_ref, weakref.ref(self))

    def record(self, decision: Decision, *, run_id: str | None = None, mode: Mode = "enforce") -> None:
        """Add ``decision``; a denial is committed before this returns."""
        with self._buffer_lock:
            self._buffer.append((time.time(), decision, run_id, mode))
            size = len(self._buffer)
        if not decision.allowed or self._closed:
            self.flush()
        elif self._thread is None:
            self._start()
        elif size >= BATCH:
            self._wake.set()

    def flush(self) -> int:
        """Write everything buffered now; returns how many entries were written."""
        with self._write_lock:
            with self._buffer_lock:
                pending, self._buffer = self._buffer, []
            if pending:
                rows = [
                    (
                        at,
                        d.extension,
                        d.kind,
                        d.permission,
                        d.target,
                        "allowed" if d.allowed else "denied",
                        d.rule,
                        d.reason,
                        run_id,
                        mode,
                    )
                    for at, d, run_id, mode in pending
                ]
                # A driver-level executemany through SQLAlchemy's connection: half the cost of a Core insert.
                with self._engine.begin() as connection:
                    connection.exec_driver_sql(_INSERT, rows)
            return len(pending)

    def _start(self) -> None:
        with self._buffer_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="symphony-audit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Write what is buffered and stop the background writer; later records are written at once."""
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()

    def entries(
        self,
        *,
        extension: str | None = None,
        decision: Literal["allowed", "denied"] | None = None,
        run_id: str | None = None,
        limit: int | None = 100,
    ) -> list[AuditEntry]:
        """The newest entries first, filtered; buffered entries are written first so they show."""
        self.flush()
        query = select(AuditRow).order_by(AuditRow.id.desc())
        if extension is not None:
            query = query.where(AuditRow.extension == extension)
        if decision is not None:
            query = query.where(AuditRow.decision == decision)
        if run_id is not None:
            query = query.where(AuditRow.run_id == run_id)
        if limit is not None:
            query = query.limit(limit)
        with Session(self._engine) as session:
            return [
                AuditEntry(
                    id=row.id,
                    at=row.at,
                    extension=row.extension,
                    kind=row.kind,
                    permission=row.permission,
                    target=row.target,
                    decision="denied" if row.decision == "denied" else "allowed",
                    rule=row.rule,
                    reason=row.reason,
                    run_id=row.run_id,
                    mode="learn" if row.mode == "learn" else "enforce",
                )
                for row in session.scalars(query)
            ]


def _close_ref(ref: weakref.ref[AuditLog]) -> None:
    log = ref()
    if log is not None:
        log.close()
