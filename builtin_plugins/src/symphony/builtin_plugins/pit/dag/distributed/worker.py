"""What runs on a Dask worker: rebuild a node's implementation from its factory and config, and call it.

The tracker ships a :class:`WorkItem`: the contribution's factory, pickled once by
the tracker, with the node's config and inputs.  A module-level factory pickles
*by reference*, so the worker imports it from its own installed packages (workers
must share the tracker's environment); a closure carries the values it captured.
The worker builds ``factory(config)`` once per factory and config and keeps the
result (LRU), so repeated nodes pay for the build once.

Synchronous implementations run in the Dask task's thread.  Async ones run on one
event loop per worker process, in a thread of its own that lives as long as the
process, so what an implementation keeps between calls (an HTTP client) stays on
the loop it was made on.
"""

from __future__ import annotations

import asyncio
import inspect
import pickle
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from symphony.hookspecs import ConfigurationError

from .errors import portable

__all__ = ["WorkItem", "run_node"]

#: Built implementations kept per worker process.
CACHE_SIZE: Final = 256


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One attempt of one node, as shipped to a worker."""

    node_id: str
    kind: str
    uses: str
    #: The contribution's factory, pickled (cloudpickle) by the tracker.
    factory: bytes
    #: Identifies (factory, config): the worker's cache key for the built implementation.
    build_key: str
    config: Mapping[str, Any]
    inputs: Mapping[str, Any]


def run_node(item: WorkItem) -> Mapping[str, Any]:
    """Build (or reuse) the node's implementation and call it; runs on the worker."""
    try:
        call = _built(item)
        result = call(item.inputs)
        if inspect.isawaitable(result):
            result = _LOOP.run(result)
        if not isinstance(result, Mapping):
            raise TypeError(
                f"{item.kind.capitalize()} {item.uses!r} returned {type(result).__name__}, not a mapping of outputs;"
                " its __call__ must return a dict keyed by output port."
            )
        return result
    except Exception as error:
        carried = portable(error)
        if carried is error:
            raise
        raise carried from None


_built_cache: OrderedDict[str, Callable[[Mapping[str, Any]], Any]] = OrderedDict()
_cache_lock = threading.Lock()


def _built(item: WorkItem) -> Callable[[Mapping[str, Any]], Any]:
    with _cache_lock:
        cached = _built_cache.get(item.build_key)
        if cached is not None:
            _built_cache.move_to_end(item.build_key)
            return cached
    try:
        factory = pickle.loads(item.factory)
    except Exception as error:
        raise ConfigurationError(
            f"Node {item.node_id!r}: this Dask worker cannot load the factory of {item.kind} {item.uses!r}"
            f" ({type(error).__name__}: {error}). Install the same packages on every worker as where the"
            " tracker runs."
        ) from None
    call: Callable[[Mapping[str, Any]], Any] = factory(dict(item.config))
    with _cache_lock:
        _built_cache[item.build_key] = call
        while len(_built_cache) > CACHE_SIZE:
            _built_cache.popitem(last=False)
    return call


class _LoopThread:
    """One event loop per process, in a daemon thread, for async implementations."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, awaitable: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(_await(awaitable), self._get()).result()

    def _get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="symphony-worker-loop", daemon=True).start()
                self._loop = loop
            return self._loop


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


_LOOP: Final = _LoopThread()
