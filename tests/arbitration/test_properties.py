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
    """Adds up what is held from the engine's granted and released events, checking capacity at every grant."""

    def __init__(self) -> None:
        self.held = dict.fromkeys(CAPACITY, 0.0)
        self.grants = 0
        #: Recorded, not raised: the engine logs and survives a subscriber that raises.
        self.oversubscribed: list[str] = []

    def __call__(self, event: Event) -> None:
        if event.topic == "arbitration.released":
            for name, amount in event.data["resources"].items():
                self.held[name] -= amount
        if event.topic != "arbitration.granted":
            return
        self.grants += 1
        for name, amount in event.data["resources"].items():
            self.held[name] += amount
            if self.held[name] > CAPACITY[name] + 1e-9:
                self.oversubscribed.append(f"{name} held {self.held[name]} of {CAPACITY[name]}")


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
        await engine.release(grant)

    async def everything() -> None:
        await asyncio.wait_for(asyncio.gather(*(one(i, task) for i, task in enumerate(tasks))), timeout=60)

    asyncio.run(everything())
    assert ledger.oversubscribed == []
    assert ledger.grants == len(tasks)
    assert engine.waiting() == [] and all(engine.free(name) == CAPACITY[name] for name in CAPACITY)


class QuotaLedger(Ledger):
    """Also adds up bob's slots and each run's memory at every grant, against their quotas."""

    def __init__(self) -> None:
        super().__init__()
        self.bob_slots = 0.0
        self.run_memory: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        super().__call__(event)
        if event.topic not in ("arbitration.granted", "arbitration.released"):
            return
        sign = 1 if event.topic == "arbitration.granted" else -1
        resources, run = event.data["resources"], event.data["run_id"]
        if event.data["user"] == "bob":
            self.bob_slots += sign * resources.get("slots", 0.0)
        self.run_memory[run] = self.run_memory.get(run, 0.0) + sign * resources.get("memory", 0.0)
        if self.bob_slots > 2 or self.run_memory[run] > 75:
            self.oversubscribed.append(f"quota exceeded: bob {self.bob_slots} slots, run {run} {self.run_memory[run]}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tasks=st.lists(
        st.tuples(
            request_needs,
            st.sampled_from(["alice", "bob"]),
            st.sampled_from(["r1", "r2", "r3"]),
            st.integers(min_value=0, max_value=10),  # steps to hold
            st.none() | st.integers(min_value=0, max_value=10),  # steps after which the task is cancelled
        ),
        min_size=1,
        max_size=30,
    )
)
def test_with_quotas_and_cancellations_every_patient_request_completes_within_every_limit(
    tasks: list[tuple[dict[str, float], str, str, int, int | None]],
) -> None:
    ledger = QuotaLedger()
    engine = ArbitrationEngine(
        Limits(
            capacity=dict(CAPACITY),
            user_quotas={"bob": {"slots": 2.0}},
            run_quotas={"*": {"memory": 75.0}},
            backfill_depth=3,
            reserve_after=2,
        ),
        emit=ledger,
    )

    async def one(index: int, need: dict[str, float], user: str, run: str, hold: int) -> None:
        if user == "bob":
            need = {**need, "slots": min(need.get("slots", 1.0), 2.0)}
        need = {**need, "memory": min(need.get("memory", 0.0), 75.0)} if "memory" in need else need
        grant = await engine.acquire(ResourceRequest(requester=f"{run}/{index}", resources=need, user=user, run_id=run))
        try:
            for _ in range(hold):
                await asyncio.sleep(0)
        finally:
            await engine.release(grant)

    async def cancel_after(task: asyncio.Task[None], steps: int) -> None:
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()

    async def everything() -> list[BaseException | None]:
        running = [
            asyncio.ensure_future(one(i, need, user, run, hold)) for i, (need, user, run, hold, _) in enumerate(tasks)
        ]
        cancellers = [
            asyncio.ensure_future(cancel_after(task, steps))
            for task, (*_, steps) in zip(running, tasks, strict=True)
            if steps is not None
        ]
        results = await asyncio.wait_for(asyncio.gather(*running, return_exceptions=True), timeout=60)
        await asyncio.gather(*cancellers)
        return [r if isinstance(r, BaseException) else None for r in results]

    outcomes = asyncio.run(everything())
    assert ledger.oversubscribed == []
    for outcome, (*_, steps) in zip(outcomes, tasks, strict=True):
        assert outcome is None or (steps is not None and isinstance(outcome, asyncio.CancelledError)), outcome
    assert engine.waiting() == [] and all(engine.free(name) == CAPACITY[name] for name in CAPACITY)
