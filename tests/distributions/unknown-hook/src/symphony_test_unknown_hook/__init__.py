"""A plugin implementing ``symphony_helth_checks``: a typo of ``symphony_health_checks``."""

from symphony.hookspecs import HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext


@hookimpl
def symphony_helth_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="unknown-hook-check", check=HealthStatus.ok)]
