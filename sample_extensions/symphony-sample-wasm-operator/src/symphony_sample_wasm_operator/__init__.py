"""Sample wasm operator written in Python: its guest source, manifest and (once built) component.

Nothing here runs in the host: the host reads ``symphony-extension.toml`` and loads the
component ``notes_operator.wasm`` into its Wasmtime runtime. The wheel build compiles the
component from ``guest/`` with componentize-py (see ``hatch_build.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["APP_MODULE", "COMPONENT", "GUEST_DIR", "MANIFEST"]

PACKAGE_DIR: Final = Path(__file__).resolve().parent
#: The guest's Python source, the input of componentize-py.
GUEST_DIR: Final = PACKAGE_DIR / "guest"
#: The guest module defining ``WitWorld``.
APP_MODULE: Final = "notes_operator"
#: Where an installed wheel keeps the built component (absent in a source checkout).
COMPONENT: Final = PACKAGE_DIR / "notes_operator.wasm"
MANIFEST: Final = PACKAGE_DIR / "symphony-extension.toml"
