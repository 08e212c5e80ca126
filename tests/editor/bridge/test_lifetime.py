"""The core process lives no longer than its host: stopped with it, and killed by the kernel if the host dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from symphony.builtin_plugins.editor.bridge.connection import CORE_MODULE
from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.hookspecs import TransportError
from tests.lifetime import alive

from .support import eventually

_HOST = """
import asyncio, sys
from pathlib import Path

import pytest
from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.hookspecs import TransportError

async def main():
    editing = CoreEditing()
    await editing.open_file(Path(sys.argv[1]))
    while editing.core.spare_pid is None:
        await asyncio.sleep(0.01)
    print(editing.core.pid, editing.core.spare_pid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


async def test_the_core_is_started_on_first_use_as_its_own_process(source: Path) -> None:
    editing = CoreEditing()
    try:
        assert editing.core.pid is None and editing.core.state == "stopped"
        await editing.open_file(source)
        pid = editing.core.pid
        assert pid is not None and pid != os.getpid()
        assert cmdline(pid)[1:3] == ["-m", CORE_MODULE]
    finally:
        await editing.stop()


async def test_stopping_the_port_ends_the_core_and_its_spare(source: Path) -> None:
    editing = CoreEditing()
    await editing.open_file(source)
    await eventually(lambda: editing.core.spare_pid is not None, "the spare started")
    pids = [editing.core.pid, editing.core.spare_pid]
    await editing.stop()
    await eventually(lambda: not any(alive(pid) for pid in pids if pid is not None), "the cores exited")
    assert editing.core.state == "stopped"


async def test_a_restart_takes_the_idle_spare_core(source: Path) -> None:
    editing = CoreEditing()
    try:
        buffer = await editing.open_file(source)
        await eventually(lambda: editing.core.spare_pid is not None, "the spare started")
        spare, first = editing.core.spare_pid, editing.core.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: editing.core.restarts == 1 and editing.core.state == "running", "the restart")
        assert editing.core.pid == spare
        assert await editing.get_buffer_content(buffer) == source.read_text(encoding="utf-8")
    finally:
        await editing.stop()


async def test_a_stopped_port_refuses_calls_and_starts_no_core_again(source: Path) -> None:
    editing = CoreEditing()
    await editing.open_file(source)
    await editing.stop()
    with pytest.raises(TransportError, match="stopped with the host"):
        await editing.open_file(source.with_name("other.txt"))
    assert editing.core.pid is None and editing.core.state == "stopped"


async def test_the_core_dies_with_its_host_even_when_the_host_is_killed(source: Path) -> None:
    host = subprocess.Popen([sys.executable, "-c", _HOST, str(source)], stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(host.stdout.readline), 60)
        cores = [int(pid) for pid in line.split()]
        assert len(cores) == 2 and all(alive(pid) for pid in cores)  # the core and its idle spare
        host.send_signal(signal.SIGKILL)
        host.wait()
        await eventually(lambda: not any(alive(pid) for pid in cores), "the core and its spare died with the host")
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
