"""A dead or hung worker is noticed, its calls in flight fail with a retryable error, and it is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from symphony.hookspecs import Event, ModelUnavailableError
from tests.conftest import REPO

from .conftest import MakePool, eventually, fake, until


async def test_a_killed_workers_call_in_flight_fails_naming_the_model_and_the_signal(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m") as handle:
        pid = await pool.call(handle, "pid")
        in_flight = asyncio.ensure_future(pool.call(handle, "sleep", 60))
        await asyncio.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ModelUnavailableError, match=r"model 'm' .* was killed by SIGKILL"):
            await in_flight


async def test_a_killed_worker_is_replaced_and_the_same_handle_works_again(
    make_pool: MakePool, events: list[Event]
) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m") as handle:
        pid = await pool.call(handle, "pid")
        os.kill(pid, signal.SIGKILL)
        await eventually(lambda: pool.status().failures == 1)

        async def replaced() -> bool:
            try:
                return bool(await pool.call(handle, "pid") != pid)
            except ModelUnavailableError:
                return False  # retryable: the replacement may still be starting

        await until(replaced)
    assert await pool.state("m") == "hot"
    topics = [e.topic for e in events if e.topic.startswith("pool.worker.")]
    assert topics == ["pool.worker.died", "pool.worker.ready"]
    assert "SIGKILL" in (pool.status().models[0].error or "")


async def test_a_worker_that_crashes_itself_during_a_call_is_replaced(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m") as handle:
        with pytest.raises(ModelUnavailableError, match="retry"):
            await pool.call(handle, "crash")
        await eventually(lambda: pool.status().models[0].instances == 1)
        assert await pool.call(handle, "echo", "back") == "back"


async def test_a_hung_worker_misses_its_ping_and_is_killed_and_replaced(make_pool: MakePool) -> None:
    pool = make_pool(fake("m"), health_interval=0.2)
    async with pool.use("m") as handle:
        pid = await pool.call(handle, "pid")
        os.kill(pid, signal.SIGSTOP)
        await eventually(lambda: pool.status().failures == 1)
        assert "hung" in (pool.status().models[0].error or "")
        await eventually(lambda: pool.status().models[0].instances == 1)
        assert await pool.call(handle, "pid") != pid


async def test_a_worker_that_cannot_be_replaced_leaves_the_model_cold_with_the_cause(
    make_pool: MakePool, tmp_path: object
) -> None:
    pool = make_pool(fake("m"))
    async with pool.use("m") as handle:
        pid = await pool.call(handle, "pid")
        pool._models["m"].spec = fake("m", fail="disk gone")  # the next load fails, as after a broken upgrade
        os.kill(pid, signal.SIGKILL)
        await eventually(lambda: pool.status().models[0].state == "cold")
        with pytest.raises(ModelUnavailableError):
            await pool.call(handle, "echo", 1)
    assert "disk gone" in (pool.status().models[0].error or "")


def test_a_stopped_worker_dies_with_its_host_when_the_host_is_killed() -> None:
    code = textwrap.dedent(
        """
        import asyncio
        from symphony.builtin_plugins.pit.pool.pool import Pool
        from symphony.hookspecs import ModelSpec

        async def main():
            pool = Pool({"m": ModelSpec(name="m", loader="benchmarks.pool_models:load")})
            async with pool.use("m") as handle:
                print(await pool.call(handle, "pid"), flush=True)
                await asyncio.sleep(600)

        asyncio.run(main())
        """
    )
    host = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert host.stdout is not None
    worker = int(host.stdout.readline())
    os.kill(worker, signal.SIGSTOP)  # stopped, it cannot notice its input closing: only the kernel can end it
    host.kill()  # no chance to close its pool: PR_SET_PDEATHSIG must end the worker
    host.wait()
    deadline = time.monotonic() + 30
    while _running(worker):
        assert time.monotonic() < deadline, f"worker {worker} outlived its killed host"
        time.sleep(0.01)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
