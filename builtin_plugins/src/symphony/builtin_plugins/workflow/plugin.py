"""Registers the ``symphony workflow`` commands, with the installed contributions as catalogue."""

from __future__ import annotations

from typing import Any

import msgspec

from symphony.hookspecs import ComponentOptionsSpec, ConfigurationError, hookimpl
from symphony.hookspecs.ports import HostContext

from .catalogue import Catalogue
from .cli import workflow_commands
from .validate import Limits

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
    cli.add_command(workflow_commands(lambda: catalogue_of(context), lambda: limits_of(context)), "workflow")
