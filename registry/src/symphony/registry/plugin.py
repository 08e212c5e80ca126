"""Registers ``symphony registry`` and the registry's ``symphony ext`` subcommands, like any third party.

Commands are imported only when run (`symphony.hookspecs.commands.lazy_command`): each entry is
"module:attribute" of a click command.
"""

from __future__ import annotations

from typing import Any

import click

from symphony.hookspecs import hookimpl
from symphony.hookspecs.commands import lazy_command
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"

#: ``click.Context.meta`` key of the HostContext the registry's commands run under (see :func:`host_context`).
_HOST_CONTEXT = "symphony.registry.host_context"

#: ``symphony registry <name>``.
REGISTRY_COMMANDS: dict[str, str] = {
    "status": "symphony.registry.client.cli:status",
    "sync": "symphony.registry.client.cli:sync",
    "use": "symphony.registry.client.cli:use",
    "init": "symphony.registry.server.commands:init",
    "serve": "symphony.registry.server.commands:serve",
    "publisher": "symphony.registry.server.commands:publisher",
    "keys": "symphony.registry.server.commands:keys",
    "yank": "symphony.registry.server.commands:yank",
}
#: ``symphony ext <name>`` (joined to the host's own ``ext`` commands).
EXT_COMMANDS: dict[str, str] = {
    "search": "symphony.registry.client.cli:search",
    "install": "symphony.registry.install.commands:install",
    "update": "symphony.registry.install.commands:update",
    "uninstall": "symphony.registry.install.commands:uninstall",
    "new": "symphony.registry.scaffold.command:new",
    "add-mcp": "symphony.registry.scaffold.mcp:add_mcp",
    "keygen": "symphony.registry.publish:keygen",
    "publish": "symphony.registry.publish:publish",
}


class _ContextGroup(click.Group):
    """A group of lazy commands that run with the plugin's HostContext in ``ctx.meta`` (see :func:`host_context`)."""

    def __init__(self, name: str, *, table: dict[str, str], context: HostContext, help: str) -> None:
        super().__init__(name, commands=[lazy_command(sub, target) for sub, target in table.items()], help=help)
        self._context = context

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        ctx.meta[_HOST_CONTEXT] = self._context  # meta is shared by the whole invocation, the command's too
        return super().get_command(ctx, cmd_name)


def host_context(ctx: click.Context) -> HostContext:
    """The HostContext of the running ``symphony registry``/``ext`` command (data_dir, settings, ports)."""
    context: HostContext = ctx.meta[_HOST_CONTEXT]
    return context


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    cli.add_command(
        _ContextGroup(
            "registry",
            table=REGISTRY_COMMANDS,
            context=context,
            help="Run a private extension index and manage its keys.",
        )
    )
    cli.add_command(
        _ContextGroup(
            "ext", table=EXT_COMMANDS, context=context, help="Search, install, update and publish extensions."
        )
    )
