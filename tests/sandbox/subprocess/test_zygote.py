"""The zygote: workers of this interpreter are forks of one pre-imported process, which holds nothing they keep.

Every confinement test runs in both modes (``make_worker`` is parametrized); these
tests are about the zygote itself: who forks, what a fork leaves behind, and lifetime.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from symphony.sandbox.subprocess import SubprocessWorker, WorkerCrashedError
from tests.lifetime import alive, wait_until_dead

from .conftest import EXTENSIONS, HOSTILE

Make = Callable[..., SubprocessWorker]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[SubprocessWorker] = []

    def factory(entry: str = "symphony_test_hostile:handle", **kwargs: object) -> SubprocessWorker:
        worker = SubprocessWorker("zygote-test", entry, sys_path=[EXTENSIONS, HOSTILE], **kwargs)  # type: ignore[arg-type]
        made.append(worker)
        return worker

    yield factory
    for worker in made:
        await worker.stop()


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def _socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets ``pid`` holds (``socket:[N]`` links in /proc)."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            found.add(int(target[len("socket:[") : -1]))
    return found


async def test_workers_of_this_interpreter_are_forked_by_one_zygote(make: Make) -> None:
    first, second = await make().start(), await make().start()
    assert first.forked and second.forked
    zygote = _parent(first.pid)
    assert zygote != os.getpid()
    assert _parent(second.pid) == zygote


async def test_a_worker_asked_for_a_fresh_interpreter_is_the_hosts_own_child(make: Make) -> None:
    info = await make(fork_server=False).start()
    assert not info.forked
    assert _parent(info.pid) == os.getpid()


def test_a_worker_for_another_interpreter_is_never_forked(tmp_path: Path) -> None:
    assert not SubprocessWorker("other", "a:b", python=str(tmp_path / "python")).forks


async def test_a_forked_worker_holds_none_of_the_zygotes_sockets(make: Make) -> None:
    worker = make("symphony_test_escapes:handle")
    info = await worker.start()
    zygote = _socket_inodes(_parent(info.pid))
    assert zygote, "the zygote holds its control socket"
    held = (await worker.invoke("descriptors", {}))["value"]
    assert not zygote & {inode for _, _, inode in held}, held


async def test_a_forked_worker_creates_files_with_the_hosts_current_umask(make: Make) -> None:
    await make().start()  # the zygote starts under the usual umask
    previous = os.umask(0o027)
    try:
        worker = make()
        await worker.start()
    finally:
        os.umask(previous)
    assert (await worker.invoke("write", {"path": "made.txt", "text": "x"}))["outcome"] == "allowed"
    assert worker.workdir is not None
    assert (worker.workdir / "made.txt").stat().st_mode & 0o777 == 0o640


async def test_a_zygote_that_died_is_replaced_at_the_next_start(make: Make) -> None:
    worker = make()
    old = _parent((await worker.start()).pid)
    os.kill(old, signal.SIGKILL)
    with pytest.raises(WorkerCrashedError, match="was killed by SIGKILL"):
        await worker.invoke("spin", {}, timeout=20)  # its parent-death signal ends it
    info = await worker.start()
    assert info.forked and _parent(info.pid) not in (old, os.getpid())
    assert (await worker.invoke("fork", {}))["outcome"] == "denied"


HOST = """
import asyncio, os, sys
from symphony.sandbox.subprocess import SubprocessWorker

async def main():
    worker = SubprocessWorker("hostile", "symphony_test_hostile:handle", sys_path=sys.argv[1:])
    info = await worker.start()
    spinning = asyncio.ensure_future(worker.invoke("spin", {}))
    zygote = int(open(f"/proc/{info.pid}/stat").read().rpartition(")")[2].split()[1])
    print(info.pid, zygote, flush=True)
    await spinning

asyncio.run(main())
"""


def test_the_zygote_and_its_workers_die_when_the_host_is_sigkilled(tmp_path: Path) -> None:
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, EXTENSIONS, HOSTILE],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # a killed host cannot remove its worker's directory
    )
    try:
        assert host.stdout is not None
        worker, zygote = map(int, host.stdout.readline().split())
        assert alive(worker) and alive(zygote) and zygote != host.pid
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        assert wait_until_dead(zygote), f"zygote {zygote} outlived its SIGKILLed host"
        assert wait_until_dead(worker), f"worker {worker} outlived its SIGKILLed host"
    finally:
        host.kill()
        host.wait()
