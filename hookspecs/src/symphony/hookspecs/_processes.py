"""Child processes that die with the process that started them, and exits described in words.

Nothing else ends a child whose host was killed outright (SIGKILL leaves no
chance to stop it): its pipes stay open as long as a grandchild holds them.
On Linux ``PR_SET_PDEATHSIG`` asks the kernel to SIGKILL the child instead.
Elsewhere these are no-ops: the child ends when it notices its pipes close.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Final

__all__ = ["describe_exit", "die_with_parent", "dying_with_parent"]

_PR_SET_PDEATHSIG: Final = 1

#: Runs before a child's own command: arm PR_SET_PDEATHSIG, refuse to start when the starter is
#: already gone (the child was re-parented), then exec the command (same pid; the setting survives exec).
_LAUNCHER: Final = (
    "import ctypes, os, signal, sys\n"
    "if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0) != 0: sys.exit('prctl failed')\n"
    "if os.getppid() != int(sys.argv[1]): sys.exit('the process that started this one is gone')\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def die_with_parent(parent_pid: int = 0) -> None:
    """Have the kernel SIGKILL this process when its parent dies; exit at once if ``parent_pid`` already has.

    Call it first thing in a child.  The kernel watches the *thread* that
    forked the child, so start children from a thread that lives as long as
    the parent (the event loop's).  ``parent_pid`` 0 skips the re-parenting
    check (the parent's pid is unknown).

    Raises:
        OSError: the kernel refused (never expected on Linux).
    """
    if sys.platform != "linux":
        return
    import ctypes  # here, not at the top: every importer of the SDK would pay for it

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"prctl(PR_SET_PDEATHSIG): {os.strerror(number)}")
    if parent_pid and os.getppid() != parent_pid:  # the parent died before the call: nobody will signal us
        os._exit(1)


def dying_with_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` run through a small launcher that makes it die with this process (``python -I -S``: a few ms).

    For children whose code is not ours (a language server, a model runtime):
    the launcher arms the signal and then execs ``argv[0]`` (looked up on PATH).
    Off Linux, ``argv`` unchanged.
    """
    if sys.platform != "linux":
        return list(argv)
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), *argv]


def describe_exit(returncode: int | None) -> str:
    """How a child ended, completing "the worker ...": ``was killed by SIGKILL``, ``exited with status 3``."""
    if returncode is None:
        return "ended"
    if returncode < 0:
        number = -returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else f"signal {number}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"
