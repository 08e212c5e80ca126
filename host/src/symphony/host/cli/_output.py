"""Printing for people (rich, imported only when needed) and for scripts (``--json``).

Every table has one style: a rule under the header and no side borders, as wide
as the terminal (80 columns when output is not a terminal), wrapping cells
rather than the line.  Colour only on a terminal and never under ``NO_COLOR``.
``--quiet`` drops titles and notes; results and errors always print.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

__all__ = [
    "leaves",
    "note",
    "plain_table",
    "print_json",
    "print_table",
    "quiet",
    "rich_table",
    "toml_document",
    "toml_key",
    "toml_value",
]

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
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    title_shown = None if quiet() else title
    width = _plain_width()
    text = None if width is None else plain_table(title_shown, columns, cells, width)
    click.echo(rich_table(title_shown, columns, cells) if text is None else text)


def rich_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None
) -> str:
    """The table as rich prints it (``width``: the output's, when not given)."""
    import os

    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    # Styles only on a terminal (rich's choice) and none at all, bold included, under NO_COLOR.
    console = Console(highlight=False, color_system=None if os.environ.get("NO_COLOR") else "auto", width=width)
    with console.capture() as captured:
        if title is not None:
            console.print(title, style="bold", markup=False)
        console.print(table)
    return "\n".join(line.rstrip() for line in captured.get().splitlines())


#: What rich would turn into something else: markup (``[``) and emoji codes (``:name:``).
_RICH_SYNTAX = re.compile(r"\[|:\S*?:")


def plain_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str | None:
    """The table exactly as rich prints it ``width`` wide when output is not a terminal and it fits; else None.

    Importing and running rich costs ~30 ms, a sixth of a command like ``plugins list``;
    this covers the common case, plain text for a script or a pipe.  A terminal (styles), a
    table wider than the output (wrapping) or a cell rich would read as markup, an emoji
    code or a character of another width goes to rich.  tests/test_output.py checks it
    against rich.
    """
    if not columns or any(len(row) != len(columns) for row in rows):
        return None
    texts = [*columns, *(cell for row in rows for cell in row), *([title] if title is not None else [])]
    if not all(text.isascii() and text.isprintable() for text in texts):
        return None
    if any(_RICH_SYNTAX.search(text) for text in texts):
        return None
    widths = [max(len(cell) for cell in column) for column in zip(columns, *rows, strict=True)]
    total = sum(widths) + 3 * (len(widths) - 1)  # one space each side of the gap, the gap itself
    if total > width or 0 in widths or (title is not None and len(title) > width):
        return None
    lines = [] if title is None else [title.rstrip()]
    lines.append("   ".join(cell.ljust(size) for cell, size in zip(columns, widths, strict=True)).rstrip())
    lines.append("\u2500" * total)  # ─, as rich draws the rule
    lines += ["   ".join(cell.ljust(size) for cell, size in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _plain_width() -> int | None:
    """The width rich would give the output when it is not a terminal, or None when it is one (or unsure).

    As rich decides: ``TTY_COMPATIBLE``, then ``FORCE_COLOR``, then whether stdout is a
    terminal; the width from ``COLUMNS``, else the first of stdin, stdout, stderr that is a
    terminal, else 80.
    """
    import os

    tty, force = os.environ.get("TTY_COMPATIBLE", ""), os.environ.get("FORCE_COLOR")
    if tty == "1" or (tty != "0" and (force != "" if force is not None else _isatty())):
        return None
    columns = os.environ.get("COLUMNS")
    if columns is not None:
        return int(columns) if columns.isdigit() and int(columns) > 0 else None
    for descriptor in (0, 1, 2):
        try:
            return os.get_terminal_size(descriptor).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


def _isatty() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:
        return False


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
