"""A TextEditingPort that journals every edit and keeps text with LF line endings.

Differences from the builtin editor, all observable through the port:

- ``open_file`` normalises CRLF and lone CR line endings to LF on every
  platform, so positions never point between a CR and its LF, and
  ``save_buffer`` writes exactly that text (LF, no newline translation).
- every applied edit is appended to a journal (:meth:`JournalingEditor.journal`)
  with the text it removed, so edits can be audited, undone and redone.
- an edit against an older revision is always refused (the builtin editor
  transforms it when it overlaps nothing): one revision, one text.
- ``save_buffer`` keeps the file's permission bits and fsyncs before the
  atomic rename.
"""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from symphony.hookspecs import Base, BufferId, NotFoundError, ValidationError, new_id
from symphony.hookspecs.ports import BufferChange, BufferInfo, Position, TextEdit

__all__ = ["JournalEntry", "JournalingEditor"]


class JournalEntry(Base, frozen=True):
    """One applied edit: where, what it removed, what it inserted, and the version it produced."""

    buffer_id: BufferId
    path: str
    version: int
    start: Position
    removed: str
    inserted: str
    kind: Literal["edit", "undo", "redo"] = "edit"


class _Buffer:
    __slots__ = ("dirty", "disk", "path", "redoable", "subscribers", "text", "undoable", "version")

    def __init__(self, path: Path, text: str, disk: tuple[int, int] | None) -> None:
        self.path = path
        self.text = text
        self.dirty = False
        self.version = 0
        self.undoable: list[JournalEntry] = []
        self.redoable: list[JournalEntry] = []
        self.subscribers: list[Callable[[BufferChange], None]] = []
        #: (mtime_ns, size) when opened or last saved: a save over a file changed since is refused.
        self.disk = disk


def _disk(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def _units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, as positions count."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _offset(text: str, position: Position) -> int:
    """The string offset of ``position`` (its character in UTF-16 code units); ValidationError outside the text."""
    lines = text.split("\n")
    if not 0 <= position.line < len(lines):
        raise ValidationError(f"Line {position.line} is outside the buffer (0..{len(lines) - 1}).")
    line = lines[position.line]
    length = _units(line)
    if not 0 <= position.character <= length:
        raise ValidationError(f"Character {position.character} is outside line {position.line} (0..{length}).")
    encoded = line.encode("utf-16-le", "surrogatepass")[: 2 * position.character]
    try:
        index = len(encoded.decode("utf-16-le"))
    except UnicodeDecodeError:
        raise ValidationError(f"Character {position.character} of line {position.line} splits a character.") from None
    return sum(len(line) + 1 for line in lines[: position.line]) + index


def _end_of(start: Position, inserted: str) -> Position:
    """Where ``inserted`` ends once placed at ``start``."""
    parts = inserted.split("\n")
    if len(parts) == 1:
        return Position(line=start.line, character=start.character + _units(inserted))
    return Position(line=start.line + len(parts) - 1, character=_units(parts[-1]))


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, fsync, keep the mode, rename over ``path``."""
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class JournalingEditor:
    """The TextEditingPort of the sample distribution: one buffer per file, every edit journaled."""

    def __init__(self) -> None:
        self._buffers: dict[BufferId, _Buffer] = {}
        self._journal: list[JournalEntry] = []
        self._lock = asyncio.Lock()

    @property
    def buffer_count(self) -> int:
        return len(self._buffers)

    def journal(self, buffer_id: BufferId | None = None) -> list[JournalEntry]:
        """Every edit applied so far, oldest first; only ``buffer_id``'s when given."""
        return [e for e in self._journal if buffer_id is None or e.buffer_id == buffer_id]

    def _get(self, buffer_id: BufferId) -> _Buffer:
        try:
            return self._buffers[buffer_id]
        except KeyError:
            raise NotFoundError(f"No open buffer {buffer_id!r}; open the file first.") from None

    async def open_file(self, path: Path) -> BufferId:
        path = Path(path).resolve()
        async with self._lock:
            for buffer_id, buffer in self._buffers.items():
                if buffer.path == path:
                    return buffer_id
            try:
                raw = path.read_bytes().decode("utf-8") if path.exists() else ""
            except (OSError, UnicodeDecodeError) as error:
                raise ValidationError(f"Cannot open {path} as UTF-8 text: {error}") from None
            # Read raw and normalise here, so the rule holds on every platform
            # (and the LF-only text is what save_buffer writes back, byte for byte).
            buffer_id = BufferId(new_id())
            self._buffers[buffer_id] = _Buffer(path, normalise_newlines(raw), _disk(path))
            return buffer_id

    async def edit_text(
        self, buffer_id: BufferId, edit: TextEdit, *, revision: int | None = None, client: str | None = None
    ) -> int:
        async with self._lock:
            buffer = self._get(buffer_id)
            if revision is not None and revision != buffer.version:
                raise ValidationError(
                    f"The edit was made against revision {revision}, but the current revision is {buffer.version}: "
                    "read the buffer again and retry."
                )
            begin, end = _offset(buffer.text, edit.start), _offset(buffer.text, edit.end)
            if end < begin:
                raise ValidationError(f"Edit range ends before it starts: {edit.start} > {edit.end}.")
            inserted = normalise_newlines(edit.text)
            entry = self._apply(
                buffer, buffer_id, start=edit.start, begin=begin, end=end, inserted=inserted, kind="edit", client=client
            )
            buffer.undoable.append(entry)
            buffer.redoable.clear()
            return buffer.version

    def _apply(
        self,
        buffer: _Buffer,
        buffer_id: BufferId,
        *,
        start: Position,
        begin: int,
        end: int,
        inserted: str,
        kind: Literal["edit", "undo", "redo"],
        client: str | None = None,
    ) -> JournalEntry:
        removed = buffer.text[begin:end]
        buffer.text = buffer.text[:begin] + inserted + buffer.text[end:]
        buffer.dirty = True
        buffer.version += 1
        entry = JournalEntry(
            buffer_id=buffer_id,
            path=str(buffer.path),
            version=buffer.version,
            start=start,
            removed=removed,
            inserted=inserted,
            kind=kind,
        )
        self._journal.append(entry)
        change = BufferChange(
            buffer_id=buffer_id,
            revision=buffer.version,
            edits=[TextEdit(start=start, end=_end_of(start, removed), text=inserted)],
            client=client,
        )
        for handler in list(buffer.subscribers):
            handler(change)
        return entry

    async def undo(self, buffer_id: BufferId) -> int:
        """Revert the buffer's most recent edit (journaled as an ``undo``); the revision, unchanged if none."""
        async with self._lock:
            buffer = self._get(buffer_id)
            if buffer.undoable:
                last = buffer.undoable.pop()
                begin = _offset(buffer.text, last.start)
                end = _offset(buffer.text, _end_of(last.start, last.inserted))
                self._apply(
                    buffer, buffer_id, start=last.start, begin=begin, end=end, inserted=last.removed, kind="undo"
                )
                buffer.redoable.append(last)
            return buffer.version

    async def redo(self, buffer_id: BufferId) -> int:
        """Apply the most recently undone edit again (journaled as a ``redo``); the revision, unchanged if none."""
        async with self._lock:
            buffer = self._get(buffer_id)
            if buffer.redoable:
                undone = buffer.redoable.pop()
                begin = _offset(buffer.text, undone.start)
                end = _offset(buffer.text, _end_of(undone.start, undone.removed))
                entry = self._apply(
                    buffer, buffer_id, start=undone.start, begin=begin, end=end, inserted=undone.inserted, kind="redo"
                )
                buffer.undoable.append(entry)
            return buffer.version

    def subscribe(self, buffer_id: BufferId, handler: Callable[[BufferChange], None]) -> Callable[[], None]:
        subscribers = self._get(buffer_id).subscribers
        subscribers.append(handler)

        def unsubscribe() -> None:
            if handler in subscribers:
                subscribers.remove(handler)

        return unsubscribe

    async def get_buffer_content(self, buffer_id: BufferId) -> str:
        return self._get(buffer_id).text

    async def save_buffer(self, buffer_id: BufferId, *, force: bool = False) -> None:
        async with self._lock:
            buffer = self._get(buffer_id)
            if not force and _disk(buffer.path) != buffer.disk:
                raise ValidationError(
                    f"{buffer.path} changed on disk since it was opened or last saved; nothing was written. "
                    "Save with force=True to overwrite it."
                )
            await asyncio.to_thread(_atomic_write, buffer.path, buffer.text)
            buffer.dirty = False
            buffer.disk = _disk(buffer.path)

    async def close_buffer(self, buffer_id: BufferId) -> None:
        """Forget the buffer (unsaved edits are discarded); its journal entries stay."""
        async with self._lock:
            self._get(buffer_id)
            del self._buffers[buffer_id]

    async def list_buffers(self) -> list[BufferInfo]:
        return [
            BufferInfo(buffer_id=buffer_id, path=str(b.path), dirty=b.dirty, version=b.version)
            for buffer_id, b in self._buffers.items()
        ]
