"""``symphony ext``: list installed extensions, show one, validate a manifest.

These read manifests only (through the manifest index); no extension code is
imported and no plugin is loaded, so they stay fast with thousands installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._app import HostFactory
from ._output import print_table, toml_document

if TYPE_CHECKING:
    from symphony.hookspecs import Manifest

    from .._settings import Settings
    from ..extensions import InstalledExtension

__all__ = ["ext"]

_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _settings(factory: HostFactory) -> Settings:
    from .._settings import load_settings, merge_overrides

    return load_settings(config_file=factory.config_file, overrides=merge_overrides(factory.overrides))


def _print_json(value: Any) -> None:
    """JSON with every Secret written as ``***``."""
    import msgspec

    from symphony.hookspecs import Secret

    encoded = msgspec.json.encode(value, enc_hook=Secret.enc_hook)
    click.echo(msgspec.json.format(encoded, indent=2).decode())


#: Subcommands defined in other modules, imported only when used: name -> "module:attribute".
_ATTACHED = {
    "permissions": "symphony.host.cli._permissions:permissions",
    "grant": "symphony.host.cli._permissions:grant",
    "revoke": "symphony.host.cli._permissions:revoke",
    "grants": "symphony.host.cli._grants:grants",
    "invoke": "symphony.host.cli._ext_run:invoke",
    "ps": "symphony.host.cli._ext_run:ps",
    "enable": "symphony.host.cli._ext_run:enable",
    "learn": "symphony.host.cli._ext_run:learn",
}


class _ExtGroup(click.Group):
    """``list``/``show``/``validate`` here, the attached commands of :data:`_ATTACHED`, and plugins' ones.

    A plugin adds ``ext`` subcommands (``search``, ``install``, ...) by
    registering a group named ``ext`` in ``symphony_register_commands``; its
    commands join these.  Plugins are loaded only when a name is not builtin,
    so ``symphony ext list`` stays as fast as before.
    """

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        if cmd_name not in _ATTACHED:
            plugins = _plugin_ext_group(ctx)
            return plugins.get_command(ctx, cmd_name) if plugins is not None else None
        from importlib import import_module

        module, _, attribute = _ATTACHED[cmd_name].partition(":")
        command: click.Command = getattr(import_module(module), attribute)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        plugins = _plugin_ext_group(ctx)
        return sorted({*super().list_commands(ctx), *_ATTACHED, *(plugins.list_commands(ctx) if plugins else ())})


def _plugin_ext_group(ctx: click.Context) -> click.Group | None:
    """The ``ext`` group a plugin registered, if one did (the last one registered wins)."""
    root = ctx.find_root()
    plugin_commands = getattr(root.command, "plugin_commands", None)
    if plugin_commands is None:
        return None
    group = plugin_commands(root).get("ext")
    return group if isinstance(group, click.Group) else None


@click.group(cls=_ExtGroup)
def ext() -> None:
    """Inspect, validate and grant permissions to Orchestra Kit extensions."""


def _contributes(manifest: Manifest | None) -> dict[str, list[str]]:
    if manifest is None:
        return {"instruments": [], "operators": []}
    return {
        "instruments": [n.name for n in manifest.contributes.instruments],
        "operators": [n.name for n in manifest.contributes.operators],
    }


def _summary(entry: InstalledExtension) -> dict[str, Any]:
    manifest = entry.manifest
    return {
        "name": entry.name,
        "version": manifest.extension.version if manifest else None,
        "type": manifest.extension.type if manifest else None,
        "runtime": manifest.runtime.kind if manifest else None,
        "distribution": entry.distribution,
        "distribution_version": entry.version,
        "package": entry.package,
        "manifest_path": entry.manifest_path,
        "contributes": _contributes(manifest),
        "status": entry.status,
        "problems": [str(p) for p in entry.problems],
    }


@ext.command("list")
@_JSON
@click.pass_obj
def list_extensions(factory: HostFactory, as_json: bool) -> None:
    """Every installed extension: name, version, type, runtime, distribution, contributions."""
    from ..extensions import list_extensions

    settings = _settings(factory)
    listing = list_extensions(settings.cache_dir, use_cache=settings.extensions.index_cache)
    summaries = sorted((_summary(e) for e in listing.extensions), key=lambda s: (s["name"], s["distribution"]))
    if as_json:
        _print_json(summaries)
        return
    rows = [
        (
            s["name"],
            s["version"],
            s["type"],
            s["runtime"],
            f"{s['distribution']} {s['distribution_version']}",
            ", ".join(s["contributes"]["instruments"] + s["contributes"]["operators"]),
            s["status"] if not s["problems"] else f"{s['status']} ({len(s['problems'])} problem(s))",
        )
        for s in summaries
    ]
    columns = ("name", "version", "type", "runtime", "distribution", "contributes", "status")
    print_table(f"Extensions ({len(rows)})", columns, rows)
    for summary in summaries:
        for problem in summary["problems"]:
            click.echo(f"{summary['name']}: {problem}")


@ext.command("show")
@click.argument("name")
@_JSON
@click.pass_obj
def show(factory: HostFactory, name: str, as_json: bool) -> None:
    """The whole manifest of extension NAME, its configuration schema and its resolved configuration."""
    import msgspec

    from symphony.hookspecs import SymphonyError

    from ..extensions import find_extension, resolve_configuration, settings_values

    settings = _settings(factory)
    entry = find_extension(settings.cache_dir, name, use_cache=settings.extensions.index_cache)
    if entry is None:
        raise click.ClickException(f"No extension named {name!r} is installed; `symphony ext list` shows them.")
    details = _summary(entry)
    details["manifest"] = msgspec.to_builtins(entry.manifest) if entry.manifest else None
    details["configuration"] = None
    details["configuration_error"] = None
    if entry.manifest is not None:
        try:
            details["configuration"] = resolve_configuration(
                entry.manifest,
                settings_values(settings.extensions.config, name),
                secrets_file=settings.extensions.secrets_file,
            )
        except SymphonyError as error:
            details["configuration_error"] = str(error)
    if as_json:
        _print_json(details)
        return
    _print_details(details)


def _print_details(details: dict[str, Any]) -> None:
    """A TOML document: the manifest as installed, then the configuration in effect as symphony.toml would set it."""
    import msgspec

    from symphony.hookspecs import Secret

    title = " ".join(part for part in (details["name"], details["version"]) if part)
    click.echo(f"# {title} ({details['status']})")
    click.echo(f"# distribution: {details['distribution']} {details['distribution_version']}")
    click.echo(f"# manifest: {details['manifest_path'] or 'not found'}")
    for problem in details["problems"]:
        click.echo(f"# problem: {problem}")
    if details["manifest"]:
        click.echo("\n" + toml_document(details["manifest"]), nl=False)
    if details["configuration_error"]:
        click.echo("\n".join(f"# {line}" for line in f"configuration: {details['configuration_error']}".splitlines()))
    elif details["configuration"] is not None:
        configuration = msgspec.to_builtins(details["configuration"], enc_hook=Secret.enc_hook)
        click.echo("\n# The configuration in effect (secrets redacted):")
        click.echo(toml_document({"extensions": {"config": {details["name"]: configuration}}}), nl=False)


def _manifests_in(path: Path) -> list[Path]:
    """The manifest ``path`` names: the file itself, or the one(s) in a source directory."""
    from symphony.hookspecs import MANIFEST_FILE

    if not path.is_dir():
        return [path]
    for pattern in (MANIFEST_FILE, f"*/{MANIFEST_FILE}", f"src/*/{MANIFEST_FILE}", f"src/*/*/{MANIFEST_FILE}"):
        found = sorted(path.glob(pattern))
        if found:
            return found
    raise click.ClickException(
        f"No {MANIFEST_FILE} in {path} (looked in it, its packages and src/); give the manifest file itself."
    )


@ext.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@_JSON
@click.pass_context
def validate(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Check the manifest at PATH (a file, or an extension's source directory); print every problem.

    Exit status 0 when valid, 1 when there are problems.
    """
    from ..extensions import check_manifest

    reports: list[dict[str, Any]] = []
    for manifest_path in _manifests_in(path):
        manifest, problems = check_manifest(manifest_path)
        reports.append(
            {
                "path": str(manifest_path),
                "valid": manifest is not None,
                "name": manifest.name if manifest else None,
                "problems": problems,
            }
        )
    valid = all(r["valid"] for r in reports)
    if as_json:
        _print_json({"valid": valid, "manifests": reports})
    else:
        for report in reports:
            if report["valid"]:
                click.echo(f"{report['path']}: valid ({report['name']})")
                continue
            click.echo(f"{report['path']}: {len(report['problems'])} problem(s)")
            for problem in report["problems"]:
                click.echo(f"  {problem}")
    ctx.exit(0 if valid else 1)
