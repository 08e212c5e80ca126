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
    """The buffers the editor bridge edits, so edits apply to one in-memory copy before they reach disk.

    Provided by:
        ``symphony_provide_text_editing``; builtin: plugin ``editor``.

    Lifetime:
        A buffer lives from ``open_file`` until ``close_buffer`` or the host
        stops; unsaved edits are then lost.  Buffer ids are not reused.

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.  Buffers
        belong to one host process.

    Errors:
        NotFoundError for an unknown buffer id, ValidationError for an
        unreadable file or an edit outside the buffer.

    Since:
        1.0
    """

    async def open_file(self, path: Path) -> BufferId:
        """Open ``path`` as UTF-8 text (or return the buffer already open on it).

        Raises:
            ValidationError: the file cannot be read as UTF-8 text.
        """
        ...

    async def edit_text(self, buffer_id: BufferId, edit: TextEdit) -> None:
        """Apply ``edit`` and count one more version; the buffer becomes dirty.

        Raises:
            NotFoundError: no open buffer has this id.
            ValidationError: the range is reversed or outside the buffer.
        """
        ...

    async def get_buffer_content(self, buffer_id: BufferId) -> str:
        """The buffer's whole text, edits included; raises NotFoundError for an unknown buffer."""
        ...

    async def save_buffer(self, buffer_id: BufferId) -> None:
        """Write the buffer to its file atomically (a reader never sees half a file); it is clean after.

        Raises:
            NotFoundError: no open buffer has this id.
        """
        ...

    async def close_buffer(self, buffer_id: BufferId) -> None:
        """Forget the buffer without saving; raises NotFoundError for an unknown buffer."""
        ...

    async def list_buffers(self) -> list[BufferInfo]:
        """Every open buffer: its file, whether it is dirty, its version."""
        ...
