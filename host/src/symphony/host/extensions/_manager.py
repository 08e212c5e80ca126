"""The host's extension manager over any runtimes: lazy activation, restarts with backoff, crash loops, resources.

Like VS Code's activation events, an extension registered here costs nothing
until its first invocation, which starts it in the runtime its launch names.
A call that crashes or times out its runtime costs the caller one clear error;
the instance is dropped and the next call starts a fresh one, after a backoff
that doubles with each failure in a row.  ``crash_limit`` failures in a row
disable the extension until it is re-enabled (``doctor`` and ``ext ps`` show
it).  Errors the extension raises itself (bad input, a denied permission) are
answers, not failures of the runtime: they never count towards a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec

from symphony.hookspecs import ExtensionError, PermissionDeniedError, RetryPolicy
from symphony.hookspecs.runtimes import (
    ExtensionCrashedError,
    ExtensionDisabledError,
    ExtensionTimeoutError,
    HostCall,
    Instance,
    Launch,
    Runtime,
)

__all__ = ["DEFAULT_BACKOFF", "ExtensionManager", "ExtensionStats"]

#: Waits 0.1, 0.2, 0.4, ... up to 30 s before restarting after failures in a row.
DEFAULT_BACKOFF = RetryPolicy(max_attempts=5, backoff_initial=0.1, backoff_multiplier=2.0, backoff_max=30.0)

State = Literal["inactive", "starting", "active", "backoff", "disabled"]


class ExtensionStats(msgspec.Struct, kw_only=True):
    """One row of ``symphony ext ps``."""

    name: str
    runtime: str
    state: State
    pid: int | None = None
    memory_bytes: int | None = None
    cpu_seconds: float | None = None
    invocations: int = 0
    failures: int = 0
    denials: int = 0
    restarts: int = 0
    failures_in_row: int = 0
    last_error: str | None = None


class _Slot:
    """The manager's record of one registered extension."""

    def __init__(self, launch: Launch) -> None:
        self.launch = launch
        self.instance: Instance | None = None
        self.lock = asyncio.Lock()
        self.failures_in_row = 0
        self.not_before = 0.0
        self.disabled: str | None = None
        self.stats = ExtensionStats(name=launch.name, runtime=launch.kind, state="inactive")


class ExtensionManager:
    """Runs registered extensions on demand; see the module docstring.

    :param runtimes: one runtime per kind this host may use (policy decides which are present).
    :param host_calls: the host call for an extension (by name); it raises PermissionDeniedError on denial.
    :param backoff: delays between restarts; ``backoff.max_attempts`` failures in a row disable.
    """

    def __init__(
        self,
        runtimes: Mapping[str, Runtime],
        host_calls: Callable[[str], HostCall],
        *,
        backoff: RetryPolicy = DEFAULT_BACKOFF,
    ) -> None:
        self._runtimes = dict(runtimes)
        self._host_calls = host_calls
        self._backoff = backoff
        self._slots: dict[str, _Slot] = {}

    def register(self, launch: Launch, *, disabled: str | None = None, failures_in_row: int = 0) -> None:
        """Make ``launch`` invocable; nothing starts until its first invocation.

        ``disabled`` and ``failures_in_row`` carry over what earlier processes recorded, so
        a crash loop spread over several short-lived hosts (``symphony ext invoke``) is one.
        """
        if launch.kind not in self._runtimes:
            raise ExtensionError(
                f"Extension {launch.name!r} needs the {launch.kind!r} runtime, which no loaded plugin provides"
                f" (available: {', '.join(sorted(self._runtimes)) or 'none'}). Install symphony-sandbox"
                " (pip install symphony-sandbox), which contributes it, or a plugin that contributes it through"
                " symphony_extension_runtimes."
            )
        if launch.name in self._slots:
            raise ExtensionError(f"extension {launch.name!r} is already registered")
        slot = self._slots[launch.name] = _Slot(launch)
        slot.failures_in_row = slot.stats.failures_in_row = failures_in_row
        if disabled is not None:
            slot.disabled = slot.stats.last_error = disabled
            slot.stats.state = "disabled"

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is registered (cheap: no statistics are gathered)."""
        return name in self._slots

    def _slot(self, name: str) -> _Slot:
        try:
            return self._slots[name]
        except KeyError:
            known = ", ".join(sorted(self._slots)) or "none"
            raise ExtensionError(f"no extension {name!r} is registered (registered: {known})") from None

    async def invoke(self, name: str, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        """Run ``operation`` of extension ``name``, starting it first if needed."""
        slot = self._slot(name)
        instance = await self._ensure(slot)
        slot.stats.invocations += 1
        try:
            result = await instance.invoke(operation, input)
        except (ExtensionCrashedError, ExtensionTimeoutError) as error:
            await self._failed(slot, instance, error)
            raise
        slot.failures_in_row = slot.stats.failures_in_row = 0
        return result

    async def _ensure(self, slot: _Slot) -> Instance:
        async with slot.lock:
            if slot.instance is not None:
                return slot.instance
            if slot.disabled is not None:
                raise ExtensionDisabledError(slot.disabled)
            wait = slot.not_before - time.monotonic()
            if wait > 0:
                slot.stats.state = "backoff"
                await asyncio.sleep(wait)
            slot.stats.state = "starting"
            launch = slot.launch
            try:
                instance = await self._runtimes[launch.kind].start(launch, self._counting(slot))
            except Exception as error:
                await self._failed(slot, None, error)
                raise
            if slot.stats.failures:
                slot.stats.restarts += 1
            slot.instance = instance
            slot.stats.state = "active"
            return instance

    def _counting(self, slot: _Slot) -> HostCall:
        """The extension's host call, counting denials for ``ext ps``."""
        call = self._host_calls(slot.launch.name)

        async def host_call(method: str, params: dict[str, Any]) -> Any:
            try:
                return await call(method, params)
            except PermissionDeniedError:
                slot.stats.denials += 1
                raise

        return host_call

    async def _failed(self, slot: _Slot, instance: Instance | None, error: BaseException) -> None:
        if instance is not None and slot.instance is instance:
            slot.instance = None
            await instance.close()
        slot.stats.failures += 1
        slot.failures_in_row += 1
        slot.stats.failures_in_row = slot.failures_in_row
        slot.stats.last_error = str(error)
        if slot.failures_in_row >= self._backoff.max_attempts:
            slot.disabled = (
                f"extension {slot.launch.name!r} is disabled after {slot.failures_in_row} failures in a row"
                f" (last: {error}); fix it, then re-enable it with 'symphony ext enable {slot.launch.name}'"
            )
            slot.stats.state, slot.stats.last_error = "disabled", slot.disabled  # what later processes say
            return
        slot.not_before = time.monotonic() + self._backoff.delay(slot.failures_in_row + 1)
        slot.stats.state = "backoff"

    def enable(self, name: str) -> None:
        """Clear a crash-loop disable; the next invocation starts the extension again."""
        slot = self._slot(name)
        slot.disabled, slot.failures_in_row, slot.not_before = None, 0, 0.0
        slot.stats.state, slot.stats.failures_in_row = "inactive", 0

    async def stop(self, name: str) -> None:
        """Stop ``name``'s running instance (if any); the next invocation starts it again."""
        slot = self._slot(name)
        instance, slot.instance = slot.instance, None
        if instance is not None:
            await instance.close()
        if slot.disabled is None:
            slot.stats.state = "inactive"

    def ps(self) -> list[ExtensionStats]:
        """Per extension: state, memory, CPU time, invocations, failures, denials."""
        rows = []
        for slot in self._slots.values():
            stats = msgspec.structs.replace(slot.stats)
            if slot.instance is not None:
                live = slot.instance.stats()
                stats.pid, stats.memory_bytes, stats.cpu_seconds = live.pid, live.memory_bytes, live.cpu_seconds
            rows.append(stats)
        return sorted(rows, key=lambda row: row.name)

    async def close(self) -> None:
        """Stop every running instance."""
        for slot in self._slots.values():
            instance, slot.instance = slot.instance, None
            if instance is not None:
                await instance.close()
                slot.stats.state = "inactive"
