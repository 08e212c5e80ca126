"""The in-process runtime, for trusted extensions only (builtins, trusted publishers, user-trusted).

No isolation at all: the extension's code runs in the host's interpreter.
The host refuses to start an untrusted extension here; this module only
imports the entry and calls it, with the wall-clock limit applied.  The
contract is the subprocess worker's: ``handle(operation, input) -> dict``
(plain or ``async def``), reaching the host through
:mod:`symphony.hookspecs.guest`, so an extension runs unchanged in either.
A plain handler runs in a worker thread so it cannot block the event loop; it
cannot be interrupted, so a timed-out thread is abandoned (one reason
untrusted code never runs here).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any, Final

from symphony.hookspecs import ExtensionError, guest
from symphony.hookspecs.runtimes import ExtensionTimeoutError, HostCall, InstanceStats, Launch, RuntimeKind

__all__ = ["InProcessInstance", "InProcessRuntime", "resolve_entry"]


def resolve_entry(entry: str, sys_path: tuple[str, ...] = ()) -> Callable[..., Any]:
    """Import ``module:callable``; ExtensionError naming the entry if it cannot be found."""
    module_name, sep, attribute = entry.partition(":")
    if not sep or not module_name or not attribute:
        raise ExtensionError(f"entry {entry!r} is not 'module:callable'")
    for path in reversed(sys_path):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise ExtensionError(f"cannot load entry {entry!r}: {error}") from error
    if not callable(target):
        raise ExtensionError(f"entry {entry!r} is a {type(target).__name__}, not a callable")
    return target  # type: ignore[no-any-return]


class _Channel:
    """The guest API's channel for one in-process extension: its config and the host call."""

    def __init__(self, config: dict[str, Any], host_call: HostCall, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self._host_call = host_call
        self._loop = loop

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """From a plain handler's thread: run the host call on the event loop and wait."""
        return asyncio.run_coroutine_threadsafe(self.acall(method, params), self._loop).result()

    async def acall(self, method: str, params: dict[str, Any]) -> Any:
        return await self._host_call(method, params)


class InProcessInstance:
    """``entry(operation, input)`` called in this process, with the guest API bound to this extension."""

    def __init__(self, launch: Launch, function: Callable[..., Any], host_call: HostCall) -> None:
        self.launch = launch
        self._function = function
        self._channel: Final = _Channel(dict(launch.config), host_call, asyncio.get_running_loop())

    async def invoke(self, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        call = self._function
        try:
            async with asyncio.timeout(self.launch.timeout):
                with guest.bind(self._channel):  # copied into the thread's context by to_thread
                    if inspect.iscoroutinefunction(call):
                        result = await call(operation, input)
                    else:
                        result = await asyncio.to_thread(call, operation, input)
        except TimeoutError:
            raise ExtensionTimeoutError(
                f"extension {self.launch.name!r} ran past its {self.launch.timeout:g} s limit in {operation!r}"
            ) from None
        if not isinstance(result, dict):
            raise ExtensionError(
                f"extension {self.launch.name!r} returned a {type(result).__name__} from {operation!r}; expected a dict"
            )
        return result

    async def close(self) -> None:
        """Nothing to release: the module stays imported."""

    def stats(self) -> InstanceStats:
        return InstanceStats()


class InProcessRuntime:
    kind: RuntimeKind = "python"

    async def start(self, launch: Launch, host_call: HostCall) -> InProcessInstance:
        return InProcessInstance(launch, resolve_entry(launch.entry, launch.sys_path), host_call)
