"""Fuzz the TCP address parser (``host:port``, ``[v6]:port``) that ``--listen`` and ``--connect`` read.

Allowed: a ``(host, port)`` with a port in 0..65535, or TransportConfigError.
"""

from __future__ import annotations

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.builtin_plugins.ipc.transports._config import TransportConfigError
    from symphony.builtin_plugins.ipc.transports.tcp import is_loopback, parse_address


def target(data: bytes) -> None:
    address = data.decode("utf-8", "surrogateescape")
    try:
        host, port = parse_address(address)
    except TransportConfigError as error:
        assert address in str(error) or "\\" in repr(address)
        return
    assert 0 <= port <= 65535 and host
    assert isinstance(is_loopback(host), bool)


if __name__ == "__main__":
    fuzz(target)
