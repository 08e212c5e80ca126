"""TextEditingPort: buffers the editor bridge edits (seed M1.1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from .._base import Base
from .._ids import BufferId

__all__ = ["BufferChange", "BufferInfo", "Position", "TextEdit", "TextEditingPort"]


class Position(Base, frozen=True):
    """A place in a buffer: zero-based line, and character offset in UTF-16 code units as LSP counts them.

    An emoji outside the Basic Multilingual Plane counts two; a CJK ideograph one.
    """

    line: int
    character: int


class TextEdit(Base, frozen=True):
    """Replace the text between ``start`` and ``end`` with ``text`` (insert when equal)."""

    start: Position
    end: Position
    text: str


class BufferInfo(Base, frozen=True):
    """An open buffer: its file, whether it has unsaved edits, its revision (edits applied since it opened)."""

    buffer_id: BufferId
    path: str
    dirty: bool
    version: int


class BufferChange(Base, frozen=True):
    """Edits applied to a buffer, as subscribers see them: ``edits`` took it from ``revision - 1`` to ``revision``.

    ``edits`` are in the coordinates of the text before them, applied in order.
    ``client`` names who made them (None: the host itself, or an undo/redo).
    """

    buffer_id: BufferId
    revision: int
    edits: list[TextEdit]
    client: str | None = None


@runtime_checkable
class TextEditingPort(Protocol):
    """The buffers the editor bridge edits, so edits apply to one in-memory copy before they reach disk.

    Provided by:
        ``symphony_provide_text_editing``; builtin: plugin ``editor`` (the
        bridge to the ``symphony editor-core`` process, which holds the text in
        rope buffers and is restarted and resynced if it dies).

    Lifetime:
        A buffer lives from ``open_file`` until ``close_buffer`` or the host
        stops; unsaved edits are then lost.  Buffer ids are not reused.

    Threads and processes:
        Call from the host's event loop; need not be thread-safe.  Buffers
        belong to one host; several clients (callers) may edit one buffer, their
        edits ordered by revision.

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

    async def edit_text(
        self, buffer_id: BufferId, edit: TextEdit, *, revision: int | None = None, client: str | None = None
    ) -> int:
        """Apply ``edit``; return the buffer's new revision.  The buffer becomes dirty.

        ``revision`` is the revision the caller's positions refer to (None: the
        current one).  An edit made against an older revision is transformed over
        the edits applied since, or refused when they overlap it (see docs/editor.md).
        Once this returns, the edit survives a restart of whatever holds the buffer.

        Raises:
            NotFoundError: no open buffer has this id.
            ValidationError: the range is reversed or outside the buffer, or it
                overlaps edits made since ``revision`` (the message names the
                current revision: read the buffer again and retry).
        """
        ...

    async def undo(self, buffer_id: BufferId) -> int:
        """Undo the last edit group; return the new revision (unchanged when there is nothing to undo)."""
        ...

    async def redo(self, buffer_id: BufferId) -> int:
        """Redo the last undone edit group; return the new revision (unchanged when there is nothing to redo)."""
        ...

    def subscribe(self, buffer_id: BufferId, handler: Callable[[BufferChange], None]) -> Callable[[], None]:
        """Call ``handler`` on the event loop after each change to the buffer, in revision order; return an unsubscribe.

        Raises:
            NotFoundError: no open buffer has this id.
        """
        ...

    async def get_buffer_content(self, buffer_id: BufferId) -> str:
        """The buffer's whole text, edits included; raises NotFoundError for an unknown buffer."""
        ...

    async def save_buffer(self, buffer_id: BufferId, *, force: bool = False) -> None:
        """Write the buffer to its file atomically, keeping the file's mode; it is clean after.

        A file changed on disk since it was opened or last saved is not
        overwritten unless ``force``.

        Raises:
            NotFoundError: no open buffer has this id.
            ValidationError: the file changed on disk meanwhile (save with ``force`` to overwrite it).
        """
        ...

    async def close_buffer(self, buffer_id: BufferId) -> None:
        """Forget the buffer without saving; raises NotFoundError for an unknown buffer."""
        ...

    async def list_buffers(self) -> list[BufferInfo]:
        """Every open buffer: its file, whether it is dirty, its version."""
        ...
