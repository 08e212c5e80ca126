"""The cost of one hook call through the host, against raw pluggy and direct calls.

With 1 and 10 implementations of ``symphony_event`` (broadcast):

- ``hook_call.direct@N``: the implementations called directly, one after another;
- ``hook_call.pluggy@N``: a plain ``pluggy.PluginManager`` with the same plugins;
- ``hook_call.host@N``: ``host.hook.symphony_event(event=...)`` on a loaded Host
  (no discovery, profiling off), and ``host_profiled@N`` with ``hooks.profile = true``;
- ``hook_call.host_emit@N``: ``host.emit(event)``, the path the host's own events take.

``hook_call.host_async@N`` awaits ``host.acall("symphony_startup", context=...)``
over N coroutine implementations against ``asyncio.gather`` of the coroutines.
``hook_call.invoke@N`` awaits ``host.invoke(invocation)`` (the path of every node
call) through N pass-through ``symphony_invoke`` wrappers, against awaiting the call.
"""

from __future__ import annotations

import asyncio
import time
import timeit
from collections.abc import Callable, Coroutine, Generator, Mapping
from typing import Any

import pluggy

from benchmarks import _sites
from benchmarks.run import Record, record
from symphony.hookspecs import PROJECT_NAME, Event, Invocation, hookimpl, hooks
from symphony.host._host import Host

__all__ = ["run"]

GOAL = "within 1.2x of raw pluggy"
REFERENCE = {1: "reference: raw pluggy 0.9 us", 10: "reference: raw pluggy 2.8 us"}

#: Runs the measured call ``loops`` times; returns the elapsed seconds.
Timer = Callable[[int], float]


class _Observer:
    @hookimpl
    def symphony_event(self, event: Event) -> None:
        return None


class _Starter:
    @hookimpl
    async def symphony_startup(self, context: object) -> None:
        return None


class _Wrapper:
    @hookimpl(wrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Generator[None, Any, Any]:
        return (yield)


async def _node_call(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    return inputs


def _sync_timer(stmt: str, names: dict[str, Any]) -> Timer:
    return timeit.Timer(stmt, globals=names).timeit


def _async_timer(loop: asyncio.AbstractEventLoop, call: Callable[[], Coroutine[Any, Any, Any]]) -> Timer:
    async def repeat(loops: int) -> float:
        start = time.perf_counter()
        for _ in range(loops):
            await call()
        return time.perf_counter() - start

    return lambda loops: loop.run_until_complete(repeat(loops))


def _loops(timer: Timer, target: float) -> int:
    loops = 1
    while (elapsed := timer(loops)) < target:
        loops = max(loops * 2, int(loops * target / max(elapsed, 1e-9) * 1.1))
    return loops


def _measure(timers: dict[str, Timer], repeats: int, target: float) -> dict[str, float]:
    """Median microseconds per call of each timer, interleaving their repetitions."""
    loops = {name: _loops(timer, target) for name, timer in timers.items()}
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(repeats):
        for name, timer in timers.items():
            samples[name].append(timer(loops[name]) / loops[name] * 1e6)
    return {name: _sites.median(values) for name, values in samples.items()}


def _host(plugins: list[object], profile: bool) -> Host:
    return Host(overrides={"hooks": {"profile": profile}}, plugins=plugins, discover_plugins=False).load()


def _sync_timers(size: int) -> dict[str, Timer]:
    event = Event(topic="bench.tick", source="benchmarks")
    observers = [_Observer() for _ in range(size)]
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hooks)
    for observer in observers:
        pm.register(observer)
    host, profiled = _host(list(observers), False), _host([_Observer() for _ in range(size)], True)
    direct = {f"f{i}": observer.symphony_event for i, observer in enumerate(observers)}
    call = "hook.symphony_event(event=event)"
    return {
        "direct": _sync_timer("; ".join(f"{name}(event)" for name in direct), {**direct, "event": event}),
        "pluggy": _sync_timer(call, {"hook": pm.hook, "event": event}),
        "host": _sync_timer(call, {"hook": host.hook, "event": event}),
        "host_profiled": _sync_timer(call, {"hook": profiled.hook, "event": event}),
        "host_emit": _sync_timer("emit(event)", {"emit": host.emit, "event": event}),
    }


def _async_timers(loop: asyncio.AbstractEventLoop, size: int) -> dict[str, Timer]:
    starters = [_Starter() for _ in range(size)]
    host = _host(list(starters), False)
    context = object()

    async def gather() -> None:
        await asyncio.gather(*(starter.symphony_startup(context) for starter in starters))

    async def acall() -> None:
        await host.acall("symphony_startup", context=context)

    wrapped = _host([_Wrapper() for _ in range(size)], False)
    inputs = {"in": 1}

    async def call() -> None:
        await _node_call(inputs)

    async def invoke() -> None:
        await wrapped.invoke(Invocation(kind="operator", target="bench", inputs=inputs, call=_node_call))

    return {
        "gather": _async_timer(loop, gather),
        "host_async": _async_timer(loop, acall),
        "await": _async_timer(loop, call),
        "invoke": _async_timer(loop, invoke),
    }


def run(quick: bool) -> list[Record]:
    repeats, target = (5, 0.02) if quick else (15, 0.1)
    records: list[Record] = []
    loop = asyncio.new_event_loop()
    try:
        for size in (1, 10):
            us = _measure(_sync_timers(size), repeats, target)
            us |= _measure(_async_timers(loop, size), repeats, target)
            pluggy_name, pluggy_us = f"hook_call.pluggy@{size}", us["pluggy"]
            records += [
                record(pluggy_name, pluggy_us, "us", f"hook_call.direct@{size}", us["direct"], goal=REFERENCE[size]),
                record(f"hook_call.host@{size}", us["host"], "us", pluggy_name, pluggy_us, goal=GOAL),
                record(f"hook_call.host_profiled@{size}", us["host_profiled"], "us", pluggy_name, pluggy_us),
                record(f"hook_call.host_emit@{size}", us["host_emit"], "us", pluggy_name, pluggy_us),
                record(f"hook_call.host_async@{size}", us["host_async"], "us", f"asyncio.gather@{size}", us["gather"]),
                record(f"hook_call.invoke@{size}", us["invoke"], "us", "await call", us["await"]),
            ]
    finally:
        loop.close()
    return records
