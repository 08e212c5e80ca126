"""Registers the in-process bus as the ``message_bus`` port (trylast: any other provider wins)."""

from __future__ import annotations

import weakref

from symphony.hookspecs import Event, HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext

from .bus import InProcessBus

SYMPHONY_API = "^1.0"

#: The builtin bus each started host runs, for republishing its events (one host may run many).
_RUNNING: weakref.WeakKeyDictionary[HostContext, InProcessBus] = weakref.WeakKeyDictionary()


@hookimpl(trylast=True)
def symphony_provide_message_bus(context: HostContext) -> InProcessBus:
    return InProcessBus()


class BusLifecycle:
    """Starts and stops whichever bus serves the port, with the host (a port alone has no lifecycle)."""

    name = "message_bus"
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context

    async def start(self) -> None:
        bus = self._context.port("message_bus")
        if isinstance(bus, InProcessBus):
            await bus.start()
            _RUNNING[self._context] = bus

    async def stop(self) -> None:
        bus = self._context.port("message_bus")
        if isinstance(bus, InProcessBus):
            _RUNNING.pop(self._context, None)
            await bus.stop()

    async def health_check(self) -> HealthStatus:
        bus = self._context.port("message_bus")
        running = not isinstance(bus, InProcessBus) or bus.running
        return HealthStatus.ok("running") if running else HealthStatus.failed("The message bus is stopped.")


@hookimpl
def symphony_event(event: Event, context: HostContext) -> None:
    """Republish host events on the running bus, so subscribers and bridged hosts see them."""
    bus = _RUNNING.get(context)
    if bus is not None and bus.running:
        bus.publish_nowait(event.topic, event.data, sender=event.source)


@hookimpl
def symphony_components(context: HostContext) -> list[BusLifecycle]:
    return [BusLifecycle(context)]


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    def check() -> HealthStatus:
        bus = context.port("message_bus")
        if not isinstance(bus, InProcessBus):
            return HealthStatus.ok(f"message_bus is served by {type(bus).__name__}, not the builtin bus")
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
