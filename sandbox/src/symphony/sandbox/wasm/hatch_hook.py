"""A hatchling build hook that compiles an extension's Python guest into a wasm component.

A wasm extension's repository holds source only; its wheel build runs
componentize-py (cached outside the tree by the sources' hash, in
``$SYMPHONY_WASM_BUILD_CACHE`` or ``~/.cache/symphony/wasm-build``) and puts the
component into the wheel.  In the extension's ``pyproject.toml``::

    [build-system]
    requires = ["hatchling", "componentize-py", "symphony-hookspecs", "symphony-sandbox"]

    [tool.hatch.build.targets.wheel.hooks.custom]
    path = "hatch_build.py"          # one line: from symphony.sandbox.wasm.hatch_hook import ComponentBuildHook
    package = "my_extension"         # the package under src/ holding guest/ and receiving the .wasm
    module = "my_guest"              # guest/my_guest.py, built into my_extension/my_guest.wasm
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

__all__ = ["ComponentBuildHook"]


class ComponentBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        from . import build_python_component

        package, module = self.config.get("package"), self.config.get("module")
        if not isinstance(package, str) or not isinstance(module, str):
            raise ValueError(
                "the wasm build hook needs `package` and `module` in [tool.hatch.build.targets.wheel.hooks.custom]"
            )
        directory = Path(self.root) / "src" / package
        cache = os.environ.get("SYMPHONY_WASM_BUILD_CACHE") or Path.home() / ".cache" / "symphony" / "wasm-build"
        built = build_python_component(directory / "guest", module, cache)
        build_data["force_include"][str(built)] = f"{package}/{module}.wasm"
