"""Correlation tracker: pending requests keyed by message id, awaiting their response.

A request's future is resolved by the envelope whose ``correlation_id`` is the
request's ``message_id``.  A request that times out or whose awaiting task is
cancelled leaves the table at once and its id is remembered (bounded), so a
response arriving afterwards is recognised as late, dropped and counted.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

from symphony.hookspecs import EndpointId, IpcError, MessageEnvelope, MessageId

__all__ = ["CorrelationTracker", "Pending", "RequestTimeoutError"]

#: How many expired request ids are remembered to recognise late responses.
EXPIRED_MEMORY = 10_000


class RequestTimeoutError(IpcError, TimeoutError):
    """A request got no response in time; ``recipient`` and ``method`` say which."""

    category = "ipc.timeout"

    def __init__(self, message: str, *, recipient: str = "", method: str = "", timeout: float = 0.0) -> None:
        super().__init__(message)
        self.recipient, self.method, self.timeout = recipient, method, timeout


class Pending:
    """One request awaiting its response."""

    __slots__ = ("future", "method", "recipient", "started_ns")

    def __init__(
        self, future: asyncio.Future[MessageEnvelope], recipient: EndpointId, method: str, started_ns: int
    ) -> None:
        self.future, self.recipient, self.method, self.started_ns = future, recipient, method, started_ns


class CorrelationTracker:
    """Pending requests of one bus."""

    __slots__ = ("_expired", "pending")

    def __init__(self) -> None:
        self.pending: dict[MessageId, Pending] = {}
        self._expired: OrderedDict[MessageId, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, message_id: MessageId, entry: Pending) -> None:
        if message_id in self.pending:
            raise IpcError(f"A request with message id {message_id!r} is already pending; message ids must be unique.")
        self.pending[message_id] = entry

    def forget(self, message_id: MessageId) -> None:
        """Remove a request that timed out, was cancelled or failed; remember its id as expired."""
        if self.pending.pop(message_id, None) is not None:
            self._expired[message_id] = None
            if len(self._expired) > EXPIRED_MEMORY:
                self._expired.popitem(last=False)

    def is_expired(self, message_id: MessageId) -> bool:
        return message_id in self._expired

    def resolve(self, response: MessageEnvelope) -> Pending | None:
        """Complete the request ``response`` answers; None if none is pending."""
        correlation_id = response.header.correlation_id
        if correlation_id is None:
            return None
        entry = self.pending.pop(correlation_id, None)
        if entry is None:
            return None
        if not entry.future.done():
            entry.future.set_result(response)
        return entry

    def fail_for(self, recipient: EndpointId, error: Callable[[Pending], BaseException]) -> int:
        """Fail every request pending on ``recipient`` with ``error(entry)``; returns how many."""
        ids = [mid for mid, entry in self.pending.items() if entry.recipient == recipient]
        for mid in ids:
            self._fail(mid, error)
        return len(ids)

    def fail_all(self, error: Callable[[Pending], BaseException]) -> int:
        """Fail every pending request with ``error(entry)``; returns how many."""
        ids = list(self.pending)
        for mid in ids:
            self._fail(mid, error)
        return len(ids)

    def _fail(self, message_id: MessageId, error: Callable[[Pending], BaseException]) -> None:
        entry = self.pending[message_id]
        self.forget(message_id)
        if not entry.future.done():
            entry.future.set_exception(error(entry))
