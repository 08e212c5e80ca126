"""The ports a host resolves, and the hook that provides each."""

from __future__ import annotations

from typing import Final

from symphony.hookspecs.ports import PORT_PROTOCOLS

__all__ = ["PORTS"]

#: port name -> provider hook name, in the order doctor lists them (the SDK's registry order).
PORTS: Final[dict[str, str]] = {name: f"symphony_provide_{name}" for name in PORT_PROTOCOLS}
