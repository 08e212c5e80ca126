"""Registers the Stale Manager as port ``stale_manager``, its schedule as component ``stale``, and ``symphony stale``.

Settings: ``[components.stale.options]`` are :class:`~.options.StaleOptions` (retention
of runs, logs and cache entries; the collection schedule).  The sources are every
plugin's ``symphony_stale_sources``; the manager and its database are made when the
port is first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symphony.hookspecs import ComponentOptionsSpec, hookimpl
from symphony.hookspecs.ports import HostContext, StaleManagerPort, port_as

from .options import COMPONENT, StaleOptions

if TYPE_CHECKING:
    import click

    from .manager import StaleManager
    from .schedule import StaleSchedule

SYMPHONY_API = "^1.0"


def options_of(context: HostContext) -> StaleOptions:
    """This host's ``[components.stale.options]``; a bad value is a ConfigurationError saying what to write."""
    return StaleOptions.from_options(context.component_config(COMPONENT).options)


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=StaleOptions)]


@hookimpl
def symphony_configure(context: HostContext) -> None:
    options_of(context)  # bad retention settings fail when the host loads, not at the first collection


@hookimpl(trylast=True)
def symphony_provide_stale_manager(context: HostContext) -> StaleManager:
    from .manager import StaleManager
    from .marks import Marks

    sources = [source for _plugin, source in context.contributions("symphony_stale_sources").values()]
    return StaleManager(sources, Marks(context.data_dir / options_of(context).database))


@hookimpl
def symphony_components(context: HostContext) -> list[StaleSchedule]:
    from .schedule import StaleSchedule

    return [StaleSchedule(context)]


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def commands() -> click.Command:
        from .cli import stale_commands

        return stale_commands(lambda: port_as(context, "stale_manager", StaleManagerPort, user="`symphony stale`"))

    help_ = "Find what is out of date or past its retention (cache entries, runs, logs, models, chunks) and reclaim it."
    cli.add_command(lazy_command("stale", commands, help=help_))
