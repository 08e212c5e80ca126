"""The event and wrapper hooks: observers see every change, wrappers every invocation."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import pytest

from symphony.hookspecs import Event, Invocation, PermissionDeniedError, hookimpl
from symphony.hookspecs.ports import HostContext

from .conftest import MakeHost


class Watches:
    def __init__(self) -> None:
        self.topics: list[str] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        self.topics.append(event.topic)


class RaisesOnEveryEvent:
    @hookimpl
    def symphony_event(self, event: Event, context: HostContext) -> None:
        raise RuntimeError("observer broke")


async def test_symphony_event_sees_the_host_lifecycle_in_order(make_host: MakeHost) -> None:
    watcher = Watches()
    async with make_host(watcher):
        pass
    lifecycle = [topic for topic in watcher.topics if topic.startswith("host.")]
    assert lifecycle == ["host.loaded", "host.starting", "host.started", "host.stopping", "host.stopped"]


def test_symphony_event_observer_that_raises_affects_neither_the_emitter_nor_other_observers(
    make_host: MakeHost,
) -> None:
    watcher = Watches()
    context = make_host(RaisesOnEveryEvent(), watcher).load().context
    context.emit(Event(topic="plugin.custom", source="test", data={"n": 1}))
    assert watcher.topics[-1] == "plugin.custom"


class RefusesSecrets:
    """A guard: refuses any call whose inputs carry a key named ``secret``."""

    @hookimpl(wrapper=True)
    def symphony_invoke(self, invocation: Invocation) -> Generator[None, Any, Any]:
        if "secret" in invocation.inputs:
            raise PermissionDeniedError(f"{invocation.target} may not receive secrets")
        return (yield)


async def test_symphony_invoke_wrapper_may_refuse_a_call_before_it_runs(make_host: MakeHost) -> None:
    calls: list[Mapping[str, Any]] = []

    def record(inputs: Mapping[str, Any]) -> str:
        calls.append(inputs)
        return "ran"

    context = make_host(RefusesSecrets()).load().context
    allowed = Invocation(kind="operator", target="echo", inputs={"text": "hi"}, call=record)
    refused = Invocation(kind="operator", target="echo", inputs={"secret": "k"}, call=record)
    assert await context.invoke(allowed) == "ran"
    with pytest.raises(PermissionDeniedError, match="echo may not receive secrets"):
        await context.invoke(refused)
    assert calls == [{"text": "hi"}]
