"""The Symphony kernel: plugin manager, discovery, lifecycle, settings and profiles.

Names are imported on first use, so that ``symphony --version`` does not pay
for the whole kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._calls import Outcome
    from ._distros import ActiveDistro
    from ._host import Host, HostHealth, HostState, PortReport
    from ._index import EntryPointIndex
    from ._plugins import PluginRecord
    from ._ports import PORTS
    from ._profiling import Profiler, ProfileRow
    from ._settings import ComponentSettings, Settings, load_settings

__all__ = [
    "PORTS",
    "ActiveDistro",
    "ComponentSettings",
    "EntryPointIndex",
    "Host",
    "HostHealth",
    "HostState",
    "Outcome",
    "PluginRecord",
    "PortReport",
    "ProfileRow",
    "Profiler",
    "Settings",
    "load_settings",
]

_HOME = {
    "Outcome": "_calls",
    "ActiveDistro": "_distros",
    "Host": "_host",
    "HostHealth": "_host",
    "HostState": "_host",
    "PortReport": "_host",
    "EntryPointIndex": "_index",
    "PluginRecord": "_plugins",
    "PORTS": "_ports",
    "ProfileRow": "_profiling",
    "Profiler": "_profiling",
    "ComponentSettings": "_settings",
    "Settings": "_settings",
    "load_settings": "_settings",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
