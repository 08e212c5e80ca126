"""Bad input never stops the core: thousands of random lines, each answered with a documented error or a result."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .support import CoreProcess

#: Every code docs/editor.md lists; -32603 (a bug in the core) is deliberately absent.
_DOCUMENTED = {-32700, -32600, -32601, -32602, -32001, -32010, -32020, -32030}
_METHODS = ["ping", "edit", "get_content", "close_view", "nope", ""]
_SCALARS: list[Any] = [None, True, -1, 0, 1, 2**70, 1.5, "", "view-id-1", "😀", [], {}]


def _value(rng: random.Random, depth: int = 0) -> Any:
    if depth > 2 or rng.random() < 0.5:
        return rng.choice(_SCALARS)
    if rng.random() < 0.5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = ["view_id", "method", "params", "start", "end", "line", "character", "text", "revision", "force", "x"]
    return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


def _position(rng: random.Random) -> Any:
    return {"line": rng.choice([0, 1, 2, 5, -1, "0", None]), "character": rng.choice([0, 1, 2, 3, 9, -2, 1.0])}


def _request(rng: random.Random, request_id: int) -> bytes:
    kind = rng.random()
    if kind < 0.15:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(40))).replace(b"\n", b" ")
    if kind < 0.3:
        return json.dumps({"id": request_id, "method": rng.choice(_METHODS), "params": _value(rng)}).encode()
    edit = {
        "view_id": rng.choice(["view-id-1", "view-id-2", 1]),
        "method": rng.choice(["replace", "undo", "redo", "other", None]),
        "params": {"start": _position(rng), "end": _position(rng), "text": rng.choice(["", "x", "\n", "😀", 3])},
    }
    if rng.random() < 0.3:
        edit["revision"] = rng.choice([0, 1, 5, -1, None, "1"])
    return json.dumps({"id": request_id, "method": "edit", "params": edit}).encode()


def test_random_requests_each_get_one_documented_answer_and_no_traceback(tmp_path: Path) -> None:
    core = CoreProcess()
    try:
        opened = {"file_path": str(tmp_path / "f"), "content": "a😀b\r\n中\n\nz"}
        assert core.call("new_view", opened)["view_id"] == "view-id-1"
        rng = random.Random(16)
        for request_id in range(3000):
            core.send_raw(_request(rng, request_id) + b"\n")
            while "method" in (message := core.read()) and "id" not in message:
                pass
            assert "result" in message or message["error"]["code"] in _DOCUMENTED, message
        assert core.call("ping") == {}
        core.call("shutdown")
        assert core.stderr_after_exit() == b""
    finally:
        core.close()
