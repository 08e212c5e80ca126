"""The audit log: every decision of the checker, allowed and denied, kept by port ``permission_records``.

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
import logging
import threading
import time
import weakref
from pathlib import Path
from typing import Final, Literal

import msgspec

from symphony.hookspecs.ports import DecisionRecord, PermissionRecordsPort

from ._grants import records_at
from ._requests import Decision

__all__ = ["BATCH", "AuditEntry", "AuditLog"]

#: Buffered allowed decisions that trigger a write without waiting for the interval.
BATCH: Final = 512
#: Decisions kept for a retry while the records refuse writes; beyond it the oldest are dropped (and logged).
KEPT: Final = 200 * BATCH

Mode = Literal["enforce", "learn"]

_log = logging.getLogger(__name__)


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

    def __init__(self, records: PermissionRecordsPort | Path, *, flush_interval: float = 0.5) -> None:
        self.records = records_at(records)
        self._interval = flush_interval
        self._buffer: list[DecisionRecord] = []
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        atexit.register(_close_ref, weakref.ref(self))

    def record(self, decision: Decision, *, run_id: str | None = None, mode: Mode = "enforce") -> None:
        """Add ``decision``; a denial is committed before this returns."""
        with self._buffer_lock:
            self._buffer.append(
                DecisionRecord(
                    at=time.time(),
                    extension=decision.extension,
                    kind=decision.kind,
                    permission=decision.permission,
                    target=decision.target,
                    decision="allowed" if decision.allowed else "denied",
                    rule=decision.rule,
                    reason=decision.reason,
                    run_id=run_id,
                    mode=mode,
                )
            )
            size = len(self._buffer)
        if not decision.allowed or self._closed:
            self.flush()
        elif self._thread is None:
            self._start()
        elif size >= BATCH:
            self._wake.set()

    def flush(self) -> int:
        """Write everything buffered now, in one call of the port; returns how many entries were written.

        When the port fails (a DataError), the entries go back to the front of
        the buffer, to be written by the next flush, and the error is raised.
        """
        with self._write_lock:
            with self._buffer_lock:
                pending, self._buffer = self._buffer, []
            if pending:
                try:
                    self.records.record_decisions(pending)
                except BaseException:
                    with self._buffer_lock:
                        self._buffer[:0] = pending
                        dropped = len(self._buffer) - KEPT
                        if dropped > 0:
                            del self._buffer[:dropped]
                            _log.warning("The permission audit dropped its %d oldest unwritten decisions.", dropped)
                    raise
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
            try:
                self.flush()
            except Exception as error:  # kept in the buffer: the next interval tries again
                _log.warning("The permission audit could not be written, retrying: %s", error)

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
        found = self.records.decisions(extension=extension, decision=decision, run_id=run_id, limit=limit)
        return [_entry(record) for record in found]


def _entry(record: DecisionRecord) -> AuditEntry:
    fields = msgspec.structs.asdict(record)
    fields["id"] = record.id or 0
    return AuditEntry(**fields)


def _close_ref(ref: weakref.ref[AuditLog]) -> None:
    log = ref()
    if log is not None:
        try:
            log.close()
        except Exception as error:  # at exit there is no one left to raise to
            _log.warning("The permission audit lost its last allowed decisions: %s", error)
