"""Errors across the wire: a node's failure on a worker keeps its category in the tracker.

Retry policies and failure reports work on an error's *category* and class names
(see ``recovery.py``).  An exception that pickles comes back as itself, so nothing
changes.  One that does not (a class whose ``__init__`` takes other arguments than
its ``args``) is carried as :class:`RemoteFailure` and rebuilt on the tracker's side
as the closest class with the same category: the Symphony error class that owns the
category, or ``TimeoutError`` / ``ConnectionError`` / ``OSError`` / ``RuntimeError``.

Failures of the cluster itself become :class:`WorkerLostError` or
:class:`ClusterUnavailableError`: the link between the tracker and the work broke,
so both are a :class:`~symphony.hookspecs.TransportError` (category
``ipc.transport``, which the default ``retry_on`` retries) and a ``ConnectionError``.
"""

from __future__ import annotations

import pickle
from functools import lru_cache

from symphony.hookspecs import SymphonyError, TransportError, error_class_for

from ..recovery import category_of

__all__ = ["ClusterUnavailableError", "RemoteFailure", "WorkerLostError", "portable", "rebuild"]


class WorkerLostError(TransportError, ConnectionError):
    """The worker running a node died, or the cluster dropped its task: retry the node elsewhere."""


class ClusterUnavailableError(TransportError, ConnectionError):
    """The Dask scheduler could not be reached (or went away)."""


class RemoteFailure(Exception):
    """A worker-side exception that cannot be pickled: its class name, category and message (a carrier)."""

    def __init__(self, error_type: str, category: str, message: str) -> None:
        super().__init__(error_type, category, message)
        self.error_type = error_type
        self.category = category
        self.message = message


def portable(error: BaseException) -> BaseException:
    """``error`` itself when it survives a pickle round trip, else a :class:`RemoteFailure` describing it."""
    try:
        copy = pickle.loads(pickle.dumps(error))
    except Exception:
        copy = None
    if type(copy) is type(error):
        return error
    return RemoteFailure(type(error).__name__, category_of(error), str(error))


_BUILTIN: dict[str, type[Exception]] = {
    "timeout": TimeoutError,
    "connection": ConnectionError,
    "os": OSError,
    "error": RuntimeError,
}


def rebuild(failure: RemoteFailure) -> Exception:
    """The closest exception to the one raised on the worker, with the same category."""
    message = f"{failure.error_type}: {failure.message}" if failure.message else failure.error_type
    builtin = _BUILTIN.get(failure.category)
    if builtin is not None:
        return builtin(message)
    cls = error_class_for(failure.category)
    if cls.category == failure.category:
        try:
            return cls(message)
        except TypeError:  # its __init__ wants more than a message
            pass
    return _with_category(failure.category)(message)


@lru_cache(maxsize=64)
def _with_category(category: str) -> type[SymphonyError]:
    """A SymphonyError subclass whose category is exactly ``category`` (a plugin's own category)."""
    return type("RemoteError", (SymphonyError,), {"category": category, "__module__": __name__})
