"""``arbitrate``: how long the Arbitration Engine takes to decide, with 1,000 requests waiting.

Eight slots are held and 1,000 requests wait (10 users x 10 runs, weights 1-3,
each asking one slot and 64 MiB, one in ten also a warm model).  The measured
operation is ``await engine.release(grant)`` of one held slot: it returns the
slot, picks the next request by priority and weighted fair share, reserves its
resources and resolves its future — one whole decision.  The granted request
then holds its slot and a new request joins the queue, so 1,000 always wait.

The baseline is ``asyncio.Semaphore.release()`` with 1,000 waiters in the same
run: the floor of waking the next waiter in FIFO order, with no resources,
priorities or fairness.  Records: ``arbitrate.release_decision.p50@1000`` and
``.p99@1000`` in µs.  Goal: <= 20 µs p99.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import time

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.arbitration import ArbitrationEngine, Limits
from symphony.hookspecs.ports import ResourceGrant, ResourceRequest

__all__ = ["run"]

PENDING = 1000
SLOTS = 8
GOAL = "<= 20 µs p99"
_MiB = 2**20


def _request(index: int) -> ResourceRequest:
    user, run = index % 10, (index // 10) % 10
    resources = {"slots": 1.0, "memory": 64.0 * _MiB}
    if index % 10 == 0:
        resources["models"] = 1.0
    return ResourceRequest(
        requester=f"run-{user}-{run}/node-{index}", resources=resources, user=f"user-{user}", run_id=f"run-{user}-{run}"
    )


async def _engine(decisions: int) -> list[float]:
    engine = ArbitrationEngine(
        Limits(
            capacity={"slots": float(SLOTS), "memory": 64.0 * 2**30, "models": 256.0},
            weights={f"user-{u}": float(1 + u % 3) for u in range(10)},
        )
    )
    numbers = itertools.count()
    held: collections.deque[ResourceGrant] = collections.deque()
    for _ in range(SLOTS):
        held.append(await engine.acquire(_request(next(numbers))))
    waiting: set[asyncio.Task[ResourceGrant]] = set()

    def taken(task: asyncio.Task[ResourceGrant]) -> None:
        waiting.discard(task)
        if not task.cancelled():
            held.append(task.result())

    def join() -> None:
        task = asyncio.ensure_future(engine.acquire(_request(next(numbers))))
        waiting.add(task)
        task.add_done_callback(taken)

    for _ in range(PENDING):
        join()
    await asyncio.sleep(0)
    samples: list[float] = []
    with no_gc():
        for _ in range(decisions):
            grant = held.popleft()
            start = time.perf_counter()
            await engine.release(grant)
            samples.append(time.perf_counter() - start)
            join()
            while len(held) < SLOTS:  # the granted task takes its grant, the new one queues
                await asyncio.sleep(0)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    return samples


async def _semaphore(decisions: int) -> list[float]:
    semaphore = asyncio.Semaphore(SLOTS)
    for _ in range(SLOTS):
        await semaphore.acquire()
    waiting: set[asyncio.Task[bool]] = set()

    def join() -> None:
        task = asyncio.ensure_future(semaphore.acquire())
        waiting.add(task)
        task.add_done_callback(waiting.discard)

    for _ in range(PENDING):
        join()
    await asyncio.sleep(0)
    samples: list[float] = []
    with no_gc():
        for _ in range(decisions):
            start = time.perf_counter()
            semaphore.release()
            samples.append(time.perf_counter() - start)
            join()
            await asyncio.sleep(0)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    return samples


def run(quick: bool) -> list[Record]:
    decisions = 5_000 if quick else 50_000
    engine = asyncio.run(_engine(decisions))
    semaphore = asyncio.run(_semaphore(decisions))
    baseline = "asyncio.Semaphore.release() with 1,000 waiters"
    return [
        record(
            f"arbitrate.release_decision.{name}@{PENDING}",
            percentile(engine, fraction) * 1e6,
            "us",
            baseline,
            percentile(semaphore, fraction) * 1e6,
            goal=GOAL if name == "p99" else None,
        )
        for name, fraction in (("p50", 0.5), ("p99", 0.99))
    ]
