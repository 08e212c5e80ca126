"""A supervised child dies with its host, even when the host is SIGKILLed and cannot stop it.

The child here has blocked its event loop (``hang``), so it would never read the
end of its stdin: only the kernel's parent-death signal ends it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.lifetime import alive, wait_until_dead

PEER = str(Path(__file__).with_name("supervised_peer.py"))

HOST = """
import asyncio, sys
from symphony.builtin_plugins.ipc.bus import InProcessBus
from symphony.builtin_plugins.ipc.bus.supervisor import SupervisedEndpoint
from symphony.hookspecs import MessageEnvelope, RequestPayload

async def main():
    bus = InProcessBus()
    await bus.start()
    child = SupervisedEndpoint(bus, "worker", [sys.executable, sys.argv[1]], heartbeat_interval=3600)
    await child.start()
    hang = MessageEnvelope.create(RequestPayload(method="hang"), sender="host", recipient="worker")
    asyncio.ensure_future(bus.request(hang, 3600))
    await asyncio.sleep(0.5)  # the request reaches the child, which blocks
    print(child.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_a_supervised_child_dies_when_its_host_is_sigkilled() -> None:
    host = subprocess.Popen([sys.executable, "-c", HOST, PEER], stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None
        child = int(host.stdout.readline())
        assert alive(child)
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        assert wait_until_dead(child), f"supervised child {child} outlived its SIGKILLed host"
    finally:
        host.kill()
        host.wait()
