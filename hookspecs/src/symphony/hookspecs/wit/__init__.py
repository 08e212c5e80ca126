"""The WIT world untrusted extensions implement to run in Symphony's Wasmtime runtime.

Shipped as package data so an author can point ``componentize-py -d`` at it without
copying it: ``componentize-py -d $(python -c 'from symphony.hookspecs.wit import WIT_DIR;
print(WIT_DIR)') -w extension componentize app -o app.wasm``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["HOST_INTERFACE", "PACKAGE", "WIT_DIR", "WIT_FILE", "WORLD"]

#: The directory holding the WIT package (pass it to ``componentize-py -d``).
WIT_DIR: Final = Path(__file__).resolve().parent
#: The one WIT file of the package.
WIT_FILE: Final = WIT_DIR / "symphony-extension.wit"
#: The WIT package and version every component is built against.
PACKAGE: Final = "symphony:extension@0.1.0"
#: The world an extension targets (``componentize-py -w extension``).
WORLD: Final = "extension"
#: The fully qualified name of the host interface the runtime links.
HOST_INTERFACE: Final = "symphony:extension/host@0.1.0"
