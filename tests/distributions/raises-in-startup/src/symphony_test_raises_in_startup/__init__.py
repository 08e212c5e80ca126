"""A plugin whose async ``symphony_startup`` raises; its health check must disappear with it."""

from symphony.hookspecs import HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext


@hookimpl
async def symphony_startup(context: HostContext) -> None:
    raise RuntimeError("raises-in-startup refuses to start")


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="raises-in-startup-check", check=lambda: HealthStatus.ok("still here"))]
