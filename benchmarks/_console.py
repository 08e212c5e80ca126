"""The login link a ``symphony ui`` subprocess announces, for the benchmarks and scripts/ui_screenshots.py."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Callable

__all__ = ["login_link"]


def login_link(
    process: subprocess.Popen[bytes], deadline: float, failure: Callable[[str], BaseException] = RuntimeError
) -> str:
    """The console's first line (its login link), read within ``deadline`` seconds; ``failure`` is raised if it
    exits or stays silent (a script passes ``SystemExit`` to end without a traceback)."""
    assert process.stdout is not None
    data = b""
    end = time.monotonic() + deadline
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout.fileno(), selectors.EVENT_READ)
        while b"\n" not in data:
            if time.monotonic() > end or process.poll() is not None:
                raise failure(f"symphony ui did not start: {data!r}")
            if selector.select(0.5):
                data += os.read(process.stdout.fileno(), 4096)
    return data.split(b"\n", 1)[0].decode().removeprefix("Symphony console: ")
