"""Start-up's garbage: collected rarely while the command starts, as usual afterwards.

Imports and the host's load allocate tens of thousands of objects that live as long
as the process; the collector scanning them again and again cost 15-30 ms of each
command.  ``main`` (the package's) raises the first threshold before click and the
commands are imported; once the host has loaded, the usual thresholds return.

Start-up's objects are not left frozen (``gc.freeze``): a frozen object is a root the
collector never looks through, so a later cycle through one (a wasm store registered
with the runtime the host loaded) would never be freed.  When start-up ends they are
handed to the oldest generation unscanned (frozen, then at once unfrozen), as they would
be after surviving two collections: left in the youngest, the first collection with the
usual thresholds scanned all of them (~25,000 objects, ~5 ms of every command) and
the next one again.  Only at exit, after every other exit hook (``end_process``), is
what is still alive frozen: the interpreter's shutdown would otherwise scan it all
twice (10-15 ms of every command).
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["begin_startup", "end_process", "end_startup", "restore_thresholds"]

#: The collector's thresholds while start-up runs: a collection every 100,000 allocations, not 700.
_STARTUP_THRESHOLDS: Final = (100_000, 10, 10)
_usual_thresholds: list[tuple[int, int, int]] = []  # the thresholds to restore, while start-up runs


def begin_startup() -> None:
    if not _usual_thresholds:
        _usual_thresholds.append(gc.get_threshold())
        gc.set_threshold(*_STARTUP_THRESHOLDS)


def end_startup() -> None:
    """Start-up is over (the host has loaded): its objects count as old, and garbage is collected as usual again.

    A caller's own frozen objects (a freeze count already) stay frozen: unfreezing would release them.
    """
    if _usual_thresholds and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()  # the permanent generation goes to the oldest one; neither scans an object
    restore_thresholds()


def restore_thresholds() -> None:
    """The usual thresholds again."""
    if _usual_thresholds:
        gc.set_threshold(*_usual_thresholds.pop())


def end_process() -> None:
    """The last exit hook: collect garbage once, then spare the interpreter's shutdown the rest.

    The collection runs the finalizers of what became garbage, as shutdown would; what is
    still alive (modules, plugins, the host) is frozen out of shutdown's collections.  Its
    objects are freed or not as at any exit (Python promises no ``__del__`` then).
    """
    gc.collect()
    gc.freeze()
