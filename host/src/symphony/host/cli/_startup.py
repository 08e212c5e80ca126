"""Start-up's garbage: collected rarely while the command starts, then frozen out of every later collection.

Imports and the host's load allocate tens of thousands of objects that live as long
as the process; the collector scanning them again and again cost 15-30 ms of each
command.  ``main`` (the package's) raises the first threshold before click and the
commands are imported; once the host has loaded, what start-up built is frozen and
the usual thresholds return.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["begin_startup", "end_startup", "restore_thresholds"]

#: The collector's thresholds while start-up runs: a collection every 100,000 allocations, not 700.
_STARTUP_THRESHOLDS: Final = (100_000, 10, 10)
_usual_thresholds: list[tuple[int, int, int]] = []  # the thresholds to restore, while start-up runs


def begin_startup() -> None:
    if not _usual_thresholds:
        _usual_thresholds.append(gc.get_threshold())
        gc.set_threshold(*_STARTUP_THRESHOLDS)


def end_startup() -> None:
    """Start-up is over (the host has loaded): collect garbage as usual again, but never scan start-up's objects.

    They live as long as the process (modules, classes, plugins, the host), so they are
    frozen out of every later collection; otherwise the first one would scan them all
    (~17 ms).  A cycle that became garbage during start-up stays (a few hundred objects).
    """
    if _usual_thresholds:
        gc.freeze()
        restore_thresholds()


def restore_thresholds() -> None:
    """The usual thresholds again, without freezing (a command that never loaded the host)."""
    if _usual_thresholds:
        gc.set_threshold(*_usual_thresholds.pop())
