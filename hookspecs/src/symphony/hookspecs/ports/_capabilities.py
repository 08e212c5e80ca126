"""Reaching a port through its Protocol, with a clear error when the provider lacks a method.

Callers use a port only through its Protocol; a provider written against an
older or partial Protocol would otherwise fail deep inside a command with an
AttributeError.  Checking the Protocol's methods up front names the port, the
missing method and the plugin to fix instead.
"""

from __future__ import annotations

import inspect
from typing import Any

from .._exceptions import PortUnavailableError
from ._component import HostContext
from ._registry import PortName

__all__ = ["methods_of", "port_as"]


def methods_of(protocol: type[object]) -> tuple[str, ...]:
    """The public methods a Protocol declares (its own and its bases'), sorted."""
    names = {
        name
        for cls in protocol.__mro__
        if cls is not object and getattr(cls, "_is_protocol", False)
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }
    return tuple(sorted(names))


def port_as(context: HostContext, name: PortName, protocol: type[object], *, user: str) -> Any:
    """The object serving port ``name``, checked to have every method of ``protocol``.

    Returns Any (annotate the caller): mypy refuses a Protocol where ``type[P]`` is expected.

    ``user`` says who needs it (``"symphony run"``).  Raises
    PortUnavailableError naming the port, the missing method(s) and the
    plugin when the provider lacks one; never returns a partial provider.
    """
    port = context.port(name)
    missing = [method for method in methods_of(protocol) if not callable(getattr(port, method, None))]
    if missing:
        plugin = context.port_provider(name)
        raise PortUnavailableError(
            f"{user} needs {name}.{missing[0]}(), but port {name!r} is served by plugin {plugin!r}"
            f" ({type(port).__name__}), which has no {', '.join(f'{m}()' for m in missing)}."
            f" Add {'it' if len(missing) == 1 else 'them'} to the plugin ({protocol.__name__} in docs/hooks.md),"
            f" or choose another provider with ports.{name}."
        )
    return port
