"""Printing for people (rich, imported only when needed) and for scripts (``--json``).

Every table has one style: a rule under the header and no side borders, as wide
as the terminal (80 columns when output is not a terminal), wrapping cells
rather than the line.  Colour only on a terminal and never under ``NO_COLOR``.
``--quiet`` drops titles and notes; results and errors always print.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import click

__all__ = ["leaves", "note", "print_json", "print_table", "quiet", "toml_document", "toml_key", "toml_value"]

#: A TOML key part that needs no quotes.
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def quiet() -> bool:
    """Whether this invocation was given ``--quiet``."""
    from ._app import HostFactory

    ctx = click.get_current_context(silent=True)
    factory = ctx.find_object(HostFactory) if ctx is not None else None
    return factory is not None and factory.verbosity < 0


def note(message: str) -> None:
    """A line that explains rather than answers: wrapped to the terminal, left out under ``--quiet``."""
    if not quiet():
        import shutil

        width = shutil.get_terminal_size().columns
        click.echo(click.wrap_text(message, width, subsequent_indent="    ", preserve_paragraphs=True))


def print_json(value: Any) -> None:
    import msgspec

    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    import os

    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    # Styles only on a terminal (rich's choice) and none at all, bold included, under NO_COLOR.
    console = Console(highlight=False, color_system=None if os.environ.get("NO_COLOR") else "auto")
    with console.capture() as captured:
        if not quiet():
            console.print(title, style="bold", markup=False)
        console.print(table)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every key of ``tree`` holding a value (or an empty table), as its parts: the keys ``--set`` takes."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            found += leaves(value, (*prefix, str(key)))
        else:
            found.append(((*prefix, str(key)), value))
    return found


def toml_document(tree: Mapping[str, Any]) -> str:
    """``tree`` (plain data) as a TOML document; unset (None) keys are left out, TOML having no null."""
    import tomli_w

    def present(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: present(item) for key, item in value.items() if item is not None}
        if isinstance(value, list | tuple):
            return [present(item) for item in value if item is not None]
        return value

    return tomli_w.dumps(present(tree))


def toml_key(parts: Sequence[str]) -> str:
    """A dotted TOML key, each part quoted only when it must be."""
    import json

    return ".".join(part if _BARE_KEY.fullmatch(part) else json.dumps(part) for part in parts)


def toml_value(value: Any) -> str:
    """One TOML value on one line (arrays and tables inline); ``tomli_w`` writes the scalars."""
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key([str(k)])} = {toml_value(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, list | tuple):
        return f"[{', '.join(toml_value(item) for item in value)}]"
    import tomli_w

    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")
