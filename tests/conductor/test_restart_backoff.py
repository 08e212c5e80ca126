"""The supervised endpoint's restarts: the shared backoff waits what RetryPolicy says, over any bus.

The conductor's process mode runs on :class:`SupervisedEndpoint`; these
specify what it promises beyond tests/ipc/test_supervisor.py: the waits of
the shared backoff, a count that starts over after a stable run, and a bus
that is not the builtin one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from symphony.builtin_plugins._backoff import backoff, retrying
from symphony.builtin_plugins.ipc.bus.supervisor import SupervisedEndpoint
from symphony.hookspecs import (
    EndpointId,
    ErrorPayload,
    MessageEnvelope,
    NotFoundError,
    RequestPayload,
    ResponsePayload,
    RetryPolicy,
    TransportError,
)
from symphony.hookspecs.ports import Handler

PEER = str(Path(__file__).parents[1] / "ipc" / "supervised_peer.py")
ONE_RESTART = RetryPolicy(max_attempts=1, backoff_initial=0.01, backoff_multiplier=2.0, backoff_max=1.0)


@pytest.mark.parametrize(
    "policy",
    [
        RetryPolicy(),
        RetryPolicy(max_attempts=8, backoff_initial=0.5, backoff_multiplier=3.0, backoff_max=20.0),
        RetryPolicy(max_attempts=4, backoff_initial=1.0, backoff_multiplier=1.0, backoff_max=0.5),
        RetryPolicy(max_attempts=4, backoff_initial=0.0, backoff_multiplier=2.0, backoff_max=0.0),
    ],
)
def test_the_backoff_waits_what_the_retry_policy_says(policy: RetryPolicy) -> None:
    wait = backoff(policy)
    state = RetryCallState(AsyncRetrying(), None, (), {})
    for failed in range(1, 12):
        state.attempt_number = failed
        assert wait(state) == pytest.approx(policy.delay(failed + 1))


class Asking(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait


def test_a_failure_that_asks_for_its_own_wait_gets_it_instead_of_the_backoff() -> None:
    policy = RetryPolicy(backoff_initial=0.5)
    waits = retrying(policy, retry=retry_if_exception_type(), asked=lambda e: e.wait if isinstance(e, Asking) else None)
    state = RetryCallState(waits, None, (), {})

    state.set_exception((Asking, Asking(7.0), None))
    assert waits.wait(state) == 7.0
    state.set_exception((ValueError, ValueError(), None))
    assert waits.wait(state) == policy.delay(2)


class DirectBus:
    """A MessageBus that is not the builtin: requests await their handler; it records events."""

    def __init__(self) -> None:
        self.running = False
        self.handlers: dict[EndpointId, Handler] = {}
        self.events: list[str] = []

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    def register_endpoint(self, endpoint_id: EndpointId, handler: Handler) -> None:
        self.handlers[endpoint_id] = handler

    def unregister_endpoint(self, endpoint_id: EndpointId) -> None:
        self.handlers.pop(endpoint_id, None)

    def endpoints(self) -> list[EndpointId]:
        return sorted(self.handlers)

    async def send(self, envelope: MessageEnvelope) -> None:
        await self.handlers[envelope.header.recipient](envelope)

    async def request(self, envelope: MessageEnvelope, timeout: float) -> MessageEnvelope:
        header = envelope.header
        try:
            async with asyncio.timeout(timeout):
                payload: Any = ResponsePayload(result=await self.handlers[header.recipient](envelope))
        except TransportError as error:
            payload = ErrorPayload.from_exception(error)
        return MessageEnvelope.create(
            payload, sender=header.recipient, recipient=header.sender, correlation_id=header.message_id
        )

    async def publish(self, topic: str, data: dict[str, Any]) -> int:
        self.events.append(topic)
        return 0

    def subscribe(self, pattern: str, handler: Handler) -> Any:
        raise TransportError("no subscriptions here")


def request(method: str, **params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method=method, params=params), sender="test", recipient="worker")


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def replaced(worker: SupervisedEndpoint, pid: int) -> Callable[[], bool]:
    """Whether a new child of ``worker`` runs instead of ``pid``."""
    return lambda: worker.state == "running" and worker.pid != pid


def supervised(bus: DirectBus, **options: Any) -> SupervisedEndpoint:
    settings: dict[str, Any] = {"heartbeat_interval": 0.1, "heartbeat_timeout": 5.0, "restart": ONE_RESTART}
    settings.update(options)
    return SupervisedEndpoint(bus, "worker", [sys.executable, PEER], **settings)


async def test_requests_reach_the_child_through_a_bus_that_is_not_the_builtin() -> None:
    bus = DirectBus()
    await bus.start()
    async with supervised(bus) as worker:
        reply = await bus.request(request("echo", x=1), 30)

        assert isinstance(reply.payload, ResponsePayload)
        assert reply.payload.result == {"params": {"x": 1}, "pid": worker.pid}
    assert bus.events == ["bus.endpoint.starting", "bus.endpoint.running", "bus.endpoint.stopped"]


async def test_the_childs_error_answer_is_raised_by_the_handler_as_the_same_error() -> None:
    bus = DirectBus()
    await bus.start()
    async with supervised(bus):
        with pytest.raises(NotFoundError, match="has no method 'nope'"):
            await bus.handlers[EndpointId("worker")](request("nope"))


async def test_a_request_pending_on_a_killed_child_fails_with_what_happened_on_any_bus() -> None:
    bus = DirectBus()
    await bus.start()
    async with supervised(bus) as worker:
        pending = asyncio.ensure_future(bus.request(request("sleep", seconds=60), 60))
        await until(lambda: bool(worker._pending))
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)

        reply = await pending

        assert isinstance(reply.payload, ErrorPayload)
        assert "was killed by SIGKILL; it is being restarted" in reply.payload.message


async def test_a_child_that_ran_stable_after_seconds_starts_the_restart_count_over() -> None:
    bus = DirectBus()
    await bus.start()
    async with supervised(bus, stable_after=0.0) as worker:
        for restarts in (1, 2, 3):  # one restart allowed in a row, yet every crash follows a stable run
            pid = worker.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await until(replaced(worker, pid))
            assert worker.restarts == restarts


async def test_crashes_in_a_row_beyond_the_policy_leave_the_endpoint_failed() -> None:
    bus = DirectBus()
    await bus.start()
    async with supervised(bus, stable_after=3600.0) as worker:
        first = worker.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await until(replaced(worker, first))
        second = worker.pid
        assert second is not None

        os.kill(second, signal.SIGKILL)  # the second crash in a row; the policy allows one restart

        await until(lambda: worker.state == "failed")
        assert worker.restarts == 1
        assert bus.events[-1] == "bus.endpoint.failed"
