"""The parent side of a worker: round trips, errors, lifecycle, stats, start-up refusals."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import ExtensionError
from symphony.sandbox.confine import ConfinementPolicy
from symphony.sandbox.subprocess import (
    ConfinementUnavailableError,
    SubprocessWorker,
    WorkerNotRunningError,
    WorkerProtocolError,
    WorkerStartError,
    WorkerTimeoutError,
)

from .conftest import LoopbackServer, allow_list_host_call

MakeWorker = Callable[..., SubprocessWorker]


async def test_a_trivial_extension_round_trips_its_input(make_worker: MakeWorker) -> None:
    worker = make_worker("symphony_test_echo:handle", name="echo")
    await worker.start()
    assert await worker.invoke("echo", {"a": [1, 2], "b": "x"}) == {"echo": {"a": [1, 2], "b": "x"}}


async def test_start_reports_every_mechanism_applied(make_worker: MakeWorker) -> None:
    info = await make_worker("symphony_test_echo:handle").start()
    assert info.confinement.applied == ("namespaces", "rlimits", "landlock", "seccomp")
    assert info.confinement.skipped == {}
    assert info.confinement.landlock_abi >= 1
    assert info.pid != os.getpid()


async def test_configuration_reaches_the_extension_through_the_protocol(make_worker: MakeWorker) -> None:
    worker = make_worker("symphony_test_echo:handle", config={"api_key": "s3cret"})
    await worker.start()
    assert await worker.invoke("config", {}) == {"config": {"api_key": "s3cret"}}


async def test_an_exception_in_the_extension_is_an_extension_error_and_the_worker_survives(
    make_worker: MakeWorker,
) -> None:
    worker = make_worker("symphony_test_echo:handle", name="echo")
    await worker.start()
    with pytest.raises(ExtensionError, match="extension 'echo' raised ValueError in operation 'fail': asked to fail"):
        await worker.invoke("fail", {"why": "testing"})
    assert await worker.invoke("echo", {}) == {"echo": {}}
    assert worker.stats().failures == 1


async def test_an_answer_nested_deeper_than_the_limit_kills_the_worker_with_a_clear_error(
    make_worker: MakeWorker,
) -> None:
    worker = make_worker("symphony_test_echo:handle", name="echo")
    await worker.start()
    with pytest.raises(WorkerProtocolError, match="nests deeper than the limit of 64 levels"):
        await worker.invoke("nest", {"depth": 100})
    assert not worker.running


async def test_an_async_handler_can_use_the_mediated_http_api(
    make_worker: MakeWorker, http_server: LoopbackServer
) -> None:
    worker = make_worker("symphony_test_echo:handle_async", host_call=allow_list_host_call({"127.0.0.1"}))
    await worker.start()
    result = await worker.invoke("fetch", {"url": f"http://127.0.0.1:{http_server.port}/a"})
    assert result == {"status": 200, "body": "hello from /a"}


async def test_stats_report_memory_cpu_and_counters(make_worker: MakeWorker) -> None:
    worker = make_worker("symphony_test_echo:handle")
    await worker.start()
    for _ in range(3):
        await worker.invoke("echo", {})
    stats = worker.stats()
    assert stats.running and stats.pid == worker.info.pid  # type: ignore[union-attr]
    assert stats.rss_bytes > 1024 * 1024 and stats.peak_rss_bytes >= stats.rss_bytes
    assert stats.cpu_seconds > 0
    assert (stats.invocations, stats.failures, stats.starts) == (3, 0, 1)


async def test_ping_answers_with_a_round_trip_time(make_worker: MakeWorker) -> None:
    worker = make_worker("symphony_test_echo:handle")
    await worker.start()
    before = time.perf_counter()
    round_trip = await worker.ping()
    assert 0 < round_trip <= time.perf_counter() - before  # in seconds, and within the call that measured it


async def test_stop_ends_the_process_and_removes_the_private_directory(make_worker: MakeWorker) -> None:
    worker = make_worker("symphony_test_echo:handle")
    info = await worker.start()
    workdir = worker.workdir
    assert workdir is not None and workdir.is_dir()
    await worker.stop()
    assert not workdir.parent.exists()
    assert not Path(f"/proc/{info.pid}").exists() or "zombie" in Path(f"/proc/{info.pid}/status").read_text()
    with pytest.raises(WorkerNotRunningError, match="call start\\(\\) first"):
        await worker.invoke("echo", {})


async def test_descriptors_of_the_host_are_not_inherited(make_worker: MakeWorker, tmp_path: Path) -> None:
    handle = (tmp_path / "host-only").open("w")
    os.set_inheritable(handle.fileno(), True)
    try:
        worker = make_worker()
        await worker.start()
        outcome = await worker.invoke("fd", {"fd": handle.fileno()})
    finally:
        handle.close()
    mine = os.stat(tmp_path / "host-only")
    assert outcome["outcome"] == "denied" or outcome["value"] != [mine.st_dev, mine.st_ino]


async def test_an_unimportable_entry_fails_to_start_naming_the_entry(make_worker: MakeWorker) -> None:
    worker = make_worker("symphony_test_missing:handle", name="ghost")
    with pytest.raises(
        WorkerStartError, match="cannot load extension 'ghost' from entry 'symphony_test_missing:handle'"
    ):
        await worker.start()
    assert not worker.running


async def test_a_missing_mechanism_refuses_to_start_unless_weaker_is_allowed(make_worker: MakeWorker) -> None:
    strict = make_worker(
        "symphony_test_echo:handle", policy=ConfinementPolicy(assume_unavailable=frozenset({"landlock"}))
    )
    with pytest.raises(ConfinementUnavailableError, match=r"landlock: assumed unavailable.*set weaker_allowed"):
        await strict.start()
    assert not strict.running


async def test_a_weaker_mode_when_allowed_reports_what_was_skipped(make_worker: MakeWorker) -> None:
    policy = ConfinementPolicy(assume_unavailable=frozenset({"seccomp"}), weaker_allowed=True)
    worker = make_worker(policy=policy)
    info = await worker.start()
    assert info.confinement.applied == ("namespaces", "rlimits", "landlock")
    assert "seccomp" in info.confinement.skipped
    assert (await worker.invoke("read", {"path": "/etc/shadow"}))["outcome"] == "denied"


async def test_a_short_limit_after_calls_with_a_long_one_still_ends_the_call_at_the_short_one(
    make_worker: MakeWorker,
) -> None:
    worker = make_worker()
    await worker.start()
    assert (await worker.invoke("fork", {}, timeout=3600))["outcome"] == "denied"
    async with asyncio.timeout(120):  # only a bound on a hang: the short limit must end it long before
        with pytest.raises(WorkerTimeoutError, match=r"did not finish 'spin' within 0.5 s"):
            await worker.invoke("spin", {}, timeout=0.5)


async def test_a_host_call_that_never_answers_ends_at_the_invocations_limit(make_worker: MakeWorker) -> None:
    async def never(method: str, params: dict[str, Any]) -> Any:
        await asyncio.Event().wait()

    worker = make_worker(host_call=never)
    await worker.start()
    with pytest.raises(WorkerTimeoutError, match=r"did not finish 'http' within 0.5 s"):
        await worker.invoke("http", {"url": "http://127.0.0.1:9/"}, timeout=0.5)
    assert not worker.running


def test_an_entry_without_a_callable_is_rejected_before_starting() -> None:
    with pytest.raises(ValueError, match="expected 'module:callable', got 'just_a_module'"):
        SubprocessWorker("x", "just_a_module")
