"""The stdin of ``symphony mcp serve`` (stdio), read in lines of at most :data:`MAX_LINE` characters.

The SDK reads a message per line with no bound: a client writing without a
newline makes the server buffer without end.  Here a longer line is cut into
pieces that each fail to parse and cost one error, so memory stays bounded.
Like the SDK's own claim, fd 0 is pointed at the null device while serving,
so a node's subprocess cannot read (and tear) the client's messages.
"""

from __future__ import annotations

import fcntl
import io
import os
import sys
from collections.abc import Callable
from typing import Final, TextIO

__all__ = ["MAX_LINE", "bounded_stdin"]

#: The largest message read over stdio, in characters: the SDK's bound on an HTTP request body (4 MiB).
MAX_LINE: Final = 4 * 1024 * 1024


class _BoundedLines(io.TextIOWrapper):
    def readline(self, size: int = -1, /) -> str:  # type: ignore[override]  # as typeshed's TextIOWrapper
        return super().readline(MAX_LINE if size < 0 else min(size, MAX_LINE))


def bounded_stdin() -> tuple[io.TextIOWrapper, Callable[[], None]]:
    """The client's stream, read in bounded lines, and the call that gives fd 0 back to it.

    A ``sys.stdin`` that is not fd 0 (a test's runner replaced it) is read as it is, and fd 0 left alone.
    """
    if not _on_fd_0(sys.stdin):
        return _BoundedLines(sys.stdin.buffer, encoding="utf-8", errors="replace"), lambda: None
    private = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)
    # Never closed: the SDK's reader thread may still block on it after the transport exits.
    stream = _BoundedLines(os.fdopen(private, "rb", closefd=False), encoding="utf-8", errors="replace")

    def restore() -> None:
        os.dup2(private, 0)

    return stream, restore


def _on_fd_0(stream: TextIO) -> bool:
    try:
        return stream.fileno() == 0
    except (AttributeError, OSError, ValueError):
        return False
