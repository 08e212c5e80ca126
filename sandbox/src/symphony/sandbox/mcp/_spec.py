"""What the launcher is told: the server's argv, its confinement, and where to hand over its proxy's socket."""

from __future__ import annotations

import msgspec

from ..confine import ConfinementPolicy

__all__ = ["ServerSpec"]


class ServerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One MCP server to confine and become (JSON on the launcher's command line).

    ``handoff`` is a Unix socket path the runtime listens on: the launcher sends
    it the listening socket of the server's proxy, made inside the server's own
    network namespace, so that the host's proxy is the only thing the server can
    reach.  ``env`` is the server's whole environment, to which the launcher adds the proxy's address.
    """

    command: tuple[str, ...]
    env: dict[str, str]
    policy: ConfinementPolicy
    read_paths: tuple[str, ...]
    write_paths: tuple[str, ...]
    handoff: str
