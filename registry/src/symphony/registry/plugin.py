"""Registers ``symphony registry`` and the registry's ``symphony ext`` subcommands, like any third party.

Commands are imported only when run: each entry is "module:attribute" of a click command.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import click

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"

#: ``symphony registry <name>``.
REGISTRY_COMMANDS: dict[str, str] = {}
#: ``symphony ext <name>`` (joined to the host's own ``ext`` commands).
EXT_COMMANDS: dict[str, str] = {}


class _LazyGroup(click.Group):
    def __init__(self, *args: Any, table: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._table = table

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._table.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(import_module(module), attribute)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._table})


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    cli.add_command(
        _LazyGroup("registry", table=REGISTRY_COMMANDS, help="Run a private extension index and manage its keys.")
    )
    cli.add_command(_LazyGroup("ext", table=EXT_COMMANDS, help="Search, install, update and publish extensions."))
