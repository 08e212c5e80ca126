"""A stdio child runs in a session (and process group) of its own, not the host's.

Signals aimed at the host's process group (``kill(0, ...)`` from anything in it,
the terminal's Ctrl-C) then miss the child, and the child's miss the host; the
host still ends its children itself when it closes their connections, also on
Ctrl-C, and also a confined worker of ``symphony ext invoke`` that spins without
reading its pipe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from symphony.builtin_plugins.ipc.transports import StdioTransport

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

PEER = Path(__file__).with_name("peer.py")
DEADLINE: Final = 60.0


async def test_a_spawned_child_has_its_own_session_and_process_group() -> None:
    connection = await StdioTransport().spawn([sys.executable, str(PEER), "stdio"])
    try:
        child = connection.process.pid
        assert os.getsid(child) == child and os.getsid(child) != os.getsid(0)
        assert os.getpgid(child) == child and os.getpgid(child) != os.getpgrp()
    finally:
        await connection.close()


async def test_closing_the_connection_still_ends_the_child_in_its_own_session() -> None:
    connection = await StdioTransport().spawn([sys.executable, str(PEER), "stdio"])
    await connection.close()
    assert connection.process.returncode is not None


#: A host as the host's commands are written: Ctrl-C through the loop's signal handler, which sets the wakeup
#: descriptor, so a SIGINT the kernel hands to another thread (the child watcher's) still wakes the loop.
#: (asyncio.run's own handler does not: CI once lost a Ctrl-C that way while the loop slept.)
HOST = """
import asyncio, signal, sys
from symphony.builtin_plugins.ipc.transports import StdioTransport

async def main():
    connection = await StdioTransport().spawn([sys.executable, "-c", sys.argv[1]])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    try:
        print(connection.process.pid, flush=True)
        await stop.wait()
    finally:
        await connection.close()

asyncio.run(main())
"""
#: A child that answers the handshake, then neither reads nor exits: only a kill ends it.
STUCK_CHILD = """
import asyncio, time
from symphony.builtin_plugins.ipc.transports import serve_stdio
asyncio.run(serve_stdio())
time.sleep(600)
"""


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def children(pid: int) -> list[int]:
    return [
        int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()
    ]


def in_own_session(pid: int) -> list[int]:
    """``pid``'s children that have left its session: a child is in it from its fork until its setsid."""
    own: list[int] = []
    for child in children(pid):
        with contextlib.suppress(ProcessLookupError):
            if os.getsid(child) != os.getsid(pid):
                own.append(child)
    return own


def poll(condition: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.02)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


@contextlib.contextmanager
def foreground_job(argv: list[str], **options: object) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """``argv`` in a process group of its own, as a terminal's foreground job; killed at the end, with ``spawned``."""
    job: subprocess.Popen[str] = subprocess.Popen(  # type: ignore[call-overload]
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **options
    )
    spawned: list[int] = []
    try:
        yield job, spawned
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        for pid in spawned:
            if not gone(pid):  # pragma: no cover - only when the test fails
                os.kill(pid, signal.SIGKILL)
        for stream in (job.stdout, job.stderr):
            if stream is not None:
                stream.close()


def ctrl_c_ends(job: subprocess.Popen[str], child: int) -> None:
    """Ctrl-C to the job's group (the child is in another session): the job exits and ends the child."""
    assert os.getsid(child) != os.getsid(job.pid)
    os.killpg(job.pid, signal.SIGINT)
    job.wait(DEADLINE)
    poll(lambda: gone(child), f"the child {child} to be ended by its host")


def test_ctrl_c_to_the_hosts_process_group_still_ends_a_child_that_ignores_its_pipes() -> None:
    with foreground_job([sys.executable, "-c", HOST, STUCK_CHILD]) as (host, spawned):
        assert host.stdout is not None
        spawned.append(int(host.stdout.readline()))
        ctrl_c_ends(host, spawned[0])


@pytest.mark.slow
def test_ctrl_c_on_ext_invoke_ends_the_spinning_confined_worker(
    installer: Installer, symphony: Callable[..., Symphony]
) -> None:
    ext = symphony(installer.site("end-to-end"))
    ext.home.mkdir(parents=True, exist_ok=True)
    assert ext.run("ext", "grant", "ext-hostile", "file:write:data").returncode == 0  # ungranted, it is not started
    argv = [str(Path(sys.executable).parent / "symphony"), "ext", "invoke", "ext-hostile", "spin"]
    with foreground_job(argv, cwd=ext.home, env=ext.env()) as (cli, spawned):
        spawned.append(int(poll(lambda: in_own_session(cli.pid), "the worker to start")[0]))  # type: ignore[index]
        ctrl_c_ends(cli, spawned[0])
        assert cli.stderr is not None and "Traceback" not in cli.stderr.read()
