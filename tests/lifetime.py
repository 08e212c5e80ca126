"""Whether a child process still runs, for the tests that kill its parent and wait for it to die."""

from __future__ import annotations

import time
from pathlib import Path


def alive(pid: int) -> bool:
    """Running (a zombie waiting for whoever adopted it to reap it is dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def wait_until_dead(pid: int, deadline_s: float = 10.0) -> bool:
    """Poll until ``pid`` is dead; False if it still runs after ``deadline_s`` seconds."""
    deadline = time.monotonic() + deadline_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
