"""Registers the language servers as port ``language`` and component ``lsp``, which stops them with the host.

Settings: ``[components.lsp.options]`` are :class:`~.options.LspOptions` (servers by
language, timeouts, the message limit).  Nothing starts until a buffer is first
asked about; the component's health lists each server's state and restarts.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from symphony.hookspecs import ComponentOptionsSpec, Event, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext

from .options import COMPONENT, LspOptions

if TYPE_CHECKING:  # the client is imported when the port is first asked for, not with every host
    from .service import Languages

SYMPHONY_API = "^1.0"

#: Each host's port, to stop with the host and to hand the editor's events to.
_made: weakref.WeakKeyDictionary[HostContext, Languages] = weakref.WeakKeyDictionary()


def options_of(context: HostContext) -> LspOptions:
    """This host's ``[components.lsp.options]``; a bad value is a ConfigurationError saying what to write."""
    return LspOptions.from_options(context.component_config(COMPONENT).options)


class LspLifecycle:
    """Stops the language servers with the host (``shutdown``, ``exit``, then kill), if any started."""

    name = COMPONENT
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context

    async def start(self) -> None:
        """Nothing to start: a server starts when a buffer of its language is first asked about."""

    async def stop(self) -> None:
        languages = _made.pop(self._context, None)
        if languages is not None:
            await languages.aclose()

    async def health_check(self) -> HealthStatus:
        languages = _made.get(self._context)
        servers = languages.servers if languages is not None else []
        if not servers:
            return HealthStatus.ok("no language server started yet")
        states = {f"{s.language}:{s.root}": {"state": s.state, "restarts": s.restarts, "pid": s.pid} for s in servers}
        failed = [s for s in servers if s.state == "failed"]
        if failed:
            return HealthStatus.failed(
                "; ".join(f"{s.name} failed: {s.last_error}" for s in failed),
                fix="Install the server or fix components.lsp.options.servers.<language>.command.",
            )
        summary = ", ".join(
            f"{s.language} {s.state}" + (f" ({s.restarts} restarts)" if s.restarts else "") for s in servers
        )
        if any(s.state == "restarting" for s in servers):
            return HealthStatus(status="degraded", message=summary, details={"servers": states})
        return HealthStatus.ok(summary, servers=states)


@hookimpl(trylast=True)
def symphony_provide_language(context: HostContext) -> Languages:
    from .service import Languages

    languages = _made[context] = Languages(lambda: context.port("text_editing"), options_of(context), context.emit)
    return languages


@hookimpl
def symphony_components(context: HostContext) -> list[LspLifecycle]:
    return [LspLifecycle(context)]


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=LspOptions)]


@hookimpl
def symphony_event(event: Event) -> None:
    if event.topic == "editor.closed":
        for languages in list(_made.values()):
            languages.on_event(event)
