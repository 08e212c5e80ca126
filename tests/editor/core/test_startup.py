"""The core starts quickly because it imports neither the host, pluggy, the SDK nor the CLI."""

from __future__ import annotations

import subprocess
import sys

_HEAVY = ("pluggy", "symphony.hookspecs", "symphony.host", "click", "asyncio")


def test_the_core_imports_none_of_the_host_or_sdk_machinery() -> None:
    code = (
        "import sys, symphony.builtin_plugins.editor.core.server\n"
        f"print(sorted(m for m in sys.modules if m in {_HEAVY!r} or m.startswith({_HEAVY!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
