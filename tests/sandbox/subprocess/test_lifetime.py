"""A confined worker dies with its host, even when the host is SIGKILLed and cannot stop it.

The worker here is busy in extension code that never returns, so nothing on its side
would notice the host's end: only the kernel's parent-death signal ends it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.lifetime import alive, wait_until_dead

from .conftest import EXTENSIONS, HOSTILE

HOST = """
import asyncio, sys
from symphony.sandbox.subprocess import SubprocessWorker

async def main():
    worker = SubprocessWorker("hostile", "symphony_test_hostile:handle", sys_path=sys.argv[1:])
    info = await worker.start()
    spinning = asyncio.ensure_future(worker.invoke("spin", {}))  # extension code that never yields
    print(info.pid, flush=True)
    await spinning

asyncio.run(main())
"""


def test_a_worker_dies_when_its_host_is_sigkilled() -> None:
    host = subprocess.Popen([sys.executable, "-c", HOST, EXTENSIONS, HOSTILE], stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None
        worker = int(host.stdout.readline())
        time.sleep(0.2)  # let the invocation reach the extension
        assert alive(worker)
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        assert wait_until_dead(worker), f"worker {worker} outlived its SIGKILLed host"
    finally:
        host.kill()
        host.wait()
