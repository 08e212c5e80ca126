"""A model worker: ``python -m symphony.builtin_plugins.pit.pool.worker``, one model instance per process.

It answers the handshake on stdin/stdout (fd 1 then points at stderr, so a
model's stray ``print`` cannot corrupt the frames), loads the model named by
the ``load`` request, and serves ``call`` and ``ping`` requests concurrently
until stdin closes.  Synchronous model methods run in threads, so a long call
never keeps a ping from being answered: a worker that misses pings is hung,
not busy.  It asks the kernel to kill it when the host dies (PR_SET_PDEATHSIG),
so a crashed host leaves no orphaned models holding memory.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import inspect
import os
import signal
import sys
import time
from typing import Any

import msgspec

from symphony.hookspecs import SerializationError, SymphonyError, TransportError
from symphony.hookspecs.wire.connection import StreamConnection
from symphony.hookspecs.wire.stdio import serve_stdio

from .protocol import PARENT_ENV, Reply, Request, decode_request, encode

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """SIGKILL this process when the host dies; exit now if the host is already gone (Linux only)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):  # the host died before prctl took effect
        os._exit(0)


class _Worker:
    """One loaded model and the connection to the pool that asks it things."""

    def __init__(self, connection: StreamConnection) -> None:
        self.connection = connection
        self.model: Any = None
        self.loader = ""
        self.tasks: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        while True:
            try:
                frame = await self.connection.receive()
            except (TransportError, SerializationError, ConnectionError):
                return  # the pool closed our stdin (or broke the stream): nothing left to serve
            try:
                request = decode_request(frame)
            except msgspec.DecodeError:
                continue  # not ours to answer: the frame boundary is intact, so the next one is readable
            task = asyncio.create_task(self.answer(request))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def answer(self, request: Request) -> None:
        try:
            value = await self.dispatch(request)
            reply = Reply(request.id, True, value)
            frame = encode(reply)
        except Exception as error:  # every failure is a reply: the pool decides what it means
            category = error.category if isinstance(error, SymphonyError) else "symphony"
            frame = encode(Reply(request.id, False, self.describe(error, request), category))
        await self.connection.send(frame)

    def describe(self, error: BaseException, request: Request) -> str:
        if isinstance(error, SymphonyError):
            return str(error)
        if isinstance(error, (TypeError, msgspec.EncodeError)) and request.op == "call":
            return f"method {request.method!r} failed or returned a value that cannot be sent: {error}"
        where = f"loader {self.loader!r}" if request.op == "load" else f"method {request.method!r}"
        return f"{where} raised {type(error).__name__}: {error}"

    async def dispatch(self, request: Request) -> Any:
        if request.op == "ping":
            return os.getpid()
        if request.op == "load":
            return await self.load(request.payload)
        if self.model is None:
            raise RuntimeError("no model is loaded: send load first")
        if request.method.startswith("_"):
            raise AttributeError(f"{request.method!r} is private; call a public method of the model")
        method = getattr(self.model, request.method, None)
        if not callable(method):
            raise AttributeError(f"the model has no method {request.method!r}")
        if inspect.iscoroutinefunction(method):
            return await method(request.payload)
        return await asyncio.get_running_loop().run_in_executor(None, method, request.payload)

    async def load(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.loader = payload["loader"]
        module_name, _, attribute = self.loader.partition(":")
        started = time.perf_counter()
        target: Any = importlib.import_module(module_name)
        for part in attribute.split(".") if attribute else ():
            target = getattr(target, part)
        if not callable(target):
            raise TypeError(f"{self.loader!r} is {type(target).__name__}, expected a function loader(config)")
        self.model = await asyncio.get_running_loop().run_in_executor(None, target, payload.get("config") or {})
        return {"pid": os.getpid(), "load_seconds": time.perf_counter() - started}


async def _main() -> None:
    worker = _Worker(await serve_stdio())
    await worker.serve()
    # A load or call may still run in a thread; it must not keep alive a worker the pool let go
    # (asyncio.run would wait for the executor's threads).
    sys.stderr.flush()
    os._exit(0)


def main() -> None:
    _die_with_parent()
    asyncio.run(_main())


if __name__ == "__main__":
    main()
