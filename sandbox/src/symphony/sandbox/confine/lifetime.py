"""A worker dies with the process that started it, even when that process is SIGKILLed.

Nothing else ends a worker whose host was killed outright: its stdin stays open
as long as a grandchild holds it, and a confined worker stuck in extension code
never reads it.  ``PR_SET_PDEATHSIG`` asks the kernel to SIGKILL it instead.
"""

from __future__ import annotations

import os
import signal
from typing import Final

from ._libc import check, libc

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG: Final = 1


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when its parent dies; exit at once if ``parent_pid`` already has.

    The kernel watches the thread that forked us (the host's event loop thread), and the
    setting survives the confinement that follows (no set-user-ID exec, no new credentials).
    ``parent_pid`` 0 means unknown: the re-parenting check is skipped.
    """
    check(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if parent_pid and os.getppid() != parent_pid:  # the parent died before the call: nobody will signal us
        os._exit(1)
