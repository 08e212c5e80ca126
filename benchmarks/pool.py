"""Pool benchmarks ``pool_alloc``, ``pool_health`` and ``pool_scale``: the pool manager's seed targets.

- ``pool_alloc``: ``allocate`` + ``release`` of a hot model (a hit), N times
  (quick 5,000, full 50,000) after a warm-up, each timed with
  ``perf_counter_ns``; p50 and p99 in µs.  Baseline, in the same loop shape: a
  dict lookup plus an ``asyncio.Lock`` acquire and release (what a naive
  pool would do per allocation).  Seed < 100 µs, goal ≤ 10 µs p99.
- ``pool_health``: a hot model's worker is SIGKILLed N times (quick 5, full
  20); the time from the kill to the pool's ``pool.worker.died`` event, median
  and max in ms (the pool replaces the worker before the next kill).
  Baseline: from SIGKILL of a plain ``python -c`` child to ``os.waitpid``
  returning, the kernel's own floor.  Seed < 1 s, goal ≤ 100 ms.
- ``pool_scale``: 200 small fake models (quick 50) hot at once, each in its
  worker: the mean RSS per idle model worker against a bare ``python -c``
  process's RSS, and the allocation p99 with all of them hot (round robin)
  against the dict + lock baseline.

Models are the fake-cost ones of :mod:`benchmarks.pool_models`.  The garbage
collector is disabled while timing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

import psutil

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.pool.options import PoolOptions
from symphony.builtin_plugins.pit.pool.pool import Pool
from symphony.hookspecs import Event, ModelSpec

__all__ = ["run_alloc", "run_health", "run_scale"]

_LOADER = "benchmarks.pool_models:load"
_BARE = [sys.executable, "-c", "import time; time.sleep(600)"]


def _pool(names: list[str], **options: Any) -> Pool:
    specs = {name: ModelSpec(name=name, loader=_LOADER) for name in names}
    return Pool(specs, PoolOptions(max_hot=max(8, len(names)), **options))


async def _alloc_times(pool: Pool, names: list[str], count: int) -> list[float]:
    """µs per allocate + release of hot models, round robin over ``names``."""
    timings: list[float] = []
    clock = time.perf_counter_ns
    with no_gc():
        for i in range(count):
            name = names[i % len(names)]
            start = clock()
            handle = await pool.allocate(name)
            await pool.release(handle)
            timings.append((clock() - start) / 1000)
    return timings


async def _lock_times(names: list[str], count: int) -> list[float]:
    """µs per dict lookup + asyncio.Lock acquire/release: the baseline of an allocation."""
    table = {name: asyncio.Lock() for name in names}
    timings: list[float] = []
    clock = time.perf_counter_ns
    with no_gc():
        for i in range(count):
            start = clock()
            lock = table[names[i % len(names)]]
            await lock.acquire()
            lock.release()
            timings.append((clock() - start) / 1000)
    return timings


def _alloc_records(prefix: str, hits: list[float], locks: list[float]) -> list[Record]:
    baseline = "dict lookup + asyncio.Lock acquire/release"
    return [
        record(
            f"{prefix}.p50",
            percentile(hits, 0.5),
            "us",
            f"{baseline} p50",
            percentile(locks, 0.5),
            seed_target="<100 us",
            goal="<=10 us p99",
        ),
        record(
            f"{prefix}.p99",
            percentile(hits, 0.99),
            "us",
            f"{baseline} p99",
            percentile(locks, 0.99),
            seed_target="<100 us",
            goal="<=10 us p99",
        ),
    ]


async def _alloc(quick: bool) -> list[Record]:
    count = 5_000 if quick else 50_000
    pool = _pool(["m"])
    try:
        async with pool.use("m"):
            pass
        await _alloc_times(pool, ["m"], 500)  # warm-up
        hits = await _alloc_times(pool, ["m"], count)
        locks = await _lock_times(["m"], count)
    finally:
        await pool.close()
    return _alloc_records("pool_alloc.hit", hits, locks)


def run_alloc(quick: bool) -> list[Record]:
    return asyncio.run(_alloc(quick))


async def _health(quick: bool) -> list[Record]:
    kills = 5 if quick else 20
    died: list[float] = []
    specs = {"m": ModelSpec(name="m", loader=_LOADER)}

    def seen(event: Event) -> None:
        if event.topic == "pool.worker.died":
            died.append(time.perf_counter())

    pool = Pool(specs, PoolOptions(), emit=seen)
    delays: list[float] = []
    try:
        async with pool.use("m") as handle:
            for _ in range(kills):
                pid = await pool.call(handle, "pid")  # waits for the replacement of the previous kill
                before = len(died)
                start = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
                while len(died) == before:
                    await asyncio.sleep(0.0005)
                delays.append((died[-1] - start) * 1000)
            await pool.call(handle, "pid")  # the last replacement is up before the pool closes
    finally:
        await pool.close()
    floor = [_waitpid_after_kill() for _ in range(kills)]
    baseline = "SIGKILL to os.waitpid of a plain child"
    return [
        record(
            "pool_health.detect_median",
            statistics.median(delays),
            "ms",
            f"{baseline} (median)",
            statistics.median(floor),
            seed_target="<1000 ms",
            goal="<=100 ms",
        ),
        record(
            "pool_health.detect_max",
            max(delays),
            "ms",
            f"{baseline} (max)",
            max(floor),
            seed_target="<1000 ms",
            goal="<=100 ms",
        ),
    ]


def _waitpid_after_kill() -> float:
    child = subprocess.Popen(_BARE)
    time.sleep(0.05)
    start = time.perf_counter()
    os.kill(child.pid, signal.SIGKILL)
    os.waitpid(child.pid, 0)
    child.returncode = -signal.SIGKILL  # reaped here: Popen must not wait for it again
    return (time.perf_counter() - start) * 1000


def run_health(quick: bool) -> list[Record]:
    return asyncio.run(_health(quick))


async def _scale(quick: bool) -> list[Record]:
    size = 50 if quick else 200
    names = [f"small{i:03d}" for i in range(size)]
    pool = _pool(names, warm_concurrency=8)
    bare = subprocess.Popen(_BARE)
    try:
        handles = await asyncio.gather(*(pool.allocate(name) for name in names))
        for handle in handles:
            await pool.release(handle)
        await asyncio.sleep(0.5)  # idle: what a hot model costs while nobody calls it
        status = pool.status()
        per_model = statistics.mean(m.rss for m in status.models) / 2**20
        bare_rss = psutil.Process(bare.pid).memory_info().rss / 2**20
        count = 5_000 if quick else 50_000
        hits = await _alloc_times(pool, names, count)
        locks = await _lock_times(names, count)
    finally:
        bare.kill()
        bare.wait()
        await pool.close()
    return [
        record(
            f"pool_scale.rss_per_idle_model@{size}",
            per_model,
            "MiB",
            "RSS of a bare `python -c` process",
            bare_rss,
        ),
        *_alloc_records(f"pool_scale.alloc@{size}", hits, locks),
    ]


def run_scale(quick: bool) -> list[Record]:
    return asyncio.run(_scale(quick))
