"""Registers ``symphony ui``, the web console (imported only when the command runs)."""

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

    def ui() -> click.Command:
        from .cli import ui_command

        return ui_command(context)

    help_ = "Serve the web console: workflows, live runs, extensions, artifacts and the model pool."
    cli.add_command(lazy_command("ui", ui, help=help_))
