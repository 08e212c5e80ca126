"""Distribution profiles: how an integrator shapes a Symphony distribution.

A profile is published under the ``symphony.distros`` entry-point group,
pointing at a :class:`DistroProfile` instance.  Selection is deterministic:
the ``distro`` setting, else the single installed profile, else an error that
lists the candidates.  There is no "first one found wins".
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import Base

__all__ = ["DistroProfile"]


class DistroProfile(Base, frozen=True):
    """What a distribution enables, blocks, replaces and defaults.

    - ``enable``: if set, the only non-essential plugins loaded (by name).
    - ``block``: plugins never loaded, e.g. a builtin this profile replaces.
    - ``providers``: port name -> plugin name that must provide it.
    - ``settings``: default settings (same shape as ``symphony.toml``); the
      user's file, environment and ``--set`` still override them.
    - ``sandbox``: the sandbox policy section (see ``[sandbox]`` settings).
    """

    name: str
    description: str = ""
    enable: tuple[str, ...] | None = None
    block: tuple[str, ...] = ()
    providers: dict[str, str] = msgspec.field(default_factory=dict)
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    sandbox: dict[str, Any] = msgspec.field(default_factory=dict)

    def setting_defaults(self) -> dict[str, Any]:
        """The profile as a settings layer: its settings plus plugins, ports and sandbox."""
        layer: dict[str, Any] = dict(self.settings)
        plugins = dict(layer.get("plugins", {}))
        if self.enable is not None:
            plugins["enable"] = list(self.enable)
        if self.block:
            plugins["block"] = sorted({*plugins.get("block", ()), *self.block})
        if plugins:
            layer["plugins"] = plugins
        if self.providers:
            layer["ports"] = {**layer.get("ports", {}), **self.providers}
        if self.sandbox:
            layer["sandbox"] = {**layer.get("sandbox", {}), **self.sandbox}
        return layer
