"""The pool's side of one model worker: start it, load the model, call it, ping it, notice its death at once.

A task awaits the process's exit, so a death is seen the moment the kernel
reports it (not at the next health check): every call in flight then fails
with ModelUnavailableError naming the model and how the worker ended, and
``on_exit`` tells the pool, which replaces the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import psutil

from symphony.hookspecs import ModelUnavailableError, SymphonyError, TransportError, describe_exit, error_class_for
from symphony.hookspecs.wire.stdio import ProcessConnection, spawn_stdio

from .protocol import PARENT_ENV, WORKER_MODULE, Reply, Request, decode_reply, encode

__all__ = ["Worker", "worker_env"]

#: Seconds a worker whose output ended has to exit before it is killed.
_EXIT_GRACE = 1.0


def worker_env() -> dict[str, str]:
    """The host's environment, with its import path, so a loader in any importable module imports in the worker."""
    env = dict(os.environ)
    paths = dict.fromkeys(os.path.abspath(p) for p in sys.path if p)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[PARENT_ENV] = str(os.getpid())
    return env


class Worker:
    """One worker process holding one instance of ``model_id``."""

    def __init__(self, model_id: str, connection: ProcessConnection) -> None:
        self.model_id = model_id
        self.connection = connection
        self.process = connection.process
        self.pid: int = connection.process.pid
        #: Called once with (this worker, cause) when it dies without being asked to stop.
        self.on_exit: Callable[[Worker, str], None] | None = None
        self.cause: str | None = None
        self.stopping = False
        self._ids = itertools.count()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.create_task(self._read())
        self._watcher = asyncio.create_task(self._watch())
        self._psutil: psutil.Process | None = None

    @classmethod
    async def start(cls, model_id: str, env: Mapping[str, str]) -> Worker:
        connection = await spawn_stdio([sys.executable, "-m", WORKER_MODULE], env=env)
        return cls(model_id, connection)

    @property
    def alive(self) -> bool:
        return self.cause is None

    async def load(self, loader: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Import and run ``loader(config)`` in the worker; the reply says its pid and how long loading took."""
        result: dict[str, Any] = await self._ask("load", "", {"loader": loader, "config": dict(config)})
        return result

    async def call(self, method: str, payload: Any) -> Any:
        return await self._ask("call", method, payload)

    async def ping(self, timeout: float) -> bool:
        """Whether the worker answered within ``timeout`` seconds (a busy model still answers: calls run in threads)."""
        try:
            await asyncio.wait_for(self._ask("ping", "", None), timeout)
        except (TimeoutError, SymphonyError):
            return False
        return True

    def rss(self) -> int:
        """Resident memory of the worker now, in bytes (0 once it is gone)."""
        try:
            if self._psutil is None:
                self._psutil = psutil.Process(self.pid)
            return int(self._psutil.memory_info().rss)
        except psutil.Error:
            return 0

    def kill(self, cause: str) -> None:
        """End the worker now (SIGKILL); its death is reported with ``cause`` instead of the signal."""
        if self.cause is None:
            self.cause = cause
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def stop(self) -> None:
        """Close its stdin (it exits), killing it if it lingers; not reported as a death."""
        self.stopping = True
        with contextlib.suppress(Exception):
            await self.connection.close()
        await self._watcher

    async def _ask(self, op: Any, method: str, payload: Any) -> Any:
        if self.cause is not None:
            raise self._unavailable()
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self.connection.send(encode(Request(request_id, op, method, payload)))
            return await future
        except TransportError:
            raise self._unavailable() from None
        finally:
            self._pending.pop(request_id, None)

    def _unavailable(self) -> ModelUnavailableError:
        cause = self.cause or "stopped answering"
        return ModelUnavailableError(
            f"model {self.model_id!r} is unavailable: its worker (pid {self.pid}) {cause}; retry the call,"
            " the pool is replacing the worker"
        )

    async def _read(self) -> None:
        while True:
            try:
                reply: Reply = decode_reply(await self.connection.receive())
            except (TransportError, ConnectionError):
                break
            except Exception:  # a malformed reply: the worker is not speaking our protocol
                self.kill("sent a malformed reply")
                break
            future = self._pending.get(reply.id)
            if future is None or future.done():
                continue
            if reply.ok:
                future.set_result(reply.value)
            else:
                future.set_exception(error_class_for(reply.category)(f"model {self.model_id!r}: {reply.value}"))
        if self.stopping:
            return
        # End of output is usually the death itself, a moment before the kernel reports the exit status;
        # a worker that closed its output and lives on can no longer answer, so it is ended.
        try:
            await asyncio.wait_for(asyncio.shield(self.process.wait()), _EXIT_GRACE)
        except TimeoutError:
            self.kill("closed its output")

    async def _watch(self) -> None:
        code = await self.process.wait()
        if self.cause is None:
            self.cause = describe_exit(code)
        error = self._unavailable()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        if not self.stopping and self.on_exit is not None:
            self.on_exit(self, self.cause)
