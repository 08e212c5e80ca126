"""The ``symphony`` command line.  ``main`` is the console-script entry point.

``cli`` (the click group) is imported on first use, so that ``main`` can make
start-up collect garbage rarely (see ``_startup``) before click and the
commands are imported.
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._startup import begin_startup, end_process

if TYPE_CHECKING:
    from ._app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; user errors exit non-zero with one line and no traceback."""
    if getattr(sys.modules.get("__main__"), "main", None) is main:
        # The console script (or ``python -c "...; main()"``): the process exits after it.  Registered
        # before anything is imported, the hook runs after every other exit hook (a wasm runtime's
        # close collects its stores' cycles), so it freezes only what they leave.  A caller that goes on
        # after main (a test) is left alone.
        atexit.register(end_process)
    begin_startup()
    from ._app import main as run

    run(argv)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from ._app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
