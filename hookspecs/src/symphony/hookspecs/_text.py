"""Text an extension wrote, made safe to show in the host's log or terminal."""

from __future__ import annotations

from typing import Final

__all__ = ["one_line"]

#: C0 and C1 controls but the tab: line breaks would forge log lines, escapes would drive the terminal.
_CONTROLS: Final = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c != 0x09}


def one_line(text: str) -> str:
    """``text`` as one line: every control character but the tab shown as ``\\xNN``, not obeyed."""
    return text.translate(_CONTROLS)
