"""Registers ``symphony bus serve|request|send|subscribe`` (see :mod:`.cli`)."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext, MessageBus, port_as

SYMPHONY_API = "^1.0"


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from .cli import bus_commands  # here: only a command line that names a plugin command pays for it

    def bus_of() -> MessageBus:
        bus: MessageBus = port_as(context, "message_bus", MessageBus, user="`symphony bus serve`")
        return bus

    cli.add_command(bus_commands(bus_of), "bus")
