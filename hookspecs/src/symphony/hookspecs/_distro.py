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
from ._exceptions import ConfigurationError, PermissionSyntaxError, VerificationError
from ._permissions import parse_permission
from ._signatures import parse_public_key

__all__ = ["DistroProfile", "PermissionPolicy"]

_KINDS = ("file", "network", "system", "model")


class PermissionPolicy(Base, frozen=True):
    """A distribution's permission policy: it bounds what users grant (see ``docs/permissions.md``).

    - ``deny``: whole categories (``"network"``) or permission texts
      (``"system:processes"``, ``"file:write:/etc/**"``) no extension gets,
      whatever is declared, granted or trusted.
    - ``trusted_publishers``: extensions whose manifest ``author`` is one of
      these get what they declare without grants (and may run in-process).
    - ``publisher_keys``: publisher -> Ed25519 keys (``ed25519:...``).  A
      trusted publisher listed here is trusted only for a distribution the
      registry installed with a valid signature by one of these keys (its
      ``.dist-info`` carries the signature); unlisted ones are trusted by the
      manifest's word, as before.
    - ``grants``: extension name (or ``"*"`` for every extension) -> permission
      texts granted by the distribution; they still must be declared to apply.
    - ``user_grants``: whether ``symphony ext grant`` grants count at all.
    - ``user_trust``: whether the user may mark an extension trusted.

    The policy is not a settings layer: a user's ``symphony.toml`` can add
    denials but cannot lift the profile's.
    """

    deny: tuple[str, ...] = ()
    trusted_publishers: tuple[str, ...] = ()
    publisher_keys: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    grants: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    user_grants: bool = True
    user_trust: bool = True

    def __post_init__(self) -> None:
        for entry in self.deny:
            if entry not in _KINDS:
                try:
                    parse_permission(entry)
                except PermissionSyntaxError as error:
                    raise PermissionSyntaxError(
                        f"permissions.deny entry {entry!r} is neither a category ({', '.join(_KINDS)}) "
                        f"nor a permission: {error}"
                    ) from None
        for publisher, keys in self.publisher_keys.items():
            for key in keys:
                try:
                    parse_public_key(key)
                except VerificationError as error:
                    raise ConfigurationError(f"permissions.publisher_keys[{publisher!r}]: {error}") from None
        for extension, texts in self.grants.items():
            for text in texts:
                try:
                    parse_permission(text)
                except PermissionSyntaxError as error:
                    raise PermissionSyntaxError(f"permissions.grants[{extension!r}]: {error}") from None


class DistroProfile(Base, frozen=True):
    """What a distribution enables, blocks, replaces and defaults.

    - ``enable``: if set, the only non-essential plugins loaded (by name).
    - ``block``: plugins never loaded, e.g. a builtin this profile replaces.
    - ``providers``: port name -> plugin name that must provide it.
    - ``settings``: default settings (same shape as ``symphony.toml``); the
      user's file, environment and ``--set`` still override them.
    - ``sandbox``: the sandbox policy section (see ``[sandbox]`` settings).
    - ``permissions``: the :class:`PermissionPolicy` every extension is held to.
    """

    name: str
    description: str = ""
    enable: tuple[str, ...] | None = None
    block: tuple[str, ...] = ()
    providers: dict[str, str] = msgspec.field(default_factory=dict)
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    sandbox: dict[str, Any] = msgspec.field(default_factory=dict)
    permissions: PermissionPolicy = msgspec.field(default_factory=PermissionPolicy)

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
