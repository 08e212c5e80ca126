"""Errors of the subprocess runtime, all ExtensionErrors so the host handles them as one family.

::

    ExtensionError                      (symphony.hookspecs)
    └── WorkerError                     .worker names the extension
        ├── WorkerStartError            the worker could not be started or loaded
        │   └── ConfinementUnavailableError   needed confinement missing, weaker mode not allowed
        ├── WorkerCrashedError          the worker died (exit status or signal named)
        ├── WorkerTimeoutError          wall-clock limit reached; the worker was killed
        ├── WorkerProtocolError         the worker wrote something that is not the protocol
        └── WorkerNotRunningError       used before start() or after stop()

The crash, protocol and not-running errors are also ExtensionCrashedErrors and
the timeout an ExtensionTimeoutError (:mod:`symphony.sandbox.runtime`), which
is how the extension manager knows to restart the worker.
"""

from __future__ import annotations

from symphony.hookspecs import ExtensionError
from symphony.hookspecs.runtimes import ExtensionCrashedError, ExtensionTimeoutError

__all__ = [
    "ConfinementUnavailableError",
    "WorkerCrashedError",
    "WorkerError",
    "WorkerNotRunningError",
    "WorkerProtocolError",
    "WorkerStartError",
    "WorkerTimeoutError",
]


class WorkerError(ExtensionError):
    """A sandboxed worker failed; ``worker`` is the extension's name."""

    category = "extension.worker"

    def __init__(self, message: str, *, worker: str = "") -> None:
        super().__init__(message)
        self.worker = worker


class WorkerStartError(WorkerError):
    """The worker did not come up: interpreter, handshake, or the extension's import failed."""

    category = "extension.worker.start"


class ConfinementUnavailableError(WorkerStartError):
    """A mechanism the policy needs is unavailable and the policy does not allow a weaker mode."""

    category = "extension.worker.confinement"


class WorkerCrashedError(WorkerError, ExtensionCrashedError):
    """The worker process ended while it was needed; the message names the exit status or signal."""

    category = "extension.worker.crashed"


class WorkerTimeoutError(WorkerError, ExtensionTimeoutError):
    """An invocation outlived its wall-clock limit; the worker was killed."""

    category = "extension.worker.timeout"


class WorkerProtocolError(WorkerError, ExtensionCrashedError):
    """The worker wrote bytes that are not a valid protocol frame or envelope; it was killed."""

    category = "extension.worker.protocol"


class WorkerNotRunningError(WorkerError, ExtensionCrashedError):
    """The worker was used before ``start()`` or after ``stop()`` or a crash."""

    category = "extension.worker.not_running"
