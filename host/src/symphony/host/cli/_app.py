"""The root command: global options, lazily added plugin commands, one error boundary.

Only what a command needs is imported: ``symphony --version`` never loads the
kernel, and plugin-contributed commands are collected only when a name is not
a builtin command or when help lists them all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._startup import begin_startup, end_startup, restore_thresholds

if TYPE_CHECKING:
    from .._host import Host

__all__ = ["HostFactory", "cli", "main"]


class HostFactory:
    """Builds the one Host a CLI invocation uses, from the global options."""

    def __init__(self, config_file: Path | None, overrides: Sequence[str], verbosity: int = 0) -> None:
        self.config_file = config_file
        self.overrides = list(overrides)
        #: -1 with --quiet, 0 by default, 1 or more with each --verbose.
        self.verbosity = verbosity
        self.plugin_commands: dict[str, click.Command] | None = None
        self._host: Host | None = None

    def host(self) -> Host:
        if self._host is None:
            from .._host import Host
            from .._layers import merge_overrides

            self._host = Host(config_file=self.config_file, overrides=merge_overrides(self.overrides))
            self._host.load()
            end_startup()
        return self._host


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from symphony.hookspecs import API_VERSION, __version__

    click.echo(f"symphony {__version__} (plugin API {API_VERSION[0]}.{API_VERSION[1]})")
    ctx.exit()


#: Builtin subcommands, imported only when used: name -> "module:attribute".
_BUILTIN_COMMANDS = {
    "audit": "symphony.host.cli._audit:audit",
    "config": "symphony.host.cli._config:config",
    "distro": "symphony.host.cli._distro:distro",
    "doctor": "symphony.host.cli._doctor:doctor",
    "ext": "symphony.host.cli._ext:ext",
    "plugins": "symphony.host.cli._plugins:plugins",
}


def _collect(host: Host) -> dict[str, click.Command]:
    collector = click.Group()
    host.call_each("symphony_register_commands", cli=collector, context=host.context)
    return dict(collector.commands)


class _RootGroup(click.Group):
    """Builtin commands imported on use; plugin commands (``symphony_register_commands``) added on demand."""

    def _builtin(self, name: str) -> click.Command | None:
        target = _BUILTIN_COMMANDS.get(name)
        if target is None:
            return None
        from importlib import import_module

        module, _, attribute = target.partition(":")
        command: click.Command = getattr(import_module(module), attribute)
        return command

    def plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """This invocation's plugin commands, collected once from its host (never kept across invocations).

        Shell completion (``ctx.resilient_parsing``) collects them too, so ``run`` or
        ``workflow convert --`` complete; there a host that cannot start offers the
        builtin commands rather than an error in the middle of the user's command line.
        """
        # Commands are resolved before the group's callback runs, so the factory may not exist yet.
        if not isinstance(ctx.obj, HostFactory):
            ctx.obj = HostFactory(ctx.params.get("config_file"), ctx.params.get("overrides", ()))
        factory = ctx.obj
        if factory.plugin_commands is None:
            if ctx.resilient_parsing:
                return self._completion_commands(factory)
            factory.plugin_commands = _collect(factory.host())
        return factory.plugin_commands

    @staticmethod
    def _completion_commands(factory: HostFactory) -> dict[str, click.Command]:
        import logging

        logging.disable(logging.CRITICAL)  # a warning on stderr would land in the user's command line
        try:
            factory.plugin_commands = _collect(factory.host())
        except Exception:  # completion must never fail; the command itself reports the error
            factory.plugin_commands = {}
        return factory.plugin_commands

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._builtin(cmd_name) or self.plugin_commands(ctx).get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_BUILTIN_COMMANDS, *self.plugin_commands(ctx)})

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command (``symphony wokflow``) names the closest one, as git does."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            import difflib

            name = args[0] if args else ""
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if not close or name.startswith("-"):
                raise
            raise click.UsageError(f"No such command {name!r}. Did you mean {close[0]!r}?", ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        from symphony.hookspecs import SymphonyError

        try:
            return super().invoke(ctx)
        except SymphonyError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_RootGroup)
@click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_version, help="Show the version and exit."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SYMPHONY_CONFIG",
    help="Settings file (default: the nearest symphony.toml in this directory or a parent).",
)
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting, e.g. --set hooks.timeout=5."
)
@click.option("--quiet", "-q", is_flag=True, help="Only results, warnings and errors: no titles or notes.")
@click.option("--verbose", "-v", count=True, help="Log what the host does (-vv: debug detail).")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, overrides: tuple[str, ...], quiet: bool, verbose: int) -> None:
    """Symphony: a plugin host for AI-first development workflows."""
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other; give one.")
    if not isinstance(ctx.obj, HostFactory):
        ctx.obj = HostFactory(config_file, overrides)
    ctx.obj.verbosity = -1 if quiet else verbose
    if quiet or verbose:
        import logging

        logging.getLogger().setLevel(logging.ERROR if quiet else logging.INFO if verbose == 1 else logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; user errors exit non-zero with one line and no traceback."""
    import logging
    import os

    begin_startup()  # again, for a caller of this main() (a no-op after the package's)
    # pydantic would scan every installed distribution for its own plugins
    # (tens of ms with many packages) the first time settings are built.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    logging.basicConfig(format="symphony: %(levelname)s: %(message)s", level=logging.WARNING)
    try:
        cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="symphony")
    finally:
        restore_thresholds()  # a command that never loaded the host
