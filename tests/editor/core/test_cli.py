"""``symphony editor-core``'s click command runs the same loop as ``python -m``."""

from __future__ import annotations

import sys

from .support import CoreProcess

_RUN_COMMAND = "from symphony.builtin_plugins.editor.core.cli import editor_core_command; editor_core_command()"


def test_the_click_command_serves_the_protocol_until_shutdown() -> None:
    core = CoreProcess(sys.executable, "-c", _RUN_COMMAND)
    try:
        assert core.call("ping", {}) == {}
        assert core.call("shutdown") is None
        assert core.wait() == 0
    finally:
        core.close()
