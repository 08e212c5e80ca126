"""The core's request loop: one JSON object per line in, responses and ``update`` notifications out.

Requests are handled strictly in arrival order by one thread; an edit's ``update``
notification is written before its response, in the same write.  Nothing a client
sends stops the loop: a bad line, a line over ``MAX_LINE`` bytes or a request a
handler rejects gets an error response and the next line is read.  EOF on stdin or
``shutdown`` ends the process with status 0.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import IO, Any

import msgspec

from . import disk
from .errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    NO_SUCH_VIEW,
    PARSE_ERROR,
    RpcError,
)
from .rope import Rope
from .views import View

__all__ = ["MAX_LINE", "Core", "main"]

MAX_LINE = 64 * 1024 * 1024

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

Params = dict[str, Any]


_KINDS: dict[type, str] = {str: "a string", int: "an integer", bool: "true or false", dict: "an object"}


def _field(params: Params, name: str, kind: type, *, required: bool = True) -> Any:
    """``params[name]`` if it has the right JSON type; an invalid-params error otherwise.

    msgspec decodes JSON to exactly str, int, bool, float, list, dict or None, so
    the type is compared by identity (which also keeps a bool from passing as an int);
    it refuses a lone surrogate, so every str here encodes to UTF-8 when saved.
    """
    value = params.get(name)
    if type(value) is kind or (value is None and not required):
        return value
    wanted = _KINDS[kind]
    got = "missing" if value is None else f"a JSON {type(value).__name__}"
    raise RpcError(INVALID_PARAMS, f"params.{name} must be {wanted}, got {got}.")


def _position(params: Params, name: str) -> tuple[int, int]:
    value = params.get(name)
    if type(value) is dict:
        line, character = value.get("line"), value.get("character")
        if type(line) is int and type(character) is int and line >= 0 and character >= 0:
            return line, character
    raise RpcError(
        INVALID_PARAMS, f'params.{name} must be {{"line": int >= 0, "character": int >= 0}}, got {value!r:.200}.'
    )


class Core:
    """The views and the method table; ``handle`` turns one request line into the bytes to write back."""

    def __init__(self) -> None:
        self.views: dict[str, View] = {}
        self.stopping = False
        self._next_view = 0
        self._methods: dict[str, Callable[[Params, list[bytes]], Any]] = {
            "ping": lambda params, out: {},
            "new_view": self._new_view,
            "edit": self._edit,
            "save": self._save,
            "get_content": self._get_content,
            "close_view": self._close_view,
            "shutdown": self._shutdown,
        }

    def handle(self, line: bytes) -> bytes:
        out: list[bytes] = []
        request_id: int | None = None
        try:
            try:
                message = _decode(line)
            except msgspec.DecodeError as error:
                raise RpcError(PARSE_ERROR, f"The line is not JSON ({error}); send one JSON object per line.") from None
            if not isinstance(message, dict):
                raise RpcError(INVALID_REQUEST, "A request must be a JSON object with id, method and params.")
            request_id = message.get("id")
            if type(request_id) is not int:
                request_id = None
                raise RpcError(INVALID_REQUEST, "The request's id must be an integer.")
            method = message.get("method")
            if not isinstance(method, str):
                raise RpcError(INVALID_REQUEST, "The request's method must be a string.")
            params = message.get("params")
            if params is None:
                params = {}
            elif not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, "The request's params must be a JSON object.")
            handler = self._methods.get(method)
            if handler is None:
                known = ", ".join(sorted(self._methods))
                raise RpcError(METHOD_NOT_FOUND, f"Unknown method {method!r:.100}; the core knows {known}.")
            result = handler(params, out)
            if not out:
                return _encode({"id": request_id, "result": result}) + b"\n"
            out.append(_encode({"id": request_id, "result": result}))
        except RpcError as error:
            out.append(_encode({"id": request_id, "error": error.body()}))
        except Exception as error:  # a bug here must not take the buffers down with it
            traceback.print_exc(file=sys.stderr)
            body = {"code": INTERNAL_ERROR, "message": f"Internal error in the editor core: {error!r:.300}."}
            out.append(_encode({"id": request_id, "error": body}))
        out.append(b"")
        return b"\n".join(out)

    def _view(self, params: Params) -> tuple[str, View]:
        view_id: str = _field(params, "view_id", str)
        try:
            return view_id, self.views[view_id]
        except KeyError:
            raise RpcError(NO_SUCH_VIEW, f"No view {view_id!r:.100}; open the file with new_view first.") from None

    def _new_view(self, params: Params, out: list[bytes]) -> dict[str, Any]:
        path = os.path.abspath(_field(params, "file_path", str))
        if "content" in params and params["content"] is not None:
            text = _field(params, "content", str)
            revision = _field(params, "revision", int, required=False) or 0
            dirty = bool(_field(params, "dirty", bool, required=False))
            mtime = _field(params, "disk_mtime_ns", int, required=False)
            size = _field(params, "disk_size", int, required=False)
            if revision < 0:
                raise RpcError(INVALID_PARAMS, f"params.revision must be >= 0, got {revision}.")
            baseline = None if mtime is None or size is None else (mtime, size)
            rope = Rope(text)
        else:
            data, baseline = disk.read_file(path)
            rope = Rope.from_pieces(disk.decode(data, path))
            del data
            revision, dirty = 0, False
        self._next_view += 1
        view_id = f"view-id-{self._next_view}"
        self.views[view_id] = view = View(path, rope, revision, dirty, baseline)
        mtime, size = baseline if baseline is not None else (None, None)
        return {
            "view_id": view_id,
            "revision": revision,
            "dirty": dirty,
            "disk_mtime_ns": mtime,
            "disk_size": size,
            "lines": view.rope.line_count,
            "length_utf16": view.rope.length_utf16,
        }

    def _edit(self, params: Params, out: list[bytes]) -> dict[str, int]:
        view_id, view = self._view(params)
        method = _field(params, "method", str)
        inner = _field(params, "params", dict, required=False) or {}
        edit: dict[str, Any] | None
        if method == "replace":
            start, end, text = _position(inner, "start"), _position(inner, "end"), _field(inner, "text", str)
            edit = view.replace(start, end, text, _field(params, "revision", int, required=False))
        elif method == "undo":
            edit = view.undo()
        elif method == "redo":
            edit = view.redo()
        else:
            raise RpcError(INVALID_PARAMS, f"Unknown edit method {method!r:.100}; use replace, undo or redo.")
        if edit is not None:
            update = {"view_id": view_id, "revision": view.revision, "edits": [edit], "dirty": view.dirty}
            out.append(_encode({"method": "update", "params": update}))
        return {"revision": view.revision}

    def _save(self, params: Params, out: list[bytes]) -> dict[str, int]:
        _, view = self._view(params)
        force = bool(_field(params, "force", bool, required=False))
        view.baseline = disk.save_chunks(view.path, view.rope.chunks(), view.baseline, force)
        view.dirty = False
        mtime, size = view.baseline
        return {"revision": view.revision, "disk_mtime_ns": mtime, "disk_size": size}

    def _get_content(self, params: Params, out: list[bytes]) -> dict[str, Any]:
        _, view = self._view(params)
        return {"text": str(view.rope), "revision": view.revision}

    def _close_view(self, params: Params, out: list[bytes]) -> None:
        view_id, _ = self._view(params)
        del self.views[view_id]

    def _shutdown(self, params: Params, out: list[bytes]) -> None:
        self.stopping = True


def _skip_rest_of_line(stdin: IO[bytes]) -> bool:
    """Discard up to the next newline; False at EOF."""
    while True:
        chunk = stdin.readline(1 << 20)
        if not chunk:
            return False
        if chunk.endswith(b"\n"):
            return True


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    core = Core()
    too_long = _encode(
        {
            "id": None,
            "error": {
                "code": PARSE_ERROR,
                "message": f"The line is over {MAX_LINE >> 20} MiB; split the content or edit it in parts.",
            },
        }
    )
    while True:
        line = stdin.readline(MAX_LINE + 1)
        if not line:
            return 0
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            more = _skip_rest_of_line(stdin)
            stdout.write(too_long + b"\n")
            stdout.flush()
            if not more:
                return 0
            continue
        stdout.write(core.handle(line))
        stdout.flush()
        if core.stopping:
            return 0


def main() -> int:
    """Serve on stdin/stdout until EOF or shutdown; a closed stdout (the bridge went away) also ends it."""
    try:
        return serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
