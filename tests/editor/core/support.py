"""A real editor-core subprocess, spoken to line by line as the bridge does.

:class:`CoreProcess` starts ``python -m symphony.builtin_plugins.editor.core``;
``exchange`` sends a request and returns the notifications written before its
response and the response.  Reads wait with a deadline, so a core that stops
answering fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Generous: the suite runs on a busy 2-core machine; this bounds a hang, it does not measure speed.
DEADLINE = 60.0


class CoreProcess:
    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        command = args or (sys.executable, "-m", "symphony.builtin_plugins.editor.core")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd
        )
        self._buffer = b""
        self._next_id = 0

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, method: str, params: Any = None, **extra: Any) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, **extra}
        if params is not None:
            message["params"] = params
        self.send_raw(json.dumps(message).encode() + b"\n")
        return self._next_id

    def read_line(self) -> bytes:
        """The next line from the core's stdout, waiting up to DEADLINE."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + DEADLINE
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the core wrote no line within {DEADLINE} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise AssertionError(f"the core closed stdout: {self.stderr_after_exit()!r}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def read(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.read_line())
        return message

    def exchange(self, method: str, params: Any = None, **extra: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Notifications written before the response, and the response."""
        request_id = self.send(method, params, **extra)
        notifications = []
        while "id" not in (message := self.read()):
            notifications.append(message)
        assert message["id"] == request_id, message
        return notifications, message

    def call(self, method: str, params: Any = None) -> Any:
        """The result of a request that must succeed."""
        _, response = self.exchange(method, params)
        assert "result" in response, response
        return response["result"]

    def error(self, method: str, params: Any = None) -> dict[str, Any]:
        """The error of a request that must fail."""
        _, response = self.exchange(method, params)
        assert "error" in response, response
        error: dict[str, Any] = response["error"]
        return error

    def wait(self) -> int:
        return self.process.wait(timeout=DEADLINE)

    def stderr_after_exit(self) -> bytes:
        assert self.process.stderr is not None
        self.process.wait(timeout=DEADLINE)
        return self.process.stderr.read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def replace(view_id: str, start: tuple[int, int], end: tuple[int, int], text: str, **extra: Any) -> dict[str, Any]:
    """``edit`` params for a replace; ``extra`` adds e.g. ``revision``."""
    return {
        "view_id": view_id,
        "method": "replace",
        "params": {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
            "text": text,
        },
        **extra,
    }


def content(core: CoreProcess, view_id: str) -> str:
    text: str = core.call("get_content", {"view_id": view_id})["text"]
    return text
