"""The confined subprocess runtime: one worker process per untrusted extension.

The parent side is :class:`SubprocessWorker`; a worker is forked by the host's
zygote (:mod:`.zygote`) or started afresh (:mod:`.bootstrap`), confines itself
(:mod:`symphony.sandbox.confine`) and serves the worker protocol
(:mod:`._protocol`) over its stdin and stdout pipes.  Extensions reach their
host through :mod:`symphony.hookspecs.guest`.  Parent-side names are imported
lazily so that a worker does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import (
    ConfinementUnavailableError,
    WorkerCrashedError,
    WorkerError,
    WorkerNotRunningError,
    WorkerProtocolError,
    WorkerStartError,
    WorkerTimeoutError,
)

if TYPE_CHECKING:
    from .worker import HostCall, SubprocessWorker, WorkerInfo, WorkerStats

__all__ = [
    "ConfinementUnavailableError",
    "HostCall",
    "SubprocessWorker",
    "WorkerCrashedError",
    "WorkerError",
    "WorkerInfo",
    "WorkerNotRunningError",
    "WorkerProtocolError",
    "WorkerStartError",
    "WorkerStats",
    "WorkerTimeoutError",
]

_LAZY = {"HostCall", "SubprocessWorker", "WorkerInfo", "WorkerStats"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import worker

        return getattr(worker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
