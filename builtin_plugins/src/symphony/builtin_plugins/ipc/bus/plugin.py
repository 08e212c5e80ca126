"""Registers the in-process bus as the ``message_bus`` port (trylast: any other provider wins).

The lifecycle and the health check serve whichever bus serves the port, through
the MessageBus Protocol; only the builtin bus's metrics and its cheap
synchronous publish are reached past it (they are this package's own).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from symphony.hookspecs import Event, HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext, MessageBus, port_as

if TYPE_CHECKING:  # the bus (and asyncio) are imported when a host asks for it: listing plugins does not
    import asyncio

    from .bus import InProcessBus

SYMPHONY_API = "^1.0"

#: The bus each started host runs, for republishing its events (one host may run many).
_RUNNING: weakref.WeakKeyDictionary[HostContext, MessageBus] = weakref.WeakKeyDictionary()
#: Publications to other providers' buses still in flight (the loop keeps only weak references to tasks).
_PUBLISHING: set[asyncio.Task[int]] = set()


@hookimpl(trylast=True)
def symphony_provide_message_bus(context: HostContext) -> InProcessBus:
    from .bus import InProcessBus

    return InProcessBus()


class BusLifecycle:
    """Starts and stops whichever bus serves the port, with the host (a port alone has no lifecycle)."""

    name = "message_bus"
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context

    def _bus(self) -> MessageBus:
        bus: MessageBus = port_as(self._context, "message_bus", MessageBus, user="The host's message_bus component")
        return bus

    async def start(self) -> None:
        bus = self._bus()
        await bus.start()
        _RUNNING[self._context] = bus

    async def stop(self) -> None:
        _RUNNING.pop(self._context, None)
        await self._bus().stop()

    async def health_check(self) -> HealthStatus:
        running = self._bus().running
        return HealthStatus.ok("running") if running else HealthStatus.failed("The message bus is stopped.")


@hookimpl
def symphony_event(event: Event, context: HostContext) -> None:
    """Republish host events on the running bus, so subscribers and bridged hosts see them."""
    bus = _RUNNING.get(context)
    if bus is None or not bus.running:
        return
    import asyncio

    from .bus import InProcessBus

    if isinstance(bus, InProcessBus):
        bus.publish_nowait(event.topic, event.data, sender=event.source)
        return
    try:
        task = asyncio.get_running_loop().create_task(bus.publish(event.topic, event.data))
    except RuntimeError:  # emitted outside the host's loop: there is no bus to deliver on then
        return
    _PUBLISHING.add(task)
    task.add_done_callback(_PUBLISHING.discard)


@hookimpl
def symphony_components(context: HostContext) -> list[BusLifecycle]:
    return [BusLifecycle(context)]


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    def check() -> HealthStatus:
        from .bus import InProcessBus

        bus: MessageBus = port_as(context, "message_bus", MessageBus, user="The message_bus health check")
        if not isinstance(bus, InProcessBus):  # another provider's: only what the port promises
            if not bus.running:
                return HealthStatus.failed("The message bus is stopped.", fix="Restart the host.")
            return HealthStatus.ok(
                f"served by plugin {context.port_provider('message_bus')!r}: {len(bus.endpoints())} endpoint(s)"
            )
        m = bus.metrics()
        if not bus.running:
            return HealthStatus.failed("The message bus is stopped.", fix="Restart the host.")
        return HealthStatus.ok(
            f"{m.endpoints} endpoint(s), {m.subscriptions} subscription(s), {m.routed} routed,"
            f" {sum(m.dropped.values())} dropped",
            routed=m.routed,
            delivered=m.delivered,
            dropped=m.dropped,
            late_responses=m.late_responses,
            failed_handlers=m.failed_handlers,
            unknown_endpoints=m.unknown_endpoints,
            pending_requests=m.pending_requests,
        )

    return [HealthCheck(name="message_bus", check=check)]
