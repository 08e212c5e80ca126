"""Fuzz the editor core's request handling: any line gets one JSON error or result, never an internal error.

Input: up to 64 lines, each handled by one ``Core`` in order, after the harness
opened a view (``view-id-1``) on a small non-ASCII text.  Inputs naming
``new_view`` or ``save`` are skipped: a fuzzed path could read or write any file.
"""

from __future__ import annotations

import json

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.builtin_plugins.editor.core.errors import INTERNAL_ERROR
    from symphony.builtin_plugins.editor.core.server import Core

_OPEN = json.dumps(
    {"id": 0, "method": "new_view", "params": {"file_path": "/nonexistent/fuzz.txt", "content": "a😀b\r\n中\n\nz"}}
).encode()


def target(data: bytes) -> None:
    if b"new_view" in data or b"save" in data:
        return
    core = Core()
    core.handle(_OPEN)
    for line in data.split(b"\n")[:64]:
        replies = core.handle(line).splitlines()
        assert replies, "every request line gets a response"
        for reply in replies:
            message = json.loads(reply)
            if "error" in message:
                assert message["error"]["code"] != INTERNAL_ERROR, message
        if core.stopping:
            return


if __name__ == "__main__":
    fuzz(target)
