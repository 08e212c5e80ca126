"""The ``symphony`` command line.  ``main`` is the console-script entry point.

``cli`` (the click group) is imported on first use, so that ``main`` can make
start-up collect garbage rarely (see ``_startup``) before click and the
commands are imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._startup import begin_startup

if TYPE_CHECKING:
    from ._app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; user errors exit non-zero with one line and no traceback."""
    begin_startup()
    from ._app import main as run

    run(argv)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from ._app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
