"""``symphony config``: the effective settings after every source is applied."""

from __future__ import annotations

from typing import Any

import click

from ._app import HostFactory
from ._output import leaves, print_json, toml_key, toml_value

__all__ = ["config"]


@click.group()
def config() -> None:
    """Inspect settings."""


@config.command("show")
@click.option("--origin", is_flag=True, help="Say which file, environment variable or --set gave each key.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def show(factory: HostFactory, origin: bool, as_json: bool) -> None:
    """The settings in effect, as TOML: defaults, profile, file, environment and --set applied in order.

    Each line is a dotted key as --set takes it; an unset key is a comment.
    """
    host = factory.host()
    settings = host.settings.model_dump(mode="json")
    keys = leaves(settings)
    origins = _origins(factory, [key for key, _ in keys]) if origin else {}
    if as_json:
        report: dict[str, Any] = {"distro": host.distro.entry_point, "settings": settings}
        if origin:
            report["origins"] = {".".join(key): where for key, where in origins.items()}
        print_json(report)
        return
    for key, value in keys:
        line = f"# {toml_key(key)} is unset" if value is None else f"{toml_key(key)} = {toml_value(value)}"
        click.echo(f"{line}  # {origins[key]}" if origin else line)


def _origins(factory: HostFactory, keys: list[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    from .._settings import merge_overrides
    from ._origins import setting_origins

    host = factory.host()
    profile = host.distro.profile
    return setting_origins(
        keys,
        config_file=factory.config_file,
        overrides=merge_overrides(factory.overrides),
        profile=host.distro.entry_point,
        profile_defaults=profile.setting_defaults() if profile is not None else {},
    )
