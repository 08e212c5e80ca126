"""A plugin whose ``symphony_health_checks`` asks for ``bogus``, which the spec does not pass."""

from symphony.hookspecs import HealthCheck, hookimpl
from symphony.hookspecs.ports import HostContext


@hookimpl
def symphony_health_checks(context: HostContext, bogus: int) -> list[HealthCheck]:
    return []
