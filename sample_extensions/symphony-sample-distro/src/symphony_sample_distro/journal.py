"""A TextEditingPort that journals every edit and keeps text with LF line endings.

Differences from the builtin editor, all observable through the port:

- ``open_file`` normalises CRLF and lone CR line endings to LF on every
  platform, so positions never point between a CR and its LF, and
  ``save_buffer`` writes exactly that text (LF, no newline translation).
- every applied edit is appended to a journal (:meth:`JournalingEditor.journal`)
  with the text it removed, so edits can be audited and undone
  (:meth:`JournalingEditor.undo`).
- ``save_buffer`` keeps the file's permission bits and fsyncs before the
  atomic rename.
"""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from pathlib import Path
from typing import Literal

from symphony.hookspecs import Base, BufferId, NotFoundError, ValidationError, new_id
from symphony.hookspecs.ports import BufferInfo, Position, TextEdit

__all__ = ["JournalEntry", "JournalingEditor"]


class JournalEntry(Base, frozen=True):
    """One applied edit: where, what it removed, what it inserted, and the version it produced."""

    buffer_id: BufferId
    path: str
    version: int
    start: Position
    removed: str
    inserted: str
    kind: Literal["edit", "undo"] = "edit"


class _Buffer:
    __slots__ = ("dirty", "path", "text", "undoable", "version")

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.dirty = False
        self.version = 0
        self.undoable: list[JournalEntry] = []


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _offset(text: str, position: Position) -> int:
    """The string offset of ``position``; raises ValidationError outside the text."""
    lines = text.split("\n")
    if not 0 <= position.line < len(lines):
        raise ValidationError(f"Line {position.line} is outside the buffer (0..{len(lines) - 1}).")
    length = len(lines[position.line])
    if not 0 <= position.character <= length:
        raise ValidationError(f"Character {position.character} is outside line {position.line} (0..{length}).")
    return sum(len(line) + 1 for line in lines[: position.line]) + position.character


def _end_of(start: Position, inserted: str) -> Position:
    """Where ``inserted`` ends once placed at ``start``."""
    parts = inserted.split("\n")
    if len(parts) == 1:
        return Position(line=start.line, character=start.character + len(inserted))
    return Position(line=start.line + len(parts) - 1, character=len(parts[-1]))


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
            self._buffers[buffer_id] = _Buffer(path, normalise_newlines(raw))
            return buffer_id

    async def edit_text(self, buffer_id: BufferId, edit: TextEdit) -> None:
        async with self._lock:
            buffer = self._get(buffer_id)
            begin, end = _offset(buffer.text, edit.start), _offset(buffer.text, edit.end)
            if end < begin:
                raise ValidationError(f"Edit range ends before it starts: {edit.start} > {edit.end}.")
            inserted = normalise_newlines(edit.text)
            entry = self._apply(
                buffer, buffer_id, start=edit.start, begin=begin, end=end, inserted=inserted, kind="edit"
            )
            buffer.undoable.append(entry)

    def _apply(
        self,
        buffer: _Buffer,
        buffer_id: BufferId,
        *,
        start: Position,
        begin: int,
        end: int,
        inserted: str,
        kind: Literal["edit", "undo"],
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
        return entry

    async def undo(self, buffer_id: BufferId) -> bool:
        """Revert the buffer's most recent edit (journaled as an ``undo``); False when there is none."""
        async with self._lock:
            buffer = self._get(buffer_id)
            if not buffer.undoable:
                return False
            last = buffer.undoable.pop()
            begin = _offset(buffer.text, last.start)
            end = _offset(buffer.text, _end_of(last.start, last.inserted))
            self._apply(buffer, buffer_id, start=last.start, begin=begin, end=end, inserted=last.removed, kind="undo")
            return True

    async def get_buffer_content(self, buffer_id: BufferId) -> str:
        return self._get(buffer_id).text

    async def save_buffer(self, buffer_id: BufferId) -> None:
        async with self._lock:
            buffer = self._get(buffer_id)
            await asyncio.to_thread(_atomic_write, buffer.path, buffer.text)
            buffer.dirty = False

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
