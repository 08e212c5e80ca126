"""LSP's JSON shapes to the port's types, and the buffer checks positions need.

Positions pass through unchanged: the port and LSP both count UTF-16 code units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

from symphony.hookspecs import ValidationError
from symphony.hookspecs.ports import CompletionItem, Diagnostic, Location, Position

__all__ = [
    "check_position",
    "completions",
    "diagnostics",
    "from_points",
    "hover_text",
    "locations",
    "path_of",
    "to_points",
    "to_utf16",
    "wire",
]

_SEVERITIES: Final = {1: "error", 2: "warning", 3: "information", 4: "hint"}

#: LSP's CompletionItemKind, numbered from 1.
_KINDS: Final = (
    *("text", "method", "function", "constructor", "field", "variable", "class", "interface", "module"),
    *("property", "unit", "value", "enum", "keyword", "snippet", "color", "file", "reference", "folder"),
    *("enum_member", "constant", "struct", "event", "operator", "type_parameter"),
)


def wire(position: Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def _position(value: dict[str, Any]) -> Position:
    return Position(line=int(value["line"]), character=int(value["character"]))


def path_of(uri: str) -> str:
    """The absolute path of a ``file:`` URI (another scheme's URI is returned as it is)."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def to_points(line: str, character: int) -> int:
    """The code-point column of UTF-16 offset ``character`` in ``line`` (inside a surrogate pair: after it)."""
    units = 0
    for column, char in enumerate(line):
        if units >= character:
            return column
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line)


def to_utf16(line: str, column: int) -> int:
    """The UTF-16 offset of code-point ``column`` in ``line``."""
    return len(line[:column].encode("utf-16-le")) // 2


def from_points(lines: list[str], position: Position) -> Position:
    """``position`` counted in code points, counted in UTF-16 against ``lines`` (unchanged past their end)."""
    if not 0 <= position.line < len(lines):
        return position
    return Position(line=position.line, character=to_utf16(lines[position.line], position.character))


def check_position(text: str, position: Position) -> None:
    """ValidationError unless ``position`` is inside ``text`` (its line, and at most its UTF-16 length)."""
    lines = text.split("\n")
    if not 0 <= position.line < len(lines):
        raise ValidationError(f"Line {position.line} is outside the buffer (lines 0..{len(lines) - 1}).")
    length = len(lines[position.line].encode("utf-16-le")) // 2
    if not 0 <= position.character <= length:
        raise ValidationError(
            f"Character {position.character} is outside line {position.line} (0..{length} UTF-16 code units)."
        )


def diagnostics(items: list[dict[str, Any]]) -> list[Diagnostic]:
    found = []
    for item in items:
        code = item.get("code")
        found.append(
            Diagnostic(
                start=_position(item["range"]["start"]),
                end=_position(item["range"]["end"]),
                message=str(item.get("message", "")),
                severity=_SEVERITIES.get(item.get("severity", 1), "error"),
                source=item.get("source"),
                code=None if code is None else str(code),
            )
        )
    return found


def completions(result: Any) -> list[CompletionItem]:
    """A ``CompletionList`` or a list of ``CompletionItem``s (or null)."""
    items = result.get("items", []) if isinstance(result, dict) else result or []
    found = []
    for item in items:
        kind = item.get("kind")
        edit = item.get("textEdit")
        insert = edit.get("newText") if isinstance(edit, dict) else item.get("insertText")
        found.append(
            CompletionItem(
                label=item["label"],
                kind=_KINDS[kind - 1] if isinstance(kind, int) and 1 <= kind <= len(_KINDS) else None,
                detail=item.get("detail"),
                insert_text=insert,
            )
        )
    return found


def _marked(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "language" in value:
        return f"```{value['language']}\n{value.get('value', '')}\n```"
    if isinstance(value, dict):
        return str(value.get("value", ""))
    return ""


def hover_text(result: Any) -> str | None:
    """A ``Hover``'s contents as Markdown: MarkupContent, a MarkedString, or a list of them."""
    if not isinstance(result, dict):
        return None
    contents = result.get("contents")
    parts = [_marked(part) for part in contents] if isinstance(contents, list) else [_marked(contents)]
    text = "\n\n".join(part for part in parts if part.strip())
    return text or None


def locations(result: Any) -> list[Location]:
    """A ``Location``, a list of them, or a list of ``LocationLink``s."""
    items = [result] if isinstance(result, dict) else result or []
    found = []
    for item in items:
        uri = item.get("targetUri", item.get("uri"))
        span = item.get("targetSelectionRange") or item.get("targetRange") or item.get("range")
        if uri is None or span is None:
            continue
        found.append(Location(path=str(Path(path_of(uri))), start=_position(span["start"]), end=_position(span["end"])))
    return found
