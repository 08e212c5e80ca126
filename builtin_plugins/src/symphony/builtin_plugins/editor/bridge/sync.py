"""What the host keeps per buffer to resync a restarted core: the Binary Sync Coordinator's state.

The host mirrors each buffer's text as a list of lines, applying every edit
the core reports (its ``update`` notifications, which carry the edits as
applied, after any transformation) as it arrives; a resync sends the joined
lines.  docs/editor.md, "Sync design", says why a mirror rather than a log of
edits since the last save, with the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from symphony.hookspecs import BufferId
from symphony.hookspecs.ports import BufferChange

from .replay import apply_edits

__all__ = ["SyncedBuffer"]


class SyncedBuffer:
    """One open buffer as the host knows it: enough to reopen it in a new core at the same revision."""

    def __init__(self, buffer_id: BufferId, path: Path, text: str, disk: tuple[int, int] | None) -> None:
        self.buffer_id = buffer_id
        self.path = path
        #: The core's name for it; changes with every core process.
        self.view_id = ""
        self.revision = 0
        self.dirty = False
        #: (mtime_ns, size) of the file when opened or last saved; None when it did not exist.
        self.disk = disk
        self.closed = False
        self.subscribers: list[Callable[[BufferChange], None]] = []
        #: The text at ``revision``; None while it is being fetched again from the core (see ``lost``).
        self._lines: list[str] | None = text.split("\n")
        #: Edits reported while the text is being fetched again: (revision, edits), applied by ``reset``.
        self._unapplied: list[tuple[int, list[dict[str, Any]]]] = []

    def record(self, revision: int, edits: list[dict[str, Any]], dirty: bool) -> None:
        """The core applied ``edits``, producing ``revision``.

        Raises ValueError (the mirror is then ``lost``) when they do not fit the
        mirrored text: the host and the core disagree, and only the core's text counts.
        """
        self.revision = revision
        self.dirty = dirty
        if self._lines is None:
            self._unapplied.append((revision, edits))
            return
        try:
            apply_edits(self._lines, edits)
        except (ValueError, IndexError, KeyError, TypeError) as error:
            self._lines = None
            raise ValueError(f"revision {revision} does not apply to the mirrored text: {error}") from None

    @property
    def lost(self) -> bool:
        """Whether the mirror must be fetched again from the core (``reset``) before a resync can use it."""
        return self._lines is None

    def reset(self, text: str, revision: int) -> None:
        """The core's text at ``revision``; the edits reported since then apply on top."""
        lines = text.split("\n")
        for applied, edits in self._unapplied:
            if applied > revision:
                apply_edits(lines, edits)
        self._unapplied.clear()
        self._lines = lines

    def text(self) -> str:
        if self._lines is None:
            raise ValueError(f"the text of {self.path} is being fetched again from the editor core")
        return "\n".join(self._lines)

    def reopen_params(self) -> dict[str, Any]:
        """``new_view`` parameters that recreate this buffer, unsaved edits and disk baseline included."""
        params: dict[str, Any] = {
            "file_path": str(self.path),
            "content": self.text(),
            "revision": self.revision,
            "dirty": self.dirty,
        }
        if self.disk is not None:
            params["disk_mtime_ns"], params["disk_size"] = self.disk
        return params
