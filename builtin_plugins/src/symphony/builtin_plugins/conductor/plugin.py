"""Registers the conductor as the ``conductor`` port, its lifecycle, and ``symphony conductor``.

``[components.conductor.options] mode`` picks the provider: ``embedded`` (the
default) runs workflows in the host's process; ``process`` starts
``symphony conductor serve`` as a child supervised over stdio and talks to it
over the IPC envelope.  The component starts that child with the host and
stops it with the host.
"""

from __future__ import annotations

import os
import sys
import weakref
from typing import TYPE_CHECKING, Any

from symphony.hookspecs import ComponentOptionsSpec, ConfigurationError, HealthStatus, hookimpl
from symphony.hookspecs.ports import AsyncComponent, ConductorPort, DagTrackerPort, HostContext, MessageBus, port_as

from .options import COMPONENT, ConductorOptions

if TYPE_CHECKING:  # imported when a conductor is first used: loading the plugin must stay cheap
    import click

    from .embedded import EmbeddedConductor
    from .remote import RemoteConductor

SYMPHONY_API = "^1.0"

#: Components of other plugins that ``conductor serve`` runs while it serves, as a long-lived host does.
SERVED_COMPONENTS = ("stale",)

#: Runs the ``symphony`` command with this interpreter, wherever its script is.
_SYMPHONY = "import sys; from symphony.host.cli import main; sys.exit(main())"


def options_of(context: HostContext) -> ConductorOptions:
    return ConductorOptions.from_options(context.component_config(COMPONENT).options)


def tracker_of(context: HostContext) -> DagTrackerPort:
    """Whichever tracker serves ``dag_tracker``, checked to offer what the conductor calls."""
    port: DagTrackerPort = port_as(context, "dag_tracker", DagTrackerPort, user="The conductor")
    return port


def embedded_for(context: HostContext, *, close_tracker: bool = False) -> EmbeddedConductor:
    from .embedded import EmbeddedConductor

    return EmbeddedConductor(lambda: tracker_of(context), close_tracker=close_tracker)


def served_for(context: HostContext) -> ConductorPort:
    """What ``symphony conductor serve`` serves: whichever conductor serves the port.

    When this plugin serves it, a fresh embedded conductor (in process mode
    the port is a client of ``serve`` itself) that closes the tracker, and so
    cancels its runs resumably, when serving stops.
    """
    port: ConductorPort = port_as(context, "conductor", ConductorPort, user="symphony conductor serve")
    if port is _made.get(context):
        return embedded_for(context, close_tracker=True)
    return port


def remote_for(context: HostContext, options: ConductorOptions) -> RemoteConductor:
    """A client of a ``symphony conductor serve`` child sharing this host's data and cache directories.

    The child is an endpoint on whichever bus serves ``message_bus``.
    """
    from .remote import RemoteConductor

    argv = list(options.command) or [sys.executable, "-c", _SYMPHONY, "conductor", "serve"]
    env = {
        **os.environ,
        "SYMPHONY_DATA_DIR": str(context.data_dir),
        "SYMPHONY_CACHE_DIR": str(context.cache_dir),
        **options.env,
    }
    bus: MessageBus = port_as(context, "message_bus", MessageBus, user="The conductor in process mode")
    return RemoteConductor(bus, argv, env=env, options=options)


#: The conductor this plugin made for each host, so that stopping a host never makes one just to close it.
_made: weakref.WeakKeyDictionary[HostContext, EmbeddedConductor | RemoteConductor] = weakref.WeakKeyDictionary()


@hookimpl(trylast=True)
def symphony_provide_conductor(context: HostContext) -> EmbeddedConductor | RemoteConductor:
    options = options_of(context)
    conductor = remote_for(context, options) if options.mode == "process" else embedded_for(context)
    _made[context] = conductor
    return conductor


class ConductorLifecycle:
    """Starts the conductor's process with the host (process mode) and stops it with the host."""

    name = COMPONENT

    def __init__(self, context: HostContext) -> None:
        self._context = context
        try:
            process = options_of(context).mode == "process"
        except ConfigurationError:
            process = False  # start() reports it
        self.depends_on: tuple[str, ...] = ("message_bus",) if process else ()

    async def start(self) -> None:
        if options_of(self._context).mode != "process":
            return  # an embedded conductor has nothing to start, and is made on first use
        from .remote import RemoteConductor

        port = self._context.port("conductor")
        if isinstance(port, RemoteConductor):
            await port.start()

    async def stop(self) -> None:
        conductor = _made.pop(self._context, None)
        if conductor is not None:
            await conductor.close()

    async def health_check(self) -> HealthStatus:
        from .remote import RemoteConductor

        port = self._context.port("conductor")
        if isinstance(port, RemoteConductor):
            return port.health()
        status = await port.get_status()
        return HealthStatus.ok(f"{status.mode}, {status.state}, {len(status.active_runs)} active run(s)")


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=ConductorOptions)]


@hookimpl
def symphony_components(context: HostContext) -> list[ConductorLifecycle]:
    return [ConductorLifecycle(context)]


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def commands() -> click.Command:
        from .cli import conductor_commands

        return conductor_commands(
            lambda: served_for(context), lambda: context.port("conductor"), lambda: served_components(context)
        )

    help_ = "Serve a conductor in its own process, or ask one for its status."
    cli.add_command(lazy_command("conductor", commands, help=help_))


def served_components(context: HostContext) -> list[AsyncComponent]:
    """The :data:`SERVED_COMPONENTS` installed plugins contribute (the stale manager's collection schedule)."""
    found = context.contributions("symphony_components")
    return [found[name][1] for name in SERVED_COMPONENTS if name in found]
