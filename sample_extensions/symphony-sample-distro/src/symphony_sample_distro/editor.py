"""The ``sample-editor`` plugin: provides the ``text_editing`` port with a journaling editor."""

from __future__ import annotations

from symphony.hookspecs import HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext

from .journal import JournalingEditor

__all__ = ["symphony_health_checks", "symphony_provide_text_editing"]

SYMPHONY_API = "^1.0"


@hookimpl
def symphony_provide_text_editing(context: HostContext) -> JournalingEditor:
    return JournalingEditor()


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    def check() -> HealthStatus:
        port = context.port("text_editing")
        if not isinstance(port, JournalingEditor):
            return HealthStatus(
                status="degraded",
                message=f"text_editing is served by {type(port).__name__}, not the journaling editor",
                details={"provider_type": type(port).__name__},
            )
        return HealthStatus.ok(
            f"journaling editor: {port.buffer_count} open buffer(s), {len(port.journal())} journaled edit(s)",
            open_buffers=port.buffer_count,
            journaled_edits=len(port.journal()),
        )

    return [HealthCheck(name="sample-editor", check=check)]
