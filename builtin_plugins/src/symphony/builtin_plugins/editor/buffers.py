"""Buffers over local files, edited by LSP-style positions, saved atomically.

Each change is announced as an event (``editor.opened``, ``editor.changed``,
``editor.saved``, ``editor.closed``; data: buffer id, path, version) through
the ``emit`` callback, which the plugin wires to the host's events, and so
to the message bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from symphony.hookspecs import BufferId, Event, NotFoundError, ValidationError, atomic_write, new_id
from symphony.hookspecs.ports import BufferInfo, Position, TextEdit

__all__ = ["Buffers"]


class _Buffer:
    __slots__ = ("dirty", "lines", "path", "version")

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.split("\n")
        self.dirty = False
        self.version = 0


class Buffers:
    """The TextEditingPort: one buffer per open file, edits applied in order."""

    def __init__(self, emit: Callable[[Event], None] | None = None) -> None:
        self._buffers: dict[BufferId, _Buffer] = {}
        self._lock = asyncio.Lock()
        self._emit = emit

    def _announce(self, what: str, buffer_id: BufferId, buffer: _Buffer) -> None:
        if self._emit is not None:
            data = {"buffer_id": buffer_id, "path": str(buffer.path), "version": buffer.version}
            self._emit(Event(topic=f"editor.{what}", source="editor", data=data))

    def _get(self, buffer_id: BufferId) -> _Buffer:
        try:
            return self._buffers[buffer_id]
        except KeyError:
            raise NotFoundError(f"No open buffer {buffer_id!r}; open the file first.") from None

    async def open_file(self, path: Path) -> BufferId:
        path = Path(path).resolve()
        for buffer_id, buffer in self._buffers.items():
            if buffer.path == path:
                return buffer_id
        try:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
        except (OSError, UnicodeDecodeError) as error:
            raise ValidationError(f"Cannot open {path} as UTF-8 text: {error}") from None
        buffer_id = BufferId(new_id())
        self._buffers[buffer_id] = buffer = _Buffer(path, text)
        self._announce("opened", buffer_id, buffer)
        return buffer_id

    async def edit_text(self, buffer_id: BufferId, edit: TextEdit) -> None:
        async with self._lock:
            buffer = self._get(buffer_id)
            for position in (edit.start, edit.end):
                self._check(buffer, position)
            if (edit.end.line, edit.end.character) < (edit.start.line, edit.start.character):
                raise ValidationError(f"Edit range ends before it starts: {edit.start} > {edit.end}.")
            head = buffer.lines[edit.start.line][: edit.start.character]
            tail = buffer.lines[edit.end.line][edit.end.character :]
            buffer.lines[edit.start.line : edit.end.line + 1] = (head + edit.text + tail).split("\n")
            buffer.dirty = True
            buffer.version += 1
        self._announce("changed", buffer_id, buffer)

    @staticmethod
    def _check(buffer: _Buffer, position: Position) -> None:
        if not 0 <= position.line < len(buffer.lines):
            raise ValidationError(f"Line {position.line} is outside the buffer (0..{len(buffer.lines) - 1}).")
        length = len(buffer.lines[position.line])
        if not 0 <= position.character <= length:
            raise ValidationError(f"Character {position.character} is outside line {position.line} (0..{length}).")

    async def get_buffer_content(self, buffer_id: BufferId) -> str:
        return "\n".join(self._get(buffer_id).lines)

    async def save_buffer(self, buffer_id: BufferId) -> None:
        buffer = self._get(buffer_id)
        atomic_write(buffer.path, "\n".join(buffer.lines).encode("utf-8"))
        buffer.dirty = False
        self._announce("saved", buffer_id, buffer)

    async def close_buffer(self, buffer_id: BufferId) -> None:
        buffer = self._get(buffer_id)
        del self._buffers[buffer_id]
        self._announce("closed", buffer_id, buffer)

    async def list_buffers(self) -> list[BufferInfo]:
        return [
            BufferInfo(buffer_id=buffer_id, path=str(b.path), dirty=b.dirty, version=b.version)
            for buffer_id, b in self._buffers.items()
        ]
