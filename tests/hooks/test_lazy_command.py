"""``symphony.hookspecs.commands.lazy_command``: a plugin command imported only when it is used."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from symphony.hookspecs.commands import LazyCommand, lazy_command

_MODULE = '''
import click

@click.group()
def tool():
    """Tend the tool: greet and count."""

@tool.command()
@click.argument("name")
def greet(name):
    """Say hello to NAME."""
    click.echo(f"hello, {name}")

@click.command()
def plain():
    """A command that is not a group."""
    click.echo("plain ran")

not_a_command = 42
'''


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, not yet imported module holding the commands (its name is unique to the test)."""
    name = f"lazy_target_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def root(*commands: click.Command) -> click.Group:
    return click.Group("symphony", commands=list(commands))


def test_listing_commands_shows_the_given_help_without_importing_the_target(module: str) -> None:
    group = root(lazy_command("tool", f"{module}:tool", help="Tend the tool: greet and count."))
    result = CliRunner().invoke(group, ["--help"])
    assert result.exit_code == 0, result.output
    assert "tool  Tend the tool: greet and count." in result.output
    assert module not in sys.modules


def test_a_lazy_group_runs_its_subcommands(module: str) -> None:
    result = CliRunner().invoke(root(lazy_command("tool", f"{module}:tool", help="x")), ["tool", "greet", "Ada"])
    assert (result.exit_code, result.output) == (0, "hello, Ada\n")


def test_a_lazy_groups_help_is_the_real_groups(module: str) -> None:
    result = CliRunner().invoke(root(lazy_command("tool", f"{module}:tool", help="x")), ["tool", "--help"])
    assert result.exit_code == 0, result.output
    assert "greet  Say hello to NAME." in result.output


def test_a_lazy_plain_command_runs(module: str) -> None:
    result = CliRunner().invoke(root(lazy_command("plain", f"{module}:plain", help="x")), ["plain"])
    assert (result.exit_code, result.output) == (0, "plain ran\n")


def test_a_factory_target_is_called_once_and_only_when_the_command_is_used() -> None:
    built: list[str] = []

    def factory() -> click.Command:
        built.append("built")
        return click.Command("hello", callback=lambda: click.echo("hi"))

    group = root(lazy_command("hello", factory, help="Say hi."))
    assert CliRunner().invoke(group, ["--help"]).exit_code == 0
    assert built == []
    assert [CliRunner().invoke(group, ["hello"]).output for _ in range(2)] == ["hi\n", "hi\n"]
    assert built == ["built"]


def test_without_help_listing_asks_the_real_command(module: str) -> None:
    result = CliRunner().invoke(root(lazy_command("tool", f"{module}:tool")), ["--help"])
    assert "Tend the tool: greet and count." in result.output


def test_a_target_that_is_not_a_command_is_named_in_the_error(module: str) -> None:
    command = lazy_command("broken", f"{module}:not_a_command", help="x")
    with pytest.raises(TypeError, match=r"lazy command 'broken': .*not_a_command.* gave int, not a click.Command"):
        command.load()


def test_a_target_without_an_attribute_is_refused_with_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=r"target 'some.module' is not 'module:attribute'"):
        lazy_command("broken", "some.module", help="x").load()


def test_load_returns_the_real_command(module: str) -> None:
    command = lazy_command("tool", f"{module}:tool", help="x")
    assert isinstance(command, LazyCommand)
    assert command.load() is sys.modules[module].tool
