"""Per-plugin attribution: where time goes, by plugin and hook.

Off by default and then free: nothing is wrapped.  When on, each hook
implementation's function is replaced by a timing shim as the plugin is
registered, and plugin import times are recorded by discovery.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pluggy

__all__ = ["ProfileRow", "Profiler"]


class ProfileRow(msgspec.Struct, frozen=True):
    plugin: str
    hook: str
    calls: int
    total_ms: float

    @property
    def mean_us(self) -> float:
        return self.total_ms * 1000 / self.calls if self.calls else 0.0


class Profiler:
    """Accumulates nanoseconds per (plugin, hook); ``import`` is the plugin's load."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str], list[int]] = {}

    def record(self, plugin: str, hook: str, elapsed_ns: int) -> None:
        entry = self._totals.setdefault((plugin, hook), [0, 0])
        entry[0] += 1
        entry[1] += elapsed_ns

    def instrument(self, pm: pluggy.PluginManager, plugin: object) -> None:
        """Wrap every implementation ``plugin`` registered so that its calls are timed."""
        name = pm.get_name(plugin) or repr(plugin)
        for caller in pm.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    # pluggy declares HookImpl.function Final, yet calls it through the attribute.
                    impl.function = self._timed(impl.function, name, caller.name)  # type: ignore[misc]

    def _timed(self, function: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
        record, clock = self.record, time.perf_counter_ns
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_async(*args: Any) -> Any:
                start = clock()
                try:
                    return await function(*args)
                finally:
                    record(plugin, hook, clock() - start)

            return timed_async

        @functools.wraps(function)
        def timed(*args: Any) -> Any:
            start = clock()
            try:
                return function(*args)
            finally:
                record(plugin, hook, clock() - start)

        return timed

    def rows(self) -> list[ProfileRow]:
        """Totals, most expensive first."""
        rows = [ProfileRow(p, h, calls, ns / 1e6) for (p, h), (calls, ns) in self._totals.items()]
        return sorted(rows, key=lambda row: row.total_ms, reverse=True)
