"""Collection on a schedule inside a long-lived host: every ``schedule`` interval, the first one interval after start.

A collection that fails is logged and the next one still runs: stale state is never
worth stopping a host for.  Each collection is published as a ``stale.collected`` event.
"""

from __future__ import annotations

import asyncio
import logging

from symphony.hookspecs import Event, HealthStatus
from symphony.hookspecs.ports import HostContext, StaleManagerPort, port_as

from .options import COMPONENT, StaleOptions

__all__ = ["StaleSchedule", "collect_every"]

log = logging.getLogger("symphony.stale")


async def collect_every(interval: float, context: HostContext) -> None:
    """Collect every ``interval`` seconds until cancelled; the manager is made at the first collection, not at start."""
    while True:
        await asyncio.sleep(interval)
        try:
            manager: StaleManagerPort = port_as(
                context, "stale_manager", StaleManagerPort, user="The stale collection schedule"
            )
            report = await manager.collect()
        except Exception:
            log.exception("scheduled stale collection failed; the next runs in %s s", interval)
            continue
        for source, error in report.errors.items():
            log.warning("stale source %r failed during scheduled collection: %s", source, error)
        context.emit(
            Event(
                topic="stale.collected",
                source=COMPONENT,
                data={"items": len(report.items), "bytes": report.size, "errors": dict(report.errors)},
            )
        )


class StaleSchedule:
    """The ``stale`` component: runs :func:`collect_every` while the host runs (nothing when the schedule is off)."""

    name = COMPONENT
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context
        self._task: asyncio.Task[None] | None = None
        self.interval: float | None = None

    async def start(self) -> None:
        self.interval = StaleOptions.from_options(self._context.component_config(COMPONENT).options).interval
        if self.interval is None:
            return
        self._task = asyncio.get_running_loop().create_task(collect_every(self.interval, self._context))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def health_check(self) -> HealthStatus:
        if self.interval is None:
            return HealthStatus.ok("no scheduled collection (components.stale.options.schedule is off)")
        return HealthStatus.ok(f"collecting every {self.interval:g} s")
