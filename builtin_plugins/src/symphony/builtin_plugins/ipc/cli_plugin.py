"""Registers ``symphony bus serve|request|send|subscribe`` (see :mod:`.cli`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext, MessageBus, port_as

if TYPE_CHECKING:
    import click

SYMPHONY_API = "^1.0"


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def bus_of() -> MessageBus:
        bus: MessageBus = port_as(context, "message_bus", MessageBus, user="`symphony bus serve`")
        return bus

    def commands() -> click.Command:
        from .cli import bus_commands  # here: only `symphony bus ...` pays for it

        return bus_commands(bus_of)

    help_ = "Serve the message bus on sockets, and send, request or subscribe for debugging."
    cli.add_command(lazy_command("bus", commands, help=help_))
