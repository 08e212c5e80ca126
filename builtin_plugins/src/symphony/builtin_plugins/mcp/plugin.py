"""Registers ``symphony mcp`` (imported only when run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext

if TYPE_CHECKING:
    import click

SYMPHONY_API = "^1.0"


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def mcp() -> click.Command:
        from ..pit.dag.plugin import check_of
        from ..workflow.plugin import catalogue_of
        from .cli import mcp_commands

        return mcp_commands(context, lambda: catalogue_of(context), lambda workflow: check_of(context, workflow))

    help_ = "Offer this project's workflows to AI assistants over the Model Context Protocol."
    cli.add_command(lazy_command("mcp", mcp, help=help_))
