"""Sample wasm extension as a hand-written core module (WAT), following the core-module ABI.

The host compiles ``stats.wat`` itself (Wasmtime reads WAT), so the package ships text only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["MANIFEST", "MODULE"]

PACKAGE_DIR: Final = Path(__file__).resolve().parent
#: The module's source, loadable as is by the wasm runtime.
MODULE: Final = PACKAGE_DIR / "stats.wat"
MANIFEST: Final = PACKAGE_DIR / "symphony-extension.toml"
