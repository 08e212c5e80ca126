"""The TextEditingPort over the editor-core process, resynced when the core restarts.

Every call goes to the running core (started on first use).  When the core
dies, a call it had not answered is sent again to the resynced core — unless
the core had already reported the edit it made (its ``update``), which then
counts as the answer: each edit is applied exactly once.  Buffer state,
subscribers and events live here, so a restart is invisible to callers but
for the wait.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from symphony.hookspecs import BufferId, Event, NotFoundError, TransportError, ValidationError, new_id
from symphony.hookspecs.ports import BufferChange, BufferInfo, Position, TextEdit

from .connection import CoreConnection, CoreError, CoreGone, Request
from .supervisor import CoreSupervisor
from .sync import SyncedBuffer

__all__ = ["CoreEditing"]

log = logging.getLogger("symphony.editor.bridge")

_UNREADABLE = -32700
_NO_SUCH_VIEW = -32001
_STALE = -32010
_CHANGED_ON_DISK = -32020
#: Files written this recently are not trusted to read alike twice (see _read_alike).
_RACY_NS = 2_000_000_000


class CoreEditing:
    """The ``text_editing`` port: buffers held by the editor core, mirrored here for resync (see sync.py)."""

    def __init__(
        self, emit: Callable[[Event], None] | None = None, *, argv: Sequence[str] | None = None, **supervision: Any
    ) -> None:
        """``argv`` replaces the core's command line; ``supervision`` tunes CoreSupervisor (heartbeats, restarts)."""
        self._emit = emit
        self._buffers: dict[BufferId, SyncedBuffer] = {}
        self._by_view: dict[str, SyncedBuffer] = {}
        self._opening: dict[Path, asyncio.Future[BufferId]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.core = CoreSupervisor(
            on_update=self._on_update, resync=self._resync, emit=self._announce, argv=argv, **supervision
        )

    async def stop(self) -> None:
        """Stop the core; open buffers (and their unsaved edits) are dropped, as the port's lifetime says."""
        for task in list(self._tasks):
            task.cancel()
        await self.core.stop()

    # -- the port --------------------------------------------------------------------------

    async def open_file(self, path: Path) -> BufferId:
        path = Path(path).resolve()
        for buffer in self._buffers.values():
            if buffer.path == path:
                return buffer.buffer_id
        if (opening := self._opening.get(path)) is not None:
            return await asyncio.shield(opening)
        self._opening[path] = opening = asyncio.get_running_loop().create_future()
        try:
            buffer_id = await self._open(path)
        except Exception as error:
            opening.set_exception(error)
            opening.exception()  # this caller raises it; others waiting on the same file get it too
            raise
        except BaseException:
            opening.cancel()
            raise
        else:
            opening.set_result(buffer_id)
            return buffer_id
        finally:
            del self._opening[path]

    async def _open(self, path: Path) -> BufferId:
        """The core reads the file while the host reads it for its mirror; the host's text is sent if unsure."""
        connection = await self.core.connection()
        started = time.time_ns()
        reading = connection.request("new_view", {"file_path": str(path)})
        try:
            buffer = await asyncio.to_thread(_load, path)
        except ValidationError:
            await _discard(connection, reading)
            raise
        try:
            result = await reading.response
        except CoreGone:
            result = None
        except CoreError as error:
            raise _refusal(error, buffer) from None
        if result is not None and not _read_alike(result, buffer.disk, started):
            await _discard(connection, reading)
            result = None
        if result is None:
            result = await self._reopen(buffer)
        buffer.view_id = result["view_id"]
        self._buffers[buffer.buffer_id] = self._by_view[buffer.view_id] = buffer
        self._event("opened", buffer)
        return buffer.buffer_id

    async def _reopen(self, buffer: SyncedBuffer) -> Any:
        """``new_view`` with the host's text and disk baseline, sent again after a restart until answered."""
        while True:
            connection = await self.core.connection()
            try:
                return await connection.request("new_view", buffer.reopen_params()).response
            except CoreGone:
                continue
            except CoreError as error:
                raise _refusal(error, buffer) from None

    async def edit_text(
        self, buffer_id: BufferId, edit: TextEdit, *, revision: int | None = None, client: str | None = None
    ) -> int:
        if (edit.end.line, edit.end.character) < (edit.start.line, edit.start.character):
            raise ValidationError(f"Edit range ends before it starts: {_at(edit.start)} > {_at(edit.end)}.")
        params: dict[str, Any] = {
            "method": "replace",
            "params": {"start": _position(edit.start), "end": _position(edit.end), "text": edit.text},
        }
        if revision is not None:
            params["revision"] = revision
        return await self._edit(self._get(buffer_id), params, client)

    async def undo(self, buffer_id: BufferId) -> int:
        return await self._edit(self._get(buffer_id), {"method": "undo", "params": {}}, None)

    async def redo(self, buffer_id: BufferId) -> int:
        return await self._edit(self._get(buffer_id), {"method": "redo", "params": {}}, None)

    def subscribe(self, buffer_id: BufferId, handler: Callable[[BufferChange], None]) -> Callable[[], None]:
        subscribers = self._get(buffer_id).subscribers
        subscribers.append(handler)

        def unsubscribe() -> None:
            if handler in subscribers:
                subscribers.remove(handler)

        return unsubscribe

    async def get_buffer_content(self, buffer_id: BufferId) -> str:
        result = await self._call(self._get(buffer_id), "get_content", {})
        text: str = result["text"]
        return text

    async def save_buffer(self, buffer_id: BufferId, *, force: bool = False) -> None:
        buffer = self._get(buffer_id)
        result = await self._call(buffer, "save", {"force": force}, resend=self._resave(buffer, force))
        buffer.disk = (result["disk_mtime_ns"], result["disk_size"])
        if result["revision"] == buffer.revision:
            buffer.dirty = False
        self._event("saved", buffer)

    async def close_buffer(self, buffer_id: BufferId) -> None:
        buffer = self._get(buffer_id)
        buffer.closed = True
        del self._buffers[buffer_id]
        self._by_view.pop(buffer.view_id, None)
        buffer.subscribers.clear()
        self._event("closed", buffer)
        try:
            connection = await self.core.connection()
            await connection.call("close_view", {"view_id": buffer.view_id})
        except TransportError:
            pass  # the core that had it is gone (a restarted one never had it)
        except CoreError as error:
            if error.code != _NO_SUCH_VIEW:
                raise

    async def list_buffers(self) -> list[BufferInfo]:
        return [
            BufferInfo(buffer_id=b.buffer_id, path=str(b.path), dirty=b.dirty, version=b.revision)
            for b in self._buffers.values()
        ]

    # -- calls to the core ------------------------------------------------------------------

    async def _edit(self, buffer: SyncedBuffer, params: dict[str, Any], client: str | None) -> int:
        result = await self._call(buffer, "edit", params, tag=client)
        revision: int = result["revision"]
        return revision

    async def _call(
        self,
        buffer: SyncedBuffer,
        method: str,
        params: dict[str, Any],
        *,
        tag: object = None,
        resend: Callable[[], dict[str, Any]] | None = None,
    ) -> Any:
        """``method`` on ``buffer``'s view, sent again (with ``resend()``'s changes) after a restart until answered."""
        resent = False
        while True:
            connection = await self.core.connection()
            if buffer.closed:
                raise NotFoundError(f"Buffer {buffer.buffer_id!r} was closed meanwhile; open the file again.")
            extra = resend() if resent and resend is not None else {}
            request = connection.request(method, {**params, **extra, "view_id": buffer.view_id}, tag)
            try:
                return await request.response
            except CoreGone:
                if request.update is not None:  # the core applied it before dying: that is the answer
                    return {"revision": request.update["revision"]}
                resent = True
            except CoreError as error:
                raise _refusal(error, buffer) from None

    def _resave(self, buffer: SyncedBuffer, force: bool) -> Callable[[], dict[str, Any]]:
        """A save cut short by a crash may have written the file: the disk then holds our text, not a conflict."""

        def extra() -> dict[str, Any]:
            if force or buffer.disk == _stat(buffer.path):
                return {}
            try:
                on_disk = buffer.path.read_bytes()
            except OSError:
                return {}
            return {"force": True} if on_disk == buffer.text().encode("utf-8") else {}

        return extra

    async def _resync(self, connection: CoreConnection) -> None:
        """Reopen every buffer in a new core at its revision, dirty state and disk baseline (all sent at once)."""
        self._by_view.clear()
        for buffer in [b for b in self._buffers.values() if b.lost]:
            self._drop(buffer, "the core died before its text could be fetched again")
        reopened = [
            (buffer, connection.request("new_view", buffer.reopen_params())) for buffer in self._buffers.values()
        ]
        for buffer, request in reopened:
            try:
                result = await request.response
            except CoreError as error:  # e.g. its text is over the core's line limit: the others still count
                self._drop(buffer, f"the new core refused it: {error.message}")
                continue
            buffer.view_id = result["view_id"]
            self._by_view[buffer.view_id] = buffer
        if reopened:
            log.info("editor core: %d buffer(s) resynced", len(reopened))

    def _drop(self, buffer: SyncedBuffer, why: str) -> None:
        """Close a buffer a restarted core cannot take back; its unsaved edits are lost, and the event says why."""
        log.error("buffer %s (%s) is lost: %s", buffer.buffer_id, buffer.path, why)
        buffer.closed = True
        del self._buffers[buffer.buffer_id]
        self._announce(
            "editor.closed",
            {
                "buffer_id": buffer.buffer_id,
                "path": str(buffer.path),
                "version": buffer.revision,
                "revision": buffer.revision,
                "lost": why,
            },
        )

    def _refetch(self, buffer: SyncedBuffer) -> None:
        """Take the core's text as the mirror again (it is the reference) after they disagreed."""

        async def refetch() -> None:
            try:
                result = await self._call(buffer, "get_content", {})
            except NotFoundError:
                return  # closed meanwhile
            buffer.reset(result["text"], result["revision"])

        task = asyncio.get_running_loop().create_task(refetch(), name=f"editor-refetch-{buffer.buffer_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_update(self, params: dict[str, Any], request: Request | None) -> None:
        buffer = self._by_view.get(params.get("view_id", ""))
        if buffer is None:
            return
        edits: list[dict[str, Any]] = params.get("edits", [])
        try:
            buffer.record(params["revision"], edits, bool(params.get("dirty", True)))
        except ValueError as error:
            log.error("buffer %s: %s; fetching it again from the editor core", buffer.buffer_id, error)
            self._refetch(buffer)
        if buffer.subscribers:
            self._notify(buffer, edits, request.tag if request is not None and isinstance(request.tag, str) else None)
        self._event("changed", buffer)

    @staticmethod
    def _notify(buffer: SyncedBuffer, edits: list[dict[str, Any]], client: str | None) -> None:
        change = BufferChange(
            buffer_id=buffer.buffer_id, revision=buffer.revision, edits=[_text_edit(e) for e in edits], client=client
        )
        for handler in list(buffer.subscribers):
            try:
                handler(change)
            except Exception:
                log.exception("a subscriber of buffer %s failed on revision %d", buffer.buffer_id, buffer.revision)

    # -- helpers ------------------------------------------------------------------------------

    def _get(self, buffer_id: BufferId) -> SyncedBuffer:
        try:
            return self._buffers[buffer_id]
        except KeyError:
            raise NotFoundError(f"No open buffer {buffer_id!r}; open the file first.") from None

    def _event(self, what: str, buffer: SyncedBuffer) -> None:
        data = {"buffer_id": buffer.buffer_id, "path": str(buffer.path), "version": buffer.revision}
        self._announce(f"editor.{what}", {**data, "revision": buffer.revision})

    def _announce(self, topic: str, data: dict[str, Any]) -> None:
        if self._emit is not None:
            self._emit(Event(topic=topic, source="editor", data=data))


def _refusal(error: CoreError, buffer: SyncedBuffer) -> Exception:
    """The port's exception for a refusal of the core (its messages already say what to do)."""
    if error.code == _STALE:  # overlapping an edit made since, or older than the core's history
        current = error.data.get("revision", buffer.revision)
        return ValidationError(
            f"{buffer.path}: {error.message} Current revision: {current}; read the buffer again and retry."
        )
    if error.code == _CHANGED_ON_DISK:
        return ValidationError(
            f"{buffer.path} changed on disk since it was opened or last saved; nothing was written. "
            "Save with force=True to overwrite it, or close and reopen the buffer to take the disk's version."
        )
    if error.code == _UNREADABLE:
        return ValidationError(f"{buffer.path} is too large for the editor core: {error.message}")
    if error.code == _NO_SUCH_VIEW:
        return NotFoundError(f"The editor core has no view for buffer {buffer.buffer_id!r}: {error.message}")
    return ValidationError(error.message)


def _load(path: Path) -> SyncedBuffer:
    """A new buffer of ``path`` (read, decoded and split into lines in a worker thread: 50 MB take 0.3 s)."""
    text, disk = _read(path)
    return SyncedBuffer(BufferId(new_id()), path, text, disk)


def _read_alike(result: dict[str, Any], disk: tuple[int, int] | None, started: int) -> bool:
    """Whether the core read the text the host read: the same (mtime_ns, size), not written lately.

    A file written less than _RACY_NS before the reads began may have been written again between them
    without its (mtime_ns, size) showing it (timestamps are coarse): its text is then sent from the host.
    """
    if (result["disk_mtime_ns"], result["disk_size"]) != (disk or (None, None)):
        return False
    return disk is None or disk[0] < started - _RACY_NS


async def _discard(connection: CoreConnection, request: Request) -> None:
    """Close the view ``request`` (a ``new_view``) opened, if it opened one."""
    try:
        result = await request.response
        await connection.call("close_view", {"view_id": result["view_id"]})
    except (CoreError, TransportError):
        pass  # it opened none, or its core is gone with it


def _read(path: Path) -> tuple[str, tuple[int, int] | None]:
    """The file's text and (mtime_ns, size), both of the one file read; a missing file is empty."""
    try:
        with path.open("rb") as file:
            data = file.read()
            status = os.fstat(file.fileno())
    except FileNotFoundError:
        return "", None
    except OSError as error:
        raise ValidationError(f"Cannot open {path}: {error.strerror}.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationError(
            f"Cannot open {path} as UTF-8 text: byte {error.start} is not UTF-8 ({error.reason}). "
            "Convert the file to UTF-8 first."
        ) from None
    return text, (status.st_mtime_ns, status.st_size)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def _position(position: Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def _at(position: Position) -> str:
    return f"{position.line}:{position.character}"


def _text_edit(edit: dict[str, Any]) -> TextEdit:
    return TextEdit(start=Position(**edit["start"]), end=Position(**edit["end"]), text=edit["text"])
