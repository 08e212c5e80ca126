"""Node attempts start only once the arbitration engine grants their resources, and give them back when they end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from symphony.builtin_plugins.pit.arbitration.engine import ArbitrationEngine
from symphony.builtin_plugins.pit.arbitration.options import ArbitrationOptions, Limits
from symphony.builtin_plugins.pit.dag import DagTracker, TrackerOptions
from symphony.builtin_plugins.pit.dag.admission import describe_wait
from symphony.hookspecs import Event, ValidationError
from symphony.hookspecs.ports import ResourceGrant, ResourceRequest, WaitExplanation

from .conftest import flow, started

DEADLINE = 30.0


def node(name: str, log: Path, run: str = "", **config: object) -> str:
    extra = "".join(f", {key} = {msgspec.json.encode(value).decode()}" for key, value in config.items())
    run_table = f", run = {{ {run} }}" if run else ""
    return (
        f'[nodes.{name}]\nkind = "operator"\nuses = "test-record"\n'
        f'config = {{ name = "{name}", log = "{log}"{extra}{run_table} }}\n'
    )


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


async def recorded_waits(tracker: DagTracker, run_id: str) -> bytes:
    """The waits of ``run_id`` once its record holds some (MessagePack)."""
    deadline = time.monotonic() + DEADLINE
    while (waiting := (await tracker.recorded(run_id)).waiting) is None:
        assert time.monotonic() < deadline, "timed out waiting until the wait is recorded"
        await asyncio.sleep(0.01)
    return waiting


def engine_of(**options: object) -> ArbitrationEngine:
    """The builtin engine with these ``[components.arbitration.options]``."""
    return ArbitrationEngine(Limits.of(msgspec.convert(options, ArbitrationOptions)))


async def hold(engine: ArbitrationEngine, requester: str, user: str, priority: int = 0) -> ResourceGrant:
    """Take a slot as another run's node would."""
    return await engine.acquire(
        ResourceRequest(requester=requester, resources={"slots": 1}, user=user, priority=priority)
    )


def held(engine: ArbitrationEngine) -> dict[str, float]:
    """Each capacity resource's amount granted and not given back."""
    return {name: engine.total(name) - engine.free(name) for name in ("slots", "memory", "models")}


def assert_nothing_held(engine: ArbitrationEngine) -> None:
    assert held(engine) == {"slots": 0, "memory": 0, "models": 0}
    assert engine.waiting() == []


async def test_nodes_start_in_the_order_the_engine_grants_them(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    engine = engine_of(capacity={"slots": 1})
    other = await hold(engine, "other/run", "bob")
    log = tmp_path / "log"
    tracker = make_tracker(arbitration=engine)
    run_id = await tracker.start(
        flow(node("low", log, "priority = 1") + node("high", log, "priority = 9") + node("mid", log, "priority = 5")),
        {},
    )
    await until(lambda: len(engine.waiting()) == 3, "all three nodes wait")

    await engine.release(other)
    result = await tracker.wait(run_id)

    assert result.state == "succeeded"
    assert started(log) == ["high", "mid", "low"]


async def test_each_attempt_asks_for_a_slot_and_the_nodes_resources_as_the_runs_user(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    engine = engine_of(capacity={"slots": 2, "memory": 1e9})
    asked: list[object] = []
    acquire = engine.acquire

    async def spy(request, on_preempt=None):  # type: ignore[no-untyped-def]
        asked.append(request)
        return await acquire(request, on_preempt)

    engine.acquire = spy  # type: ignore[method-assign]
    tracker = make_tracker(arbitration=engine, options=TrackerOptions(user="carol", priority=3))
    result = await tracker.run(flow(node("a", tmp_path / "log", "resources = { memory = 5e8 }, queue_timeout = 9")), {})

    (request,) = asked
    assert result.state == "succeeded"
    assert msgspec.to_builtins(request) == {
        "requester": f"{result.run_id}/a",
        "resources": {"slots": 1.0, "memory": 5e8},
        "priority": 3,
        "user": "carol",
        "run_id": result.run_id,
        "timeout": 9.0,
        "preemptible": False,
        "description": f"node 'a' of run {result.run_id}",
    }
    assert_nothing_held(engine)


async def test_a_waiting_node_emits_the_engines_explanation_and_its_record_is_cleared_when_it_starts(
    make_tracker: Callable[..., DagTracker], tmp_path: Path, events: list[Event]
) -> None:
    engine = engine_of(capacity={"slots": 4}, quotas={"user:bob": {"slots": 1}})
    other = await hold(engine, "3f2a/summarise", "bob")
    tracker = make_tracker(arbitration=engine, options=TrackerOptions(user="bob"))
    run_id = await tracker.start(flow(node("a", tmp_path / "log")), {})
    recorded = msgspec.msgpack.decode(await recorded_waits(tracker, run_id))

    await engine.release(other)
    result = await tracker.wait(run_id)

    (waiting,) = [e for e in events if e.topic == "node.waiting"]
    assert waiting.data["node"] == "a"
    assert waiting.data["behind"] == ["3f2a/summarise"]
    assert waiting.data["message"] == (
        "waiting for slots=1 (behind 3f2a/summarise): "
        "quota: user 'bob' holds 1 of 1 slots and this request needs 1 more"
    )
    assert recorded["a"]["message"] == waiting.data["message"]
    assert result.state == "succeeded"
    assert (await tracker.recorded(run_id)).waiting is None


async def test_every_one_of_many_waiting_nodes_is_explained(
    make_tracker: Callable[..., DagTracker], tmp_path: Path, events: list[Event]
) -> None:
    engine = engine_of(capacity={"slots": 1})
    other = await hold(engine, "3f2a/summarise", "bob")
    names = [f"n{i}" for i in range(12)]
    tracker = make_tracker(arbitration=engine)
    run_id = await tracker.start(flow("".join(node(n, tmp_path / "log") for n in names)), {})
    await until(lambda: {e.data["node"] for e in events if e.topic == "node.waiting"} == set(names), "all wait")

    await engine.release(other)
    result = await tracker.wait(run_id)

    first = {e.data["node"]: e.data for e in reversed(events) if e.topic == "node.waiting"}
    assert first["n0"]["behind"] == ["3f2a/summarise"]
    assert all(first[n]["message"].startswith("waiting for slots=1 (behind ") for n in names)
    assert result.state == "succeeded"
    assert_nothing_held(engine)


async def test_grants_are_released_when_a_node_fails(make_tracker: Callable[..., DagTracker], tmp_path: Path) -> None:
    engine = engine_of(capacity={"slots": 4})
    tracker = make_tracker(arbitration=engine)
    text = (
        '[nodes.f]\nkind = "operator"\nuses = "test-flaky"\n'
        f'config = {{ counter = "{tmp_path / "calls"}", failures = 5, error = "value", run = {{ attempts = 1 }} }}\n'
    )
    result = await tracker.run(flow(text + node("b", tmp_path / "log", sleep=0.2)), {})

    assert result.state == "failed"
    assert_nothing_held(engine)


async def test_grants_and_waiting_requests_are_withdrawn_when_the_run_is_cancelled(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    engine = engine_of(capacity={"slots": 1})
    log = tmp_path / "log"
    tracker = make_tracker(arbitration=engine)
    run_id = await tracker.start(
        flow(node("a", log, wait_for=str(tmp_path / "never")) + node("b", log) + node("c", log)), {}
    )
    await until(lambda: held(engine)["slots"] == 1 and len(engine.waiting()) == 2, "one node runs and two wait")

    await tracker.cancel(run_id)
    result = await tracker.wait(run_id)

    assert result.state == "cancelled"
    assert_nothing_held(engine)
    assert (await tracker.recorded(run_id)).waiting is None


async def test_a_node_waiting_past_its_queue_timeout_fails_naming_what_it_waited_for(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    engine = engine_of(capacity={"slots": 1})
    await hold(engine, "3f2a/summarise", "bob")
    tracker = make_tracker(arbitration=engine)

    result = await tracker.run(flow(node("a", tmp_path / "log", "queue_timeout = 0.3")), {})

    assert result.state == "failed"
    assert result.failure is not None
    assert result.failure.category == "arbitration.queue_timeout"
    assert result.failure.attempt == 1
    assert "past its queue_timeout of 0.3 s" in (result.error or "")
    assert "waiting for slots=1 (behind 3f2a/summarise)" in (result.error or "")
    assert started(tmp_path / "log") == []


async def test_a_node_waiting_past_the_engines_own_timeout_fails_naming_that_timeout(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    engine = engine_of(capacity={"slots": 1}, timeout=0.3)
    await hold(engine, "3f2a/summarise", "bob")
    tracker = make_tracker(arbitration=engine)

    result = await tracker.run(flow(node("a", tmp_path / "log")), {})

    assert result.failure is not None
    assert result.failure.category == "arbitration.queue_timeout"
    assert "past the arbitration engine's timeout (components.arbitration.options.timeout)" in (result.error or "")


async def test_a_preempted_node_is_queued_again_and_counts_a_preemption_not_an_attempt(
    make_tracker: Callable[..., DagTracker], tmp_path: Path, events: list[Event]
) -> None:
    engine = engine_of(capacity={"slots": 1})
    log = tmp_path / "log"
    gate = tmp_path / "gate"
    tracker = make_tracker(arbitration=engine)
    run_id = await tracker.start(flow(node("bulk", log, "preemptible = true, priority = 0", wait_for=str(gate))), {})
    await until(lambda: started(log) == ["bulk"], "the preemptible node runs")

    urgent = await hold(engine, "urgent/run", "zed", priority=5)
    gate.touch()
    await engine.release(urgent)
    result = await tracker.wait(run_id)

    assert engine.metrics.preemptions == 1
    assert result.state == "succeeded"
    assert started(log) == ["bulk", "bulk"]
    assert result.nodes["bulk"].attempts == 1
    assert result.nodes["bulk"].preemptions == 1
    assert [e.topic for e in events if e.topic == "node.preempted"] == ["node.preempted"]
    assert_nothing_held(engine)


async def test_a_node_not_declared_preemptible_is_never_asked_to_give_its_slot_back(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    engine = engine_of(capacity={"slots": 1})
    log = tmp_path / "log"
    gate = tmp_path / "gate"
    tracker = make_tracker(arbitration=engine)
    run_id = await tracker.start(flow(node("steady", log, wait_for=str(gate))), {})
    await until(lambda: started(log) == ["steady"], "the node runs")

    urgent = asyncio.ensure_future(hold(engine, "urgent/run", "zed", priority=5))
    await until(lambda: len(engine.waiting()) == 1, "the urgent request waits")
    gate.touch()
    result = await tracker.wait(run_id)
    await engine.release(await urgent)

    assert engine.metrics.preemptions == 0
    assert result.nodes["steady"].preemptions == 0
    assert started(log) == ["steady"]


async def test_a_request_the_engine_refuses_fails_the_node_with_the_engines_reason(
    make_tracker: Callable[..., DagTracker], tmp_path: Path
) -> None:
    engine = engine_of(capacity={"slots": 1})
    tracker = make_tracker(arbitration=engine)

    result = await tracker.run(flow(node("a", tmp_path / "log", "resources = { gpus = 1 }")), {})

    assert result.state == "failed"
    assert result.failure is not None and result.failure.category == "data.validation"
    assert "gpus" in (result.error or "")
    assert_nothing_held(engine)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("resources = { memory = -1 }", "resources.memory = -1: give a resource name and an amount >= 0"),
        ("queue_timeout = 0", "nodes.a.config.run.queue_timeout"),
        ("preemptible = 'yes'", "nodes.a.config.run.preemptible"),
        ("priorty = 3", "priorty"),
    ],
)
async def test_bad_arbitration_options_of_a_node_are_refused_naming_the_key(
    make_tracker: Callable[..., DagTracker], tmp_path: Path, run: str, expected: str
) -> None:
    tracker = make_tracker(arbitration=engine_of())

    with pytest.raises(ValidationError, match="Invalid run options of node 'a'") as raised:
        await tracker.run(flow(node("a", tmp_path / "log", run)), {})

    assert expected in str(raised.value)


def test_a_wait_is_described_in_one_line_naming_at_most_three_requesters_ahead() -> None:
    explanation = WaitExplanation(
        requester="r/a",
        description="node 'a' of run r",
        waited=1.0,
        lacking={"slots": 1.0, "budget:api": 0.5},
        behind=["r1/x", "r2/y", "r3/z", "r4/w", "r5/v"],
        reason="capacity: 0 of 4 slots free",
    )

    assert describe_wait(explanation) == (
        "waiting for slots=1, budget:api=0.5 (behind r1/x, r2/y, r3/z and 2 more): capacity: 0 of 4 slots free"
    )
