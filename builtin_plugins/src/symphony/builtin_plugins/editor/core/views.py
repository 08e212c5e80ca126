"""One open view: a rope, its revision, undo/redo, and the recent edits a stale request is transformed over.

Positions are LSP's (line, UTF-16 character).  Every applied edit -- a replace, an
undo or a redo -- is one revision and is remembered, as the position range it
replaced and where its text ends, for the last ``HISTORY`` revisions: a replace
sent against an older revision is moved over them (before: unchanged; after:
shifted) or refused when it overlaps one.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

from .disk import Baseline
from .errors import INVALID_PARAMS, STALE_REVISION, RpcError
from .rope import Rope, utf16_length

__all__ = ["HISTORY", "View"]

HISTORY = 1000

Pos = tuple[int, int]


class _Applied(NamedTuple):
    """An applied edit in positions: it replaced ``start``..``end`` and its text now ends at ``new_end``."""

    start: Pos
    end: Pos
    new_end: Pos


class _Change(NamedTuple):
    """An edit in code points, enough to invert it: at ``offset``, ``removed`` became ``inserted``."""

    offset: int
    removed: str
    inserted: str


def _end_of(start: Pos, text: str) -> Pos:
    breaks = text.count("\n")
    if not breaks:
        return start[0], start[1] + utf16_length(text)
    return start[0] + breaks, utf16_length(text[text.rfind("\n") + 1 :])


def _move(position: Pos, applied: _Applied) -> Pos:
    """``position`` (at or after ``applied.end``) in the coordinates after ``applied``."""
    if position[0] == applied.end[0]:
        return applied.new_end[0], applied.new_end[1] + position[1] - applied.end[1]
    return position[0] + applied.new_end[0] - applied.end[0], position[1]


def _json(position: Pos) -> dict[str, int]:
    return {"line": position[0], "character": position[1]}


class View:
    """A buffer being edited; handlers call these methods in request order, one at a time."""

    __slots__ = ("_history", "_redo", "_undo", "baseline", "dirty", "path", "revision", "rope")

    def __init__(self, path: str, rope: Rope, revision: int, dirty: bool, baseline: Baseline) -> None:
        self.path = path
        self.rope = rope
        self.revision = revision
        self.dirty = dirty
        self.baseline = baseline
        self._history: deque[_Applied] = deque(maxlen=HISTORY)
        self._undo: list[_Change] = []
        self._redo: list[_Change] = []

    def replace(self, start: Pos, end: Pos, text: str, revision: int | None) -> dict[str, Any]:
        """Apply a replace sent against ``revision`` (None: the current one); the update's edit."""
        if end < start:
            raise RpcError(INVALID_PARAMS, f"The range ends before it starts ({start} > {end}); send start <= end.")
        if revision is not None and revision != self.revision:
            start, end = self._transform(start, end, revision)
        first = self._offset(start, "start")
        last = first if end == start else self._offset(end, "end")
        removed = self.rope.slice(first, last) if last > first else ""
        self.rope.replace(first, last, text)
        self._undo.append(_Change(first, removed, text))
        self._redo.clear()
        return self._applied(start, end, text)

    def undo(self) -> dict[str, Any] | None:
        """Revert the last edit not yet undone (None if there is none); the update's edit."""
        return self._revert(self._undo, self._redo)

    def redo(self) -> dict[str, Any] | None:
        return self._revert(self._redo, self._undo)

    def _revert(self, source: list[_Change], target: list[_Change]) -> dict[str, Any] | None:
        if not source:
            return None
        change = source.pop()
        end_offset = change.offset + len(change.inserted)
        start = self.rope.offset_position(change.offset)
        end = self.rope.offset_position(end_offset)
        self.rope.replace(change.offset, end_offset, change.removed)
        target.append(_Change(change.offset, change.inserted, change.removed))
        return self._applied(start, end, change.removed)

    def _applied(self, start: Pos, end: Pos, text: str) -> dict[str, Any]:
        self.revision += 1
        self.dirty = True
        self._history.append(_Applied(start, end, _end_of(start, text)))
        return {"start": _json(start), "end": _json(end), "text": text}

    def _offset(self, position: Pos, which: str) -> int:
        offset = self.rope.position_offset(*position)
        if offset is None:
            line, character = position
            raise RpcError(
                INVALID_PARAMS,
                f"The {which} position (line {line}, character {character}) is not in the buffer: past the end of "
                f"its line, inside a surrogate pair, or no such line (the buffer has {self.rope.line_count} lines at "
                f"revision {self.revision}); send a position in UTF-16 code units within a line.",
            )
        return offset

    def _transform(self, start: Pos, end: Pos, revision: int) -> tuple[Pos, Pos]:
        behind = self.revision - revision
        if behind < 0 or behind > len(self._history):
            why = "is newer than the buffer" if behind < 0 else f"is older than the last {len(self._history)} kept"
            raise RpcError(
                STALE_REVISION,
                f"Revision {revision} {why} (current revision {self.revision}); fetch the content and resend.",
                {"revision": self.revision},
            )
        for index in range(len(self._history) - behind, len(self._history)):
            applied = self._history[index]
            if end <= applied.start:
                continue
            if start >= applied.end:
                start, end = _move(start, applied), _move(end, applied)
                continue
            raise RpcError(
                STALE_REVISION,
                f"The edit against revision {revision} overlaps an edit applied since (revision "
                f"{self.revision - len(self._history) + index + 1}); fetch the content and resend against revision "
                f"{self.revision}.",
                {"revision": self.revision},
            )
        return start, end
