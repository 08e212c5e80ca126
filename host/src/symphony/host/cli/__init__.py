"""The ``symphony`` command line.  ``main`` is the console-script entry point."""

from ._app import cli, main

__all__ = ["cli", "main"]
