"""``symphony ext install|update|uninstall``: the registry's side of the host's ``ext`` group.

Grants and revocations go through the host's own ``symphony ext grant`` and
``symphony ext revoke`` commands, found through the root command like any
user would reach them, so the registry never imports the host.  Extensions
go into the environment of the interpreter running ``symphony``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click
import msgspec
from packaging.utils import canonicalize_name

from symphony.hookspecs import VERIFICATION_FILE, PermissionPolicy, PublisherSignature, RegistryError, grant_command
from symphony.hookspecs.ports import HostContext

from .._cli import user_errors
from ..plugin import host_context

if TYPE_CHECKING:
    from ..records import Release
    from .environment import InstalledExtension
    from .operations import Grants, Index, Installed, Request

__all__ = ["install", "uninstall", "update"]

_YES = click.option("--yes", "-y", is_flag=True, help="Consent to what it asks for without a prompt (scripts, CI).")
_INSTALLER = click.option(
    "--installer",
    type=click.Choice(["auto", "uv", "pip"]),
    default="auto",
    show_default=True,
    help="The client that installs: uv when available (auto), or pip.",
)
_REINSTALL = click.option(
    "--reinstall",
    is_flag=True,
    help="Verify, ask and install again even when this very release is already installed (e.g. to repair it).",
)


def _host_ext_command(ctx: click.Context, name: str) -> click.Command:
    """The host's own ``symphony ext NAME`` command, reached through the root group (no host import)."""
    root = ctx.find_root()
    group = root.command
    assert isinstance(group, click.Group)
    ext = group.get_command(root, "ext")
    command = ext.get_command(root, name) if isinstance(ext, click.Group) else None
    if command is None:
        raise click.ClickException(f"The host has no `symphony ext {name}` command; is symphony-host installed?")
    return command


def _grant(ctx: click.Context) -> Grants:
    def grant(extension: str, permissions: Sequence[str]) -> None:
        try:
            ctx.invoke(_host_ext_command(ctx, "grant"), name=extension, permission=tuple(permissions))
        except click.ClickException as error:
            raise RegistryError(
                f"{extension} is installed and verified, but granting what you consented to failed:"
                f" {error.format_message()}\nGrant it with `{grant_command(extension, permissions)}`."
            ) from None

    return grant


def _policy(context: HostContext) -> tuple[PermissionPolicy, tuple[str, ...]]:
    profile = context.profile
    policy = profile.permissions if profile is not None else PermissionPolicy()
    deny = tuple(getattr(getattr(context.settings, "permissions", None), "deny", ()) or ())
    return policy, deny


def _split(spec: str) -> tuple[str, str | None]:
    name, sep, version = spec.partition("==")
    if not name.strip() or (sep and not version.strip()):
        raise click.BadParameter(f"{spec!r}: expected NAME or NAME==VERSION", param_hint="NAME")
    return name.strip(), f"=={version.strip()}" if sep else None


def _run(
    ctx: click.Context, action: Literal["install", "update"], name: str, specifier: str | None, **options: Any
) -> None:
    from ..client import open_index
    from .operations import Request

    context = host_context(ctx)
    policy, deny = _policy(context)
    request = Request(
        python=Path(sys.executable),
        policy=policy,
        deny=deny,
        yes=options["yes"],
        own_environment=options.get("venv", False),
        installer=options["installer"],
        reinstall=options.get("reinstall", False),
    )
    with user_errors(), open_index(context.data_dir) as index:
        index.refresh()
        done = _resolve_and_install(ctx, index, action, name, specifier=specifier, request=request)
    if done is None:
        return
    if action == "update" and done.plan.removed:
        _revoke_dropped(ctx, done.plan.extension, done.plan.removed)
    metadata = done.release.metadata
    extra = f" with {', '.join(f'{d.metadata.distribution} {d.metadata.version}' for d in done.dependencies)}"
    click.echo(
        f"{'Installed' if action == 'install' else 'Updated'} {metadata.extension} {metadata.version}"
        f" ({metadata.distribution}, signed by {done.signature.statement.publisher}, verified; {done.tool})"
        f"{extra if done.dependencies else ''}."
    )


def _revoke_dropped(ctx: click.Context, extension: str, dropped: Sequence[str]) -> None:
    """Revoke the user's grants of capabilities the new version no longer declares, so none outlives its use.

    Each is revoked alone: one the user never granted (or the distribution's policy grants) is simply not there.
    """
    revoke = _host_ext_command(ctx, "revoke")
    for text in dropped:
        try:
            ctx.invoke(revoke, name=extension, permission=(text,), revoke_all=False, trust=False)
        except click.ClickException:
            continue


def _already_installed(current: InstalledExtension | None, release: Release) -> bool:
    """Whether ``current`` is this very release, installed verified (the same wheel, by its signed SHA-256)."""
    metadata = release.metadata
    if current is None or current.distribution != canonicalize_name(metadata.distribution):
        return False
    if current.version != metadata.version:
        return False
    try:
        signature = msgspec.json.decode((current.dist_info / VERIFICATION_FILE).read_bytes(), type=PublisherSignature)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return False  # installed some other way: installing the verified wheel is what was asked
    return signature.statement.sha256 == release.sha256


def _warn_if_yanked(release: Release) -> None:
    metadata = release.metadata
    if metadata.yanked:
        reason = metadata.yanked_reason or "no reason given"
        click.echo(
            f"Warning: {metadata.distribution} {metadata.version} is yanked ({reason}); it is installed only because"
            " it was pinned exactly. Prefer a release that is not yanked.",
            err=True,
        )


def _resolve_and_install(
    ctx: click.Context,
    index: Index,
    action: Literal["install", "update"],
    name: str,
    *,
    specifier: str | None,
    request: Request,
) -> Installed | None:
    """The release to install (None when an update finds nothing newer), installed."""
    from .environment import inspect_environment
    from .operations import install_release

    if action == "update":
        current = inspect_environment(request.python).extensions.get(name)
        if current is None:
            raise RegistryError(f"No extension {name!r} is installed; install it with `symphony ext install {name}`.")
        release = index.resolve(name, None)
        if release.metadata.version == current.version:
            click.echo(f"{name} {current.version} is the newest compatible release; nothing to update.")
            return None
    else:
        release = index.resolve(name, specifier)
        current = inspect_environment(request.python).extensions.get(release.metadata.extension or name)
        if not request.reinstall and _already_installed(current, release):
            metadata = release.metadata
            click.echo(
                f"{metadata.extension} {metadata.version} ({metadata.distribution}) is already installed and"
                " verified; nothing to do. Use --reinstall to install it again."
            )
            return None
    _warn_if_yanked(release)
    return install_release(index, release, request, grant=_grant(ctx), action=action)


@click.command("install")
@click.argument("spec", metavar="NAME[==VERSION]")
@_YES
@click.option(
    "--venv",
    is_flag=True,
    help="Leave its Python dependencies out of the host: they go into the extension's own virtual environment.",
)
@_INSTALLER
@_REINSTALL
@click.pass_context
def install(ctx: click.Context, /, spec: str, **options: Any) -> None:
    """Verify, show what NAME may do, and install it once you consent."""
    name, specifier = _split(spec)
    _run(ctx, "install", name, specifier, **options)


@click.command("update")
@click.argument("name")
@_YES
@_INSTALLER
@click.pass_context
def update(ctx: click.Context, /, name: str, **options: Any) -> None:
    """Update NAME to its newest compatible release; consent is asked for capabilities it did not have."""
    _run(ctx, "update", name, None, **options)


@click.command("uninstall")
@click.argument("name")
@_YES
@_INSTALLER
@click.pass_context
def uninstall(ctx: click.Context, name: str, yes: bool, installer: Literal["auto", "uv", "pip"]) -> None:
    """Remove NAME's distribution, then its grants and trust mark."""
    from .environment import inspect_environment
    from .installer import Installer

    python = Path(sys.executable)
    with user_errors():
        current = inspect_environment(python).extensions.get(name)
    if current is not None:
        if not yes:
            _confirm_uninstall(name, current.distribution)
        try:
            Installer.choose(python, installer).uninstall(current.distribution)
        except RegistryError as error:
            raise click.ClickException(f"{error}\nNothing was removed; {name}'s grants are unchanged.") from None
        click.echo(f"Uninstalled {current.distribution} {current.version}.")
    else:
        click.echo(f"No extension {name!r} is installed; removing any grants left from an earlier uninstall.")
    revoke = _host_ext_command(ctx, "revoke")
    try:
        ctx.invoke(revoke, name=name, permission=(), revoke_all=True, trust=True)
    except (click.ClickException, RegistryError, OSError) as error:
        message = error.format_message() if isinstance(error, click.ClickException) else str(error)
        raise click.ClickException(
            f"{name} was uninstalled, but its grants could not be revoked: {message}\nThey apply to no other "
            f"distribution; run `symphony ext uninstall {name}` again to finish."
        ) from None


def _confirm_uninstall(name: str, distribution: str) -> None:
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        raise click.ClickException(f"Not uninstalling {name} in CI mode without --yes; re-run with --yes.")
    if sys.stdin is None or not sys.stdin.isatty():
        raise click.ClickException(f"Not uninstalling {name}: no terminal to ask on. Re-run with --yes.")
    if not click.confirm(f"Uninstall {name} ({distribution}) and revoke its grants?", default=False):
        raise click.ClickException("Nothing was uninstalled.")
