"""The health monitor: supervised endpoint processes, heartbeats, restart with backoff, crash loops."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.ipc.bus import InProcessBus
from symphony.builtin_plugins.ipc.bus.supervisor import SupervisedEndpoint
from symphony.hookspecs import MessageEnvelope, NotFoundError, RequestPayload, RetryPolicy, TransportError

PEER = str(Path(__file__).with_name("supervised_peer.py"))
FAST_RESTART = RetryPolicy(max_attempts=3, backoff_initial=0.05, backoff_multiplier=2.0, backoff_max=1.0)


def request(method: str, **params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method=method, params=params), sender="test", recipient="worker")


async def call(bus: InProcessBus, method: str, timeout: float = 5.0, **params: Any) -> Any:
    return (await bus.request(request(method, **params), timeout)).payload.result  # type: ignore[union-attr]


async def until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def bus() -> AsyncIterator[InProcessBus]:
    bus = InProcessBus()
    await bus.start()
    yield bus
    await bus.stop()


def supervised(bus: InProcessBus, *extra: str, **options: Any) -> SupervisedEndpoint:
    settings: dict[str, Any] = {"heartbeat_interval": 0.1, "heartbeat_timeout": 0.3, "restart": FAST_RESTART}
    settings.update(options)
    return SupervisedEndpoint(bus, "worker", [sys.executable, PEER, *extra], **settings)


async def test_requests_reach_the_supervised_process_and_back(bus: InProcessBus) -> None:
    async with supervised(bus) as worker:
        result = await call(bus, "echo", x=1)
        assert result == {"params": {"x": 1}, "pid": worker.pid}
        assert worker.health().status == "ok"


async def test_an_endpoint_error_comes_back_as_the_same_error(bus: InProcessBus) -> None:
    async with supervised(bus):
        with pytest.raises(NotFoundError, match="has no method 'nope'"):
            await call(bus, "nope")


async def test_a_killed_process_fails_its_pending_requests_and_is_restarted(bus: InProcessBus) -> None:
    async with supervised(bus) as worker:
        first = worker.pid
        assert first is not None
        pending = asyncio.ensure_future(call(bus, "sleep", seconds=30))
        await asyncio.sleep(0.2)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(TransportError, match=r"was killed by SIGKILL; it is being restarted"):
            await pending
        await until(lambda: worker.state == "running")
        assert worker.restarts == 1
        assert (await call(bus, "echo"))["pid"] not in (None, first)


async def test_a_process_that_stops_answering_heartbeats_is_killed_and_restarted(bus: InProcessBus) -> None:
    async with supervised(bus) as worker:
        first = worker.pid
        hung = asyncio.ensure_future(call(bus, "hang", timeout=30))
        with pytest.raises(TransportError, match=r"stopped answering heartbeats \(2 missed, 0.3 s each\)"):
            await hung
        await until(lambda: worker.state == "running")
        assert worker.pid != first
        assert (await call(bus, "echo"))["pid"] == worker.pid


async def test_requests_while_restarting_fail_fast_with_the_reason(bus: InProcessBus) -> None:
    slow = RetryPolicy(max_attempts=3, backoff_initial=2.0)
    async with supervised(bus, restart=slow) as worker:
        with pytest.raises(TransportError):
            await call(bus, "die", code=5)
        await until(lambda: worker.state == "restarting")
        with pytest.raises(TransportError, match=r"'worker' is restarting after its process .* exited with status 5"):
            await call(bus, "echo")


async def test_a_crash_loop_gives_up_and_reports_it_in_health(bus: InProcessBus) -> None:
    states: list[str] = []

    async def observe(envelope: MessageEnvelope) -> None:
        states.append(envelope.payload.topic)  # type: ignore[union-attr]

    bus.subscribe("bus.endpoint.>", observe)
    async with supervised(bus, "--exit-after", "0.1") as worker:
        await until(lambda: worker.state == "failed")
        assert worker.restarts == FAST_RESTART.max_attempts
        health = worker.health()
        assert health.status == "failed"
        assert "gave up after 3 restart(s): its process" in health.message
        assert "exited with status 7" in health.message
        with pytest.raises(TransportError, match="is failed"):
            await call(bus, "echo")
    await until(lambda: "bus.endpoint.stopped" in states)
    assert states.count("bus.endpoint.restarting") >= FAST_RESTART.max_attempts
    assert "bus.endpoint.failed" in states


async def test_stopping_ends_the_process_and_unregisters_the_endpoint(bus: InProcessBus) -> None:
    worker = supervised(bus)
    await worker.start()
    pid = worker.pid
    await worker.stop()
    assert "worker" not in bus.endpoints()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
