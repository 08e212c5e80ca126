"""A plugin written for a plugin API this host does not speak."""

from symphony.hookspecs import HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^2.0"


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="old-api-check", check=lambda: HealthStatus.ok("from the future"))]
