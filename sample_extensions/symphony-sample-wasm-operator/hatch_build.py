"""Wheel build hook: compile the Python guest into ``notes_operator.wasm`` with componentize-py.

The repository holds source only; the 18 MB component is built here and cached outside
the tree (``$SYMPHONY_WASM_BUILD_CACHE``, default ``~/.cache/symphony/wasm-build``)
keyed by the hash of the sources, so rebuilding an unchanged wheel costs nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ComponentBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        from symphony.sandbox.wasm import build_python_component

        package = Path(self.root) / "src" / "symphony_sample_wasm_operator"
        cache = os.environ.get("SYMPHONY_WASM_BUILD_CACHE") or Path.home() / ".cache" / "symphony" / "wasm-build"
        built = build_python_component(package / "guest", "notes_operator", cache)
        build_data["force_include"][str(built)] = "symphony_sample_wasm_operator/notes_operator.wasm"
