"""``symphony distro``: which distribution profile is active and what it changed."""

from __future__ import annotations

import click

from ._app import HostFactory
from ._output import leaves, print_json, print_table, toml_key, toml_value

__all__ = ["distro"]


@click.group()
def distro() -> None:
    """Inspect the distribution profile."""


@distro.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def show(factory: HostFactory, as_json: bool) -> None:
    """The active profile, why it was chosen, and the settings it changed."""
    host = factory.host()
    active = host.distro
    profile = active.profile
    changes = profile.setting_defaults() if profile is not None else {}
    if as_json:
        print_json(
            {
                "name": active.entry_point,
                "distribution": active.distribution,
                "version": active.version,
                "reason": active.reason,
                "candidates": active.candidates,
                "description": profile.description if profile else "",
                "changes": changes,
            }
        )
        return
    click.echo(f"profile: {active.entry_point or '(none)'} - {active.reason}")
    if profile is not None:
        click.echo(f"from: {active.distribution} {active.version}\n{profile.description}")
    rows = [(toml_key(key), toml_value(value)) for key, value in leaves(changes)]
    if rows:
        print_table("Settings changed by the profile", ("setting", "value"), rows)
