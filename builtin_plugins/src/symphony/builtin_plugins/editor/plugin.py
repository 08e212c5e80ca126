"""Registers the buffers as the ``text_editing`` port; their change events go out through the host."""

from __future__ import annotations

from symphony.hookspecs import HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext

from .buffers import Buffers

SYMPHONY_API = "^1.0"


@hookimpl(trylast=True)
def symphony_provide_text_editing(context: HostContext) -> Buffers:
    return Buffers(emit=context.emit)


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    async def check() -> HealthStatus:
        buffers = await context.port("text_editing").list_buffers()
        return HealthStatus.ok(f"{len(buffers)} open buffer(s)", open_buffers=len(buffers))

    return [HealthCheck(name="editor", check=check)]
