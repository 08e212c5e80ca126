"""Confined subprocess worker: cold start and per-call overhead, each beside a same-run baseline.

- ``ext_load.subprocess.cold_start``: ``SubprocessWorker.start()`` (spawn + confine
  with namespaces, rlimits, Landlock and seccomp + handshake + ``load``) plus the
  first ``invoke``, against an unconfined plain ``python -I -S -c`` child that
  answers one line on its stdin (the least any subprocess runtime must pay).
  Breakdown records: bare interpreter start, and the worker's imports without
  confinement, against the same baseline.
- ``ext_invoke.subprocess.{sync,async}``: p50/p99 of a trivial operation on a
  started worker (sync handler: run on the worker's handler thread; async: on
  its event loop), against a raw ``multiprocessing.Pipe`` round trip to a child
  process that echoes, measured in the same run.
- ``ext_invoke.subprocess.confinement_overhead.p50``: the confined async worker
  against the same worker with every mechanism off (what confinement costs per call).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import subprocess
import sys
import time
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


def _plain_child_ms() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-S", "-c", _ECHO_LINE], input=b"hi\n", capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def _timed_ms(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


async def _cold_start_ms() -> float:
    worker = SubprocessWorker("bench", "symphony_test_echo:handle", sys_path=[_EXTENSIONS])
    started = time.perf_counter()
    await worker.start()
    await worker.invoke("echo", {})
    elapsed = (time.perf_counter() - started) * 1000
    await worker.stop()
    return elapsed


#: The same worker with every mechanism off: isolates what confinement itself costs per call.
_UNCONFINED: Final = ConfinementPolicy(weaker_allowed=True, assume_unavailable=frozenset(MECHANISMS))


async def _invoke_us(entry: str, count: int, policy: ConfinementPolicy | None = None) -> list[float]:
    worker = SubprocessWorker("bench", entry, sys_path=[_EXTENSIONS], policy=policy)
    await worker.start()
    try:
        for _ in range(50):
            await worker.invoke("echo", {"n": 1})
        samples = []
        with no_gc():
            for _ in range(count):
                started = time.perf_counter_ns()
                await worker.invoke("echo", {"n": 1})
                samples.append((time.perf_counter_ns() - started) / 1000)
        return samples
    finally:
        await worker.stop()


def _echo(conn: Connection) -> None:
    while True:
        message = conn.recv()
        if message is None:
            return
        conn.send(message)


def _pipe_us(count: int) -> list[float]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_echo, args=(child,), daemon=True)
    process.start()
    try:
        for _ in range(50):
            parent.send({"operation": "echo", "input": {"n": 1}})
            parent.recv()
        samples = []
        with no_gc():
            for _ in range(count):
                started = time.perf_counter_ns()
                parent.send({"operation": "echo", "input": {"n": 1}})
                parent.recv()
                samples.append((time.perf_counter_ns() - started) / 1000)
        return samples
    finally:
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
    cold = statistics.median(asyncio.run(_cold_start_ms()) for _ in range(starts))
    plain_name = "plain `python -I -S -c` child answering one stdin line"
    return [
        record(
            "ext_load.subprocess.cold_start",
            cold,
            "ms",
            plain_name,
            plain,
            seed_target="extension load <100 ms",
            goal="fully confined cold start <= 50 ms",
        ),
        record("ext_load.subprocess.breakdown.interpreter", bare, "ms", plain_name, plain),
        record("ext_load.subprocess.breakdown.worker_imports", imports, "ms", plain_name, plain),
    ]


def run_invoke(quick: bool) -> list[Record]:
    """Per-call round trip of a trivial operation in a confined worker, beside a raw pipe round trip."""
    calls = 2000 if quick else 20000
    pipe = _pipe_us(calls)
    sync = asyncio.run(_invoke_us("symphony_test_echo:handle", calls))
    async_ = asyncio.run(_invoke_us("symphony_test_echo:handle_async", calls))
    unconfined = asyncio.run(_invoke_us("symphony_test_echo:handle_async", calls, _UNCONFINED))
    pipe_name = "raw multiprocessing.Pipe round trip to a child"
    records = []
    for variant, samples in (("sync", sync), ("async", async_)):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            records.append(
                record(
                    f"ext_invoke.subprocess.{variant}.{label}",
                    percentile(samples, fraction),
                    "us",
                    f"{pipe_name} ({label})",
                    percentile(pipe, fraction),
                    goal="confined subprocess p50 <= 1.3x raw pipe round trip" if label == "p50" else None,
                )
            )
    records.append(
        record(
            "ext_invoke.subprocess.confinement_overhead.p50",
            percentile(async_, 0.5),
            "us",
            "the same async worker with no confinement applied (p50)",
            percentile(unconfined, 0.5),
        )
    )
    return records


if __name__ == "__main__":
    for item in run_load(quick="--quick" in sys.argv) + run_invoke(quick="--quick" in sys.argv):
        print(item)
