"""``symphony nodes list|show``: the node catalogue for people (tables) and scripts (``--json``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import click
import msgspec

from symphony.hookspecs import PortSpec

from .nodes import NodeEntry
from .suggest import did_you_mean

__all__ = ["nodes_commands"]

_KINDS = ("instrument", "operator", "control")


def _print_json(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], keep: Sequence[str] = ()) -> None:
    """The host's one table style: a rule under the header, no side borders, cells wrapped to fit the width.

    Columns named in ``keep`` are never wrapped (names), so the others give way.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in keep)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # text, not markup: "list[string]" stays as written
    console = Console(highlight=False, color_system=None if os.environ.get("NO_COLOR") else "auto")
    with console.capture() as captured:
        console.print(title, style="bold", markup=False)
        console.print(table)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def _ports(ports: dict[str, PortSpec]) -> str:
    return "\n".join(f"{name}: {spec.type}{'' if spec.required else '?'}" for name, spec in ports.items()) or "-"


def _provided_by(entry: NodeEntry) -> str:
    provider = entry.provider
    who = f"extension {provider.extension}" if provider.extension else f"plugin {provider.plugin}"
    if provider.distribution is None:
        return who
    return f"{provider.distribution} {provider.version} ({who})"


def _source(entry: NodeEntry) -> str:
    """The short answer to "where does it come from": the extension, else the distribution."""
    provider = entry.provider
    return provider.extension or provider.distribution or provider.plugin


def _show(entry: NodeEntry) -> None:
    click.echo(f"{entry.name} ({entry.kind})")
    if entry.description:
        click.echo(f"  {entry.description}")
    click.echo(f"provided by: {_provided_by(entry)}")
    click.echo(f"runtime: {entry.runtime}; sandbox: {entry.sandbox}")
    for title, ports in (("inputs", entry.inputs), ("outputs", entry.outputs), ("config", entry.config)):
        rows = [(name, spec.type, "yes" if spec.required else "no", spec.description) for name, spec in ports.items()]
        if rows:
            click.echo()
            _table(title, ("name", "type", "required", "description"), rows, keep=("name", "type", "required"))


def nodes_commands(entries: Callable[[], list[NodeEntry]]) -> click.Group:
    """The ``nodes`` group; ``entries`` is read when a command runs (or completes a name)."""

    def complete_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        return sorted({entry.name for entry in entries() if entry.name.startswith(incomplete)})

    @click.group()
    def nodes() -> None:
        """The instruments, operators and control nodes a workflow can use."""

    @nodes.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print every node as JSON (see docs/workflows.md).")
    def list_command(as_json: bool) -> None:
        """Every node type: its ports, who provides it, and where it runs."""
        found = entries()
        if as_json:
            _print_json(found)
            return
        rows = [
            (entry.name, entry.kind, _ports(entry.inputs), _ports(entry.outputs), _source(entry)) for entry in found
        ]
        columns = ("name", "kind", "inputs", "outputs", "from")
        _table(f"{len(found)} node type(s)", columns, rows, keep=("name", "kind", "from"))

    @nodes.command("show")
    @click.argument("name", shell_complete=complete_name)
    @click.option("--kind", type=click.Choice(_KINDS), help="Which one, when an instrument and an operator share NAME.")
    @click.option("--json", "as_json", is_flag=True, help="Print the node as a JSON object (see docs/workflows.md).")
    def show_command(name: str, kind: str | None, as_json: bool) -> None:
        """One node type in full: ports, config keys, provider, runtime and sandbox."""
        found = entries()
        matches = [entry for entry in found if entry.name == name and kind in (None, entry.kind)]
        if not matches:
            known = sorted({entry.name for entry in found})
            raise click.ClickException(
                f"No {kind or 'node'} is named {name!r}.{did_you_mean(name, known)}"
                " See `symphony nodes list` for every node."
            )
        if len(matches) > 1:
            kinds = " or ".join(f"--kind {entry.kind}" for entry in matches)
            raise click.ClickException(f"{name!r} names an instrument and an operator; choose one with {kinds}.")
        (entry,) = matches
        if as_json:
            _print_json(entry)
        else:
            _show(entry)

    return nodes
