"""Edits in LSP coordinates (line, UTF-16 character) applied to a list of lines, exactly as the core applies them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["apply_edits", "utf16_index"]


def utf16_index(line: str, character: int) -> int:
    """The index in ``line`` of UTF-16 offset ``character``; ValueError past the end or inside a surrogate pair."""
    if line.isascii():
        if not 0 <= character <= len(line):
            raise ValueError(f"character {character} is past the end of a {len(line)}-character line")
        return character
    encoded = line.encode("utf-16-le", "surrogatepass")
    if not 0 <= 2 * character <= len(encoded):
        raise ValueError(f"character {character} is past the end of a {len(encoded) // 2}-unit line")
    try:
        return len(encoded[: 2 * character].decode("utf-16-le"))
    except UnicodeDecodeError:
        raise ValueError(f"character {character} is inside a surrogate pair") from None


def apply_edits(lines: list[str], edits: Iterable[dict[str, Any]]) -> None:
    """Apply ``edits`` (each ``{"start", "end", "text"}`` in the coordinates before it) to ``lines`` in place."""
    for edit in edits:
        start, end = edit["start"], edit["end"]
        first, last = start["line"], end["line"]
        head = lines[first][: utf16_index(lines[first], start["character"])]
        tail = lines[last][utf16_index(lines[last], end["character"]) :]
        lines[first : last + 1] = (head + edit["text"] + tail).split("\n")
