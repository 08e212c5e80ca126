"""The LRU of hot models under max_hot and a budget of measured RSS."""

from __future__ import annotations

from symphony.hookspecs import Event

from .conftest import MakePool, eventually, fake, transitions


async def _use(pool: object, name: str) -> None:
    async with pool.use(name):  # type: ignore[attr-defined]
        pass


async def test_the_least_recently_used_model_is_evicted_over_max_hot(make_pool: MakePool, events: list[Event]) -> None:
    pool = make_pool(fake("a"), fake("b"), fake("c"), max_hot=2, predict_history=False)
    for name in ("a", "b", "a", "c"):  # b is now the least recently used
        await _use(pool, name)
    await eventually(lambda: transitions(events, "b")[-1:] == ["cold"])
    assert {m.model_id: m.state for m in pool.status().models} == {"a": "hot", "b": "cold", "c": "hot"}
    assert pool.status().evictions == 1
    assert "max_hot = 2" in next(e.data["reason"] for e in events if e.topic == "pool.model.cooling")


async def test_a_held_model_is_never_evicted(make_pool: MakePool) -> None:
    pool = make_pool(fake("a"), fake("b"), max_hot=1, predict_history=False)
    held = await pool.allocate("a")
    await _use(pool, "b")
    assert await pool.state("a") == "hot"
    await pool.release(held)  # now a may go: the pool is over max_hot
    await eventually(lambda: sum(m.state == "hot" for m in pool.status().models) == 1)


async def test_models_over_the_memory_budget_evict_the_least_recently_used(make_pool: MakePool) -> None:
    probe = make_pool(fake("probe", megabytes=30))
    await _use(probe, "probe")
    one = probe.rss_of("probe")  # a worker's measured RSS: interpreter plus 30 MB of touched memory
    await probe.close()
    models = [fake(name, megabytes=30) for name in ("a", "b", "c")]
    pool = make_pool(*models, memory_budget=int(2.5 * one), max_hot=10, predict_history=False)
    for name in ("a", "b", "c"):
        await _use(pool, name)
    await eventually(lambda: pool.status().models[0].state == "cold")
    status = pool.status()
    assert [m.state for m in status.models] == ["cold", "hot", "hot"]
    assert sum(m.rss for m in status.models) <= int(2.5 * one)
    assert status.evictions == 1


async def test_a_model_of_known_size_makes_room_before_it_loads_not_after(
    make_pool: MakePool, events: list[Event]
) -> None:
    probe = make_pool(fake("probe", megabytes=30))
    await _use(probe, "probe")
    one = probe.rss_of("probe")
    await probe.close()
    models = [fake(name, megabytes=30) for name in ("a", "b", "c")]
    pool = make_pool(*models, memory_budget=int(2.5 * one), max_hot=10, predict_history=False)
    for name in ("a", "b", "c"):  # a is evicted once c has loaded: its size was not known before
        await _use(pool, name)
    await eventually(lambda: pool.status().models[0].state == "cold")
    events.clear()
    await _use(pool, "a")  # now a's size is known: b goes before a loads
    order = [(e.topic, e.data["model"]) for e in events if e.topic in ("pool.model.cooling", "pool.model.hot")]
    assert order[:2] == [("pool.model.cooling", "b"), ("pool.model.hot", "a")]
    assert "with 'a' warming" in next(e.data["reason"] for e in events if e.topic == "pool.model.cooling")


async def test_a_memory_budget_is_given_in_bytes_or_with_a_unit(make_pool: MakePool) -> None:
    assert make_pool(memory_budget="4GiB").status().memory_budget == 4 * 1024**3
    assert make_pool(memory_budget="70 MB").status().memory_budget == 70_000_000
