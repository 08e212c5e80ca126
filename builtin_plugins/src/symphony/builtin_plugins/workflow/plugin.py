"""Registers ``symphony workflow`` and ``symphony nodes``, with the installed contributions as catalogue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from symphony.hookspecs import ComponentOptionsSpec, ConfigurationError, hookimpl
from symphony.hookspecs.ports import HostContext

from .catalogue import Catalogue
from .limits import Limits
from .nodes import NodeEntry, node_entries

if TYPE_CHECKING:
    import click

SYMPHONY_API = "^1.0"


def catalogue_of(context: HostContext) -> Catalogue:
    """Every instrument and operator the installed plugins contribute."""
    return Catalogue.from_contributions(
        instruments=context.contributions("symphony_instruments").values(),
        operators=context.contributions("symphony_operators").values(),
        checks=context.contributions("symphony_workflow_checks").values(),
    )


def limits_of(context: HostContext) -> Limits:
    """``[components.workflow.options]`` max_nodes, max_edges, timeout (seconds)."""
    options = context.component_config("workflow").options
    try:
        return msgspec.convert(options, Limits)
    except msgspec.ValidationError as error:
        where = (
            str(error).replace("`$.", "`components.workflow.options.").replace("`$`", "`components.workflow.options`")
        )
        raise ConfigurationError(f"Invalid workflow limits: {where}.") from None


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name="workflow", options=Limits)]


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def workflow() -> click.Command:
        from .cli import workflow_commands

        return workflow_commands(lambda: catalogue_of(context), lambda: limits_of(context))

    def nodes() -> click.Command:
        from .nodes_cli import nodes_commands

        return nodes_commands(lambda: entries_of(context))

    cli.add_command(lazy_command("workflow", workflow, help="Validate, convert and draw workflow documents."))
    cli.add_command(
        lazy_command("nodes", nodes, help="The instruments, operators and control nodes a workflow can use.")
    )


def entries_of(context: HostContext) -> list[NodeEntry]:
    """The node catalogue: what the validator knows, with providers, config keys and runtimes."""
    return node_entries(
        context.contributions("symphony_instruments").values(), context.contributions("symphony_operators").values()
    )
