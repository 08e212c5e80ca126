"""``symphony config``: the effective settings after every source is applied."""

from __future__ import annotations

import click

from ._app import HostFactory
from ._output import print_json

__all__ = ["config"]


@click.group()
def config() -> None:
    """Inspect settings."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def show(factory: HostFactory, as_json: bool) -> None:
    """The settings in effect: defaults, profile, file, environment and --set applied in order."""
    host = factory.host()
    settings = host.settings.model_dump(mode="json")
    if as_json:
        print_json({"distro": host.distro.entry_point, "settings": settings})
        return
    from ._distro import flatten

    for key, value in flatten(settings):
        click.echo(f"{key} = {value!r}")
