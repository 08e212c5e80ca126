"""TextEditingPort: buffers the editor bridge edits (seed M1.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from .._base import Base
from .._ids import BufferId

__all__ = ["BufferInfo", "Position", "TextEdit", "TextEditingPort"]


class Position(Base, frozen=True):
    """A place in a buffer: zero-based line and character (code point) offset."""

    line: int
    character: int


class TextEdit(Base, frozen=True):
    """Replace the text between ``start`` and ``end`` with ``text`` (insert when equal)."""

    start: Position
    end: Position
    text: str


class BufferInfo(Base, frozen=True):
    """An open buffer: its file, whether it has unsaved edits, its edit count."""

    buffer_id: BufferId
    path: str
    dirty: bool
    version: int


@runtime_checkable
class TextEditingPort(Protocol):
    async def open_file(self, path: Path) -> BufferId:
        """Open ``path`` (or return the buffer already open on it)."""
        ...

    async def edit_text(self, buffer_id: BufferId, edit: TextEdit) -> None:
        """Apply ``edit``; raises NotFoundError for an unknown buffer, ValidationError for a bad range."""
        ...

    async def get_buffer_content(self, buffer_id: BufferId) -> str: ...

    async def save_buffer(self, buffer_id: BufferId) -> None:
        """Write the buffer to its file atomically."""
        ...

    async def close_buffer(self, buffer_id: BufferId) -> None: ...

    async def list_buffers(self) -> list[BufferInfo]: ...
