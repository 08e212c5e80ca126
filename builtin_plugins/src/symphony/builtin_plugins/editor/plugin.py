"""Registers the bridge to the editor-core process as the ``text_editing`` port, and ``symphony editor-core``.

Every command loads this plugin and few edit text, so the bridge (and asyncio
under it) is imported when the port is first asked for; the core process starts
on the first call.  The ``editor`` component stops the core with the host (it
also dies with the host by PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from symphony.hookspecs import HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext

if TYPE_CHECKING:
    from .bridge.port import CoreEditing

SYMPHONY_API = "^1.0"
COMPONENT = "editor"

#: The port each host made (a host that never asked for it runs no core).
_PORTS: weakref.WeakKeyDictionary[HostContext, CoreEditing] = weakref.WeakKeyDictionary()


@hookimpl(trylast=True)
def symphony_provide_text_editing(context: HostContext) -> CoreEditing:
    from .bridge.port import CoreEditing

    port = _PORTS[context] = CoreEditing(emit=context.emit)
    return port


class EditorLifecycle:
    """Stops this host's editor core, if it started one, when the host stops; its health is the core's."""

    name = COMPONENT
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context

    async def start(self) -> None:
        """Nothing to start: the core starts on the port's first call."""

    async def stop(self) -> None:
        port = _PORTS.pop(self._context, None)
        if port is not None:
            await port.stop()

    async def health_check(self) -> HealthStatus:
        return await _health(self._context)


async def _health(context: HostContext) -> HealthStatus:
    """The core's state (running, restarting after a crash, given up) and how many buffers are open."""
    port = _PORTS.get(context)
    if port is None:
        return HealthStatus.ok("no buffer opened by this host yet", open_buffers=0)
    status = port.core.health()
    if status.problems:
        return status
    buffers = len(await port.list_buffers())
    message = f"{status.message}; {buffers} open buffer(s)"
    return HealthStatus(status=status.status, message=message, details={**status.details, "open_buffers": buffers})


@hookimpl
def symphony_components(context: HostContext) -> list[EditorLifecycle]:
    return [EditorLifecycle(context)]


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="editor", check=lambda: _health(context))]


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    help_ = "Run the editor core: xi-style JSON-RPC, one JSON object per line on stdin/stdout (see docs/editor.md)."
    cli.add_command(
        lazy_command("editor-core", "symphony.builtin_plugins.editor.core.cli:editor_core_command", help=help_)
    )
