"""Only grants declared preemptible are asked back, once, and only for a higher priority."""

from __future__ import annotations

from symphony.hookspecs import Event

from .conftest import MakeEngine, queued, req


async def test_a_higher_priority_request_asks_a_preemptible_holder_once_and_gets_its_slot(
    make_engine: MakeEngine, events: list[Event]
) -> None:
    engine = make_engine(slots=1)
    asked: list[str] = []
    batch = await engine.acquire(req("batch", slots=1, preemptible=True), on_preempt=lambda: asked.append("batch"))
    urgent = await queued(engine, req("urgent", slots=1, priority=5))
    await engine.acquire(req("irrelevant", memory=1))  # another decision: the holder is not asked again
    assert asked == ["batch"]
    assert [e.data["requester"] for e in events if e.topic == "arbitration.preempted"] == ["batch"]
    await engine.release(batch)
    assert (await urgent).requester == "urgent"
    assert engine.metrics.preemptions == 1


async def test_a_grant_not_declared_preemptible_is_never_asked_back(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1)
    asked: list[str] = []
    await engine.acquire(req("steady", slots=1), on_preempt=lambda: asked.append("steady"))
    waiting = await queued(engine, req("urgent", slots=1, priority=9))
    assert asked == [] and engine.metrics.preemptions == 0
    waiting.cancel()


async def test_an_equal_priority_request_does_not_preempt(make_engine: MakeEngine) -> None:
    engine = make_engine(slots=1)
    asked: list[str] = []
    await engine.acquire(req("batch", slots=1, preemptible=True), on_preempt=lambda: asked.append("batch"))
    waiting = await queued(engine, req("peer", slots=1))
    assert asked == []
    waiting.cancel()


async def test_nobody_is_preempted_when_giving_back_their_grants_would_not_be_enough(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(slots=2)
    asked: list[str] = []
    await engine.acquire(req("batch", slots=1, preemptible=True), on_preempt=lambda: asked.append("batch"))
    await engine.acquire(req("steady", slots=1))
    waiting = await queued(engine, req("urgent", slots=2, priority=5))
    assert asked == []
    waiting.cancel()


async def test_a_holder_that_does_not_give_back_leaves_the_request_waiting_with_that_said(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(slots=1)
    await engine.acquire(req("stubborn", slots=1, preemptible=True), on_preempt=lambda: None)
    waiting = await queued(engine, req("urgent", slots=1, priority=5))
    explanation = engine.explain("urgent")
    assert explanation is not None
    assert explanation.reason.endswith("preemptible lower-priority holders were asked to give theirs back")
    assert explanation.behind == ["stubborn"]
    waiting.cancel()
