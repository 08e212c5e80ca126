"""``symphony editor-core``: the editor core on this terminal's stdin/stdout, for users and tests.

The bridge starts ``python -m symphony.builtin_plugins.editor.core`` instead, which
skips the CLI's imports; both run the same ``main``.
"""

from __future__ import annotations

import click

__all__ = ["editor_core_command"]


@click.command("editor-core")
def editor_core_command() -> None:
    """Run the editor core: xi-style JSON-RPC, one JSON object per line on stdin/stdout (see docs/editor.md)."""
    from .server import main

    raise SystemExit(main())
