"""A child process for the supervisor tests: ``python supervised_peer.py [--exit-after SECONDS]``.

Methods: ``echo`` (returns params and its pid), ``sleep`` (awaits ``seconds``),
``hang`` (blocks its event loop for good: heartbeats go unanswered),
``die`` (exits at once with ``code``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from symphony.builtin_plugins.ipc.endpoint import serve_endpoint


async def echo(params: dict[str, Any]) -> dict[str, Any]:
    return {"params": params, "pid": os.getpid()}


async def sleep(params: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(float(params["seconds"]))
    return {"slept": params["seconds"]}


async def hang(params: dict[str, Any]) -> None:
    while True:
        time.sleep(3600)


async def die(params: dict[str, Any]) -> None:
    os._exit(int(params.get("code", 3)))


async def main() -> None:
    if "--exit-after" in sys.argv:
        delay = float(sys.argv[sys.argv.index("--exit-after") + 1])
        asyncio.get_running_loop().call_later(delay, os._exit, 7)
    await serve_endpoint({"echo": echo, "sleep": sleep, "hang": hang, "die": die}, name="peer")


if __name__ == "__main__":
    asyncio.run(main())
