"""Confined subprocess worker: cold start and per-call overhead, each beside a same-run baseline.

- ``ext_load.subprocess.cold_start``: ``SubprocessWorker.start()`` (a fork of the host's
  zygote + confine with namespaces, rlimits, Landlock and seccomp + hello + ``load``) plus
  the first ``invoke``, against an unconfined plain ``python -I -S -c`` child that answers
  one line on its stdin (the least any subprocess runtime must pay).  The zygote is
  started once per host, before the timed starts.
  ``ext_load.subprocess.cold_start.fresh_interpreter``: the same with ``fork_server=False``
  (a new ``python -I -S`` per worker: what a host's first worker costs, zygote included).
  Breakdown records: bare interpreter start, and the worker's imports (what the zygote
  pays once), against the same baseline.
- ``ext_invoke.subprocess.{sync,async}``: p50/p99 of a trivial operation on a started
  worker (sync handler: called on the worker's loop; async: awaited there), against a raw
  ``multiprocessing.Pipe`` round trip to a child process that echoes.  The four endpoints
  are sampled in interleaved rounds, so a busy machine slows each of them alike.
- ``ext_invoke.subprocess.confinement_overhead.p50``: the confined async worker against
  the same worker with every mechanism off (what confinement costs per call).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.sandbox.confine import MECHANISMS, ConfinementPolicy
from symphony.sandbox.subprocess import SubprocessWorker
from symphony.sandbox.subprocess._launch import worker_sys_path

__all__ = ["run_invoke", "run_load"]

_EXTENSIONS: Final = str(Path(__file__).resolve().parents[1] / "tests" / "sandbox" / "subprocess" / "extensions")
_ECHO_LINE: Final = "import sys; sys.stdout.write(sys.stdin.readline()); sys.stdout.flush()"
_ROUNDS: Final = 20


def _plain_child_ms() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-S", "-c", _ECHO_LINE], input=b"hi\n", capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def _timed_ms(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


async def _cold_start_ms(fork_server: bool) -> float:
    worker = SubprocessWorker("bench", "symphony_test_echo:handle", sys_path=[_EXTENSIONS], fork_server=fork_server)
    started = time.perf_counter()
    await worker.start()
    await worker.invoke("echo", {})
    elapsed = (time.perf_counter() - started) * 1000
    await worker.stop()
    return elapsed


async def _cold_starts(count: int) -> tuple[list[float], list[float]]:
    """``count`` forked and fresh-interpreter starts, alternating; the zygote is started (untimed) first."""
    await _cold_start_ms(True)
    forked, fresh = [], []
    for _ in range(count):
        forked.append(await _cold_start_ms(True))
        fresh.append(await _cold_start_ms(False))
    return forked, fresh


#: The same worker with every mechanism off: isolates what confinement itself costs per call.
_UNCONFINED: Final = ConfinementPolicy(weaker_allowed=True, assume_unavailable=frozenset(MECHANISMS))


def _echo(conn: Connection) -> None:
    while True:
        message = conn.recv()
        if message is None:
            return
        conn.send(message)


async def _pipe_round_trip(conn: Connection) -> None:
    conn.send({"operation": "echo", "input": {"n": 1}})
    conn.recv()


async def _interleaved(calls: dict[str, Callable[[], Awaitable[object]]], count: int) -> dict[str, list[float]]:
    """Round-trip times (µs) of each call, ``count`` each, taken in interleaved blocks after a warm-up."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(50):
            await call()
    block = max(1, count // _ROUNDS)
    with no_gc():
        for _ in range(_ROUNDS):
            for name, call in calls.items():
                taken = samples[name]
                for _ in range(block):
                    started = time.perf_counter_ns()
                    await call()
                    taken.append((time.perf_counter_ns() - started) / 1000)
    return samples


async def _invoke_samples(count: int) -> dict[str, list[float]]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_echo, args=(child,), daemon=True)
    process.start()
    workers = {
        "sync": SubprocessWorker("bench", "symphony_test_echo:handle", sys_path=[_EXTENSIONS]),
        "async": SubprocessWorker("bench", "symphony_test_echo:handle_async", sys_path=[_EXTENSIONS]),
        "unconfined": SubprocessWorker(
            "bench", "symphony_test_echo:handle_async", sys_path=[_EXTENSIONS], policy=_UNCONFINED
        ),
    }
    try:
        for worker in workers.values():
            await worker.start()
        calls: dict[str, Callable[[], Awaitable[object]]] = {"pipe": lambda: _pipe_round_trip(parent)}
        for name, worker in workers.items():
            calls[name] = lambda worker=worker: worker.invoke("echo", {"n": 1})  # type: ignore[misc]
        return await _interleaved(calls, count)
    finally:
        for worker in workers.values():
            await worker.stop()
        parent.send(None)
        process.join(5)


def run_load(quick: bool) -> list[Record]:
    """Cold start of a fully confined worker, beside a plain child's start, with its breakdown."""
    starts = 5 if quick else 20
    plain = statistics.median(_plain_child_ms() for _ in range(starts))
    bare = statistics.median(_timed_ms([sys.executable, "-I", "-S", "-c", "pass"]) for _ in range(starts))
    path = repr(worker_sys_path([_EXTENSIONS]))
    imports_code = f"import sys; sys.path[:0] = {path}; import symphony.sandbox.subprocess._child"
    imports = statistics.median(_timed_ms([sys.executable, "-I", "-S", "-c", imports_code]) for _ in range(starts))
    forked, fresh = asyncio.run(_cold_starts(starts))
    plain_name = "plain `python -I -S -c` child answering one stdin line"
    return [
        record(
            "ext_load.subprocess.cold_start",
            statistics.median(forked),
            "ms",
            plain_name,
            plain,
            seed_target="extension load <100 ms",
            goal="<= 50 ms, fully confined",
        ),
        record("ext_load.subprocess.cold_start.fresh_interpreter", statistics.median(fresh), "ms", plain_name, plain),
        record("ext_load.subprocess.breakdown.interpreter", bare, "ms", plain_name, plain),
        record("ext_load.subprocess.breakdown.worker_imports", imports, "ms", plain_name, plain),
    ]


def run_invoke(quick: bool) -> list[Record]:
    """Per-call round trip of a trivial operation in a confined worker, beside a raw pipe round trip."""
    samples = asyncio.run(_invoke_samples(2000 if quick else 20000))
    pipe = samples["pipe"]
    pipe_name = "raw multiprocessing.Pipe round trip to a child"
    records = []
    for variant in ("sync", "async"):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            records.append(
                record(
                    f"ext_invoke.subprocess.{variant}.{label}",
                    percentile(samples[variant], fraction),
                    "us",
                    f"{pipe_name} ({label})",
                    percentile(pipe, fraction),
                    goal="<= 1.3x a raw multiprocessing.Pipe round trip" if label == "p50" else None,
                )
            )
    records.append(
        record(
            "ext_invoke.subprocess.confinement_overhead.p50",
            percentile(samples["async"], 0.5),
            "us",
            "the same async worker with no confinement applied (p50)",
            percentile(samples["unconfined"], 0.5),
        )
    )
    return records


if __name__ == "__main__":
    for item in run_load(quick="--quick" in sys.argv) + run_invoke(quick="--quick" in sys.argv):
        print(item)
