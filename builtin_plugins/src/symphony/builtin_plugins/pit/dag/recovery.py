"""Recovery: which errors are worth retrying, how long to wait, and the failure report.

Every exception a node raises gets a *category*: a SymphonyError's own
(``data.network``), ``timeout`` for timeouts, ``connection`` for refused or
reset connections, ``os`` for other OS errors, ``error`` for anything else.
A node's ``retry_on`` entries match a category exactly or as a dotted prefix
(``data`` matches ``data.network``), an exception class name (``ValueError``),
or everything (``*``).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from symphony.hookspecs import SymphonyError

__all__ = ["NodeFailure", "category_of", "is_retryable"]


def category_of(error: BaseException) -> str:
    """The category of ``error`` that retry policies and failure reports use."""
    if isinstance(error, SymphonyError):
        return error.category
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionError):
        return "connection"
    if isinstance(error, OSError):
        return "os"
    return "error"


def is_retryable(error: BaseException, retry_on: Iterable[str]) -> bool:
    """Whether one of ``retry_on`` matches ``error`` (see the module docstring)."""
    category = category_of(error)
    names = {cls.__name__ for cls in type(error).__mro__}
    return any(entry in ("*", category) or category.startswith(entry + ".") or entry in names for entry in retry_on)


class NodeFailure(msgspec.Struct, frozen=True, kw_only=True):
    """Why a node failed: the node, the attempt that failed last, the category and the cause."""

    node: str
    attempt: int
    attempts: int
    category: str
    cause: str
    error_type: str

    @classmethod
    def of(cls, node: str, attempt: int, attempts: int, error: BaseException) -> NodeFailure:
        cause = str(error) or type(error).__name__
        if isinstance(error, TimeoutError) and not str(error):
            cause = "the attempt timed out"
        return cls(
            node=node,
            attempt=attempt,
            attempts=attempts,
            category=category_of(error),
            cause=cause,
            error_type=type(error).__name__,
        )

    def message(self) -> str:
        """One line: ``Node 'fetch' failed on attempt 3 of 3 (connection): ConnectionError: refused.``"""
        cause = self.cause.rstrip(".")
        return (
            f"Node {self.node!r} failed on attempt {self.attempt} of {self.attempts}"
            f" ({self.category}): {self.error_type}: {cause}."
        )
