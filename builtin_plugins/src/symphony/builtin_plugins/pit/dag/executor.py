"""The executor seam: how one attempt of one node's work is carried out.

The tracker decides *what* runs *when*; an :class:`Executor` only runs one
:class:`NodeTask` and returns its outputs.  The default, :class:`LocalExecutor`,
awaits async implementations on the event loop and runs synchronous or
``cpu_bound`` ones in worker threads, so they never block it; a thread runs in
a copy of the caller's context, so what a ``symphony_invoke`` wrapper made
current (a tracing span) is current for the call there too.  A distributed
executor (Dask, Ray) implements the same one method: a task carries the
contribution's ``factory`` and ``config`` as well as the built callable, so a
remote worker can rebuild the implementation instead of pickling it.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Executor", "LocalExecutor", "NodeTask", "is_blocking"]


@dataclass(frozen=True, slots=True)
class NodeTask:
    """One node's work: which contribution, built how, with which inputs."""

    run_id: str
    node_id: str
    kind: str  # "operator" or "instrument"
    uses: str
    config: Mapping[str, Any]
    factory: Callable[[Mapping[str, Any]], Any]
    call: Callable[[Mapping[str, Any]], Any]
    inputs: Mapping[str, Any]
    cpu_bound: bool = False
    #: The callable is synchronous (see :func:`is_blocking`): keep it off the event loop.
    blocking: bool = False


def is_blocking(call: Any) -> bool:
    """Whether ``call`` is synchronous: not an ``async def`` function nor an object with ``async def __call__``."""
    if inspect.isfunction(call) or inspect.ismethod(call):
        return not inspect.iscoroutinefunction(call)
    return not inspect.iscoroutinefunction(getattr(type(call), "__call__", None))  # noqa: B004


@runtime_checkable
class Executor(Protocol):
    """Runs one attempt of a node; raising means the attempt failed (the tracker retries)."""

    async def run(self, task: NodeTask) -> Mapping[str, Any]: ...

    async def close(self) -> None: ...


def _in_thread(call: Callable[[Mapping[str, Any]], Any], inputs: Mapping[str, Any]) -> Any:
    result = call(inputs)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


class LocalExecutor:
    """Async implementations on the loop; synchronous and ``cpu_bound`` ones in a thread pool."""

    def __init__(self, max_workers: int | None = None) -> None:
        self._max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, task: NodeTask) -> Mapping[str, Any]:
        if task.cpu_bound or task.blocking:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="symphony-dag")
            context = contextvars.copy_context()
            result = await asyncio.get_running_loop().run_in_executor(
                self._pool, context.run, _in_thread, task.call, task.inputs
            )
        else:
            result = await task.call(task.inputs)
        if not isinstance(result, Mapping):
            raise TypeError(
                f"{task.kind.capitalize()} {task.uses!r} returned {type(result).__name__}, not a mapping of outputs;"
                " its __call__ must return a dict keyed by output port."
            )
        return result

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
