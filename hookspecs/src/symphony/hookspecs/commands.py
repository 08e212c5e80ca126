"""Plugin CLI commands that are imported only when they run: `lazy_command`.

Every plugin command line (``symphony run``, ``symphony registry status``) calls every
plugin's ``symphony_register_commands``, so a plugin that imports its command module
there makes every other plugin's command pay for its imports (SQLAlchemy, asyncio:
hundreds of milliseconds).  A lazy command is registered by name with its help text, so
``symphony --help`` and shell completion list it, and its module is imported only when
click parses its arguments (to run it, complete them or show its own ``--help``).

This module imports click; it is not re-exported from `symphony.hookspecs`, so
code that never registers commands does not import click.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

import click

__all__ = ["LazyCommand", "lazy_command"]


class LazyCommand(click.Command):
    """Stands for a command until click parses its arguments; from then on the real command does everything.

    click builds a subcommand's context with ``make_context`` and then runs
    ``ctx.command``, so delegating ``make_context`` hands the whole invocation (help,
    completion, groups' subcommands) to the real command.  Listing a parent's
    commands reads only this stand-in's help.
    """

    def __init__(self, name: str, target: str | Callable[[], click.Command], **attributes: Any) -> None:
        super().__init__(name, **attributes)
        self._target = target
        self._command: click.Command | None = None

    def load(self) -> click.Command:
        """The real command, imported (or built) once."""
        if self._command is None:
            self._command = _resolve(self.name or "", self._target)
        return self._command

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        return self.load().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.load().invoke(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.help is None and self.short_help is None:  # nothing given up front: ask the real command
            return self.load().get_short_help_str(limit)
        return super().get_short_help_str(limit)

    def to_info_dict(self, ctx: click.Context) -> dict[str, Any]:
        return self.load().to_info_dict(ctx)


def _resolve(name: str, target: str | Callable[[], click.Command]) -> click.Command:
    if isinstance(target, str):
        module, colon, attribute = target.partition(":")
        if not colon or not module or not attribute:
            raise ValueError(f"lazy command {name!r}: target {target!r} is not 'module:attribute'")
        command = getattr(import_module(module), attribute)
    else:
        command = target()
    if not isinstance(command, click.Command):
        raise TypeError(f"lazy command {name!r}: {target!r} gave {type(command).__name__}, not a click.Command")
    return command


def lazy_command(
    name: str,
    target: str | Callable[[], click.Command],
    *,
    help: str | None = None,
    short_help: str | None = None,
    hidden: bool = False,
) -> LazyCommand:
    """A command (or group) named ``name`` whose implementation is imported the first time it is used.

    Args:
        name: the command's name where it is added (``cli.add_command(lazy_command(...))``).
        target: ``"module:attribute"`` naming a ``click.Command`` or ``click.Group``, or a
            function without arguments that imports and returns one (for commands built by
            a factory from the hook's ``context``).
        help: what ``--help`` listings show for it without importing it: the first
            sentence of the real command's help (a test of yours can compare them).
            Without it, listing the parent's commands imports this one.
        short_help: as click's ``short_help``, instead of ``help``'s first sentence.
        hidden: left out of listings and completion, as click's ``hidden``.

    The returned object is a stand-in: add it to a group; don't decorate it or add
    parameters to it.  ``load()`` on it returns the real command.
    """
    return LazyCommand(name, target, help=help, short_help=short_help, hidden=hidden)
