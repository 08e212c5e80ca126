"""Every provider hook serves its port: a plugin's provider is reached through the port's Protocol.

Each ``symphony_provide_<port>`` is exercised twice: with a third-party provider that
implements the Protocol (it is the one ``port_as`` hands out, named as its provider),
and with the builtins installed in this environment (their provider, when there is
one, offers every method of the Protocol; otherwise the port is unavailable by name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from symphony.hookspecs import PortUnavailableError, hookimpl
from symphony.hookspecs.ports import PORT_PROTOCOLS, HostContext, PortName, methods_of, port_as

from .conftest import MakeHost

PORTS = list(PORT_PROTOCOLS)
HOOK_IDS = [f"symphony_provide_{name}" for name in PORTS]

#: The ports this kernel's builtins provide; the others wait for later issues.
BUILTIN = {
    "text_editing",
    "dag_tracker",
    "artifact_store",
    "extension_runtime",
    "conductor",
    "pre_validation",
    "message_bus",
    "stale_manager",
    "pool_manager",
    "arbitration_engine",
    "data_access",
    "language",
    "permission_records",
}


def stub_of(protocol: type[object]) -> Any:
    """An object with every method of ``protocol``, each recording that it was reached."""

    def method(name: str) -> Callable[..., Any]:
        def called(self: Any, *args: Any, **kwargs: Any) -> str:
            self.calls.append(name)
            return name

        return called

    namespace: dict[str, Any] = {name: method(name) for name in methods_of(protocol)}
    namespace["calls"] = []
    return type(f"Own{protocol.__name__}", (), namespace)()


def provider_of(port: str, served: object) -> object:
    """A plugin whose ``symphony_provide_<port>`` returns ``served``."""

    def provide(self: object, context: HostContext) -> object:
        return served

    return type("OwnProvider", (), {f"symphony_provide_{port}": hookimpl(provide)})()


@pytest.mark.parametrize("port", PORTS, ids=HOOK_IDS)
def test_the_provider_hook_serves_its_port_through_the_protocol(make_host: MakeHost, port: PortName) -> None:
    served = stub_of(PORT_PROTOCOLS[port])
    context = make_host(provider_of(port, served)).load().context
    reached = port_as(context, port, PORT_PROTOCOLS[port], user="the test")
    assert reached is served
    assert context.port_provider(port) == "OwnProvider"
    first = methods_of(PORT_PROTOCOLS[port])[0]
    assert getattr(reached, first)() == first and served.calls == [first]


@pytest.mark.parametrize("port", PORTS, ids=HOOK_IDS)
def test_a_provider_that_declines_leaves_the_port_unavailable_by_name(make_host: MakeHost, port: PortName) -> None:
    context = make_host(provider_of(port, None)).load().context
    with pytest.raises(PortUnavailableError, match=port):
        context.port(port)


@pytest.mark.parametrize("port", PORTS, ids=HOOK_IDS)
def test_the_installed_builtin_provider_offers_the_whole_protocol(make_host: MakeHost, port: PortName) -> None:
    context = make_host(discover=True).load().context
    if port in BUILTIN:
        port_as(context, port, PORT_PROTOCOLS[port], user="the test")
    else:
        with pytest.raises(PortUnavailableError, match=port):
            context.port(port)
