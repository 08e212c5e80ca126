"""Property: random competing multi-resource requests all complete, and capacity is never exceeded."""

from __future__ import annotations

import asyncio
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.pit.arbitration import ArbitrationEngine, Limits
from symphony.hookspecs import Event
from symphony.hookspecs.ports import ResourceRequest

CAPACITY = {"slots": 4.0, "memory": 100.0, "models": 3.0}

request_needs = st.dictionaries(
    st.sampled_from(sorted(CAPACITY)), st.integers(min_value=1, max_value=4), min_size=1, max_size=3
).map(
    lambda need: {
        name: float(min(amount * (25 if name == "memory" else 1), CAPACITY[name])) for name, amount in need.items()
    }
)

tasks_strategy = st.lists(
    st.tuples(
        request_needs,
        st.integers(min_value=0, max_value=3),  # priority
        st.sampled_from(["alice", "bob", "carol"]),
        st.sampled_from(["r1", "r2"]),
        st.integers(min_value=0, max_value=20),  # event-loop steps to hold the grant
        st.booleans(),  # preemptible
    ),
    min_size=1,
    max_size=40,
)


class Ledger:
    """Adds up what is held at the moment of every grant (the engine's own event) and checks the capacity."""

    def __init__(self) -> None:
        self.held = dict.fromkeys(CAPACITY, 0.0)
        self.grants = 0
        #: Recorded, not raised: the engine logs and survives a subscriber that raises.
        self.oversubscribed: list[str] = []

    def __call__(self, event: Event) -> None:
        if event.topic != "arbitration.granted":
            return
        self.grants += 1
        for name, amount in event.data["resources"].items():
            self.held[name] += amount
            if self.held[name] > CAPACITY[name] + 1e-9:
                self.oversubscribed.append(f"{name} held {self.held[name]} of {CAPACITY[name]}")

    def give_back(self, resources: dict[str, float]) -> None:
        for name, amount in resources.items():
            self.held[name] -= amount


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks=tasks_strategy, seed=st.integers(min_value=0, max_value=2**16), reserve_after=st.integers(0, 4))
def test_competing_requests_all_complete_without_exceeding_capacity(
    tasks: list[tuple[dict[str, float], int, str, str, int, bool]], seed: int, reserve_after: int
) -> None:
    ledger = Ledger()
    engine = ArbitrationEngine(
        Limits(capacity=dict(CAPACITY), weights={"alice": 2.0}, reserve_after=reserve_after, backfill_depth=4),
        emit=ledger,
    )
    shuffle = random.Random(seed)

    async def one(index: int, task: tuple[dict[str, float], int, str, str, int, bool]) -> None:
        need, priority, user, run, hold, pre = task
        for _ in range(shuffle.randint(0, 3)):  # arrive in a random interleaving
            await asyncio.sleep(0)
        preempted = asyncio.Event()
        grant = await engine.acquire(
            ResourceRequest(
                requester=f"{run}/{index}", resources=need, priority=priority, user=user, run_id=run, preemptible=pre
            ),
            on_preempt=preempted.set,
        )
        for _ in range(hold):
            if preempted.is_set():
                break
            await asyncio.sleep(0)
        ledger.give_back(grant.resources)
        await engine.release(grant)

    async def everything() -> None:
        await asyncio.wait_for(asyncio.gather(*(one(i, task) for i, task in enumerate(tasks))), timeout=60)

    asyncio.run(everything())
    assert ledger.oversubscribed == []
    assert ledger.grants == len(tasks)
    assert engine.waiting() == [] and all(engine.free(name) == CAPACITY[name] for name in CAPACITY)
