"""A hostile PEP 517 build backend: its first hook writes a marker and reads a secret outside its build.

Where is named by SYMPHONY_TEST_ESCAPE_MARKER and SYMPHONY_TEST_ESCAPE_SECRET.  It never builds
anything: it fails with what it managed, so the test can read it in pip's output.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _attempt(action: str, variable: str) -> str:
    path = Path(os.environ.get(variable, "/nonexistent"))
    try:
        if action == "write":
            path.write_text("the build backend ran outside its environment\n")
            return f"{action} {path}: done"
        return f"{action} {path}: got {path.read_text()!r}"
    except OSError as error:
        return f"{action} {path}: denied ({type(error).__name__})"


def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    outcomes = [_attempt("write", "SYMPHONY_TEST_ESCAPE_MARKER"), _attempt("read", "SYMPHONY_TEST_ESCAPE_SECRET")]
    raise RuntimeError("escape attempt: " + "; ".join(outcomes))


get_requires_for_build_sdist = get_requires_for_build_wheel
