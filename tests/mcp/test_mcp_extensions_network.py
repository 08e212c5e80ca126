"""An MCP server's network is the host's mediation: declared hosts through the proxy, nothing else at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from symphony.hookspecs import ExtensionError, NetworkAccess
from symphony.host.extensions._services import HostServices
from symphony.host.permissions import Permissions
from tests.extensions.e2e import LoopbackServer, loopback_server
from tests.extensions.mediation_host import mediation
from tests.mcp.mcp_servers import fetch_launch, probe_launch, started


@pytest.fixture
def web() -> Iterator[LoopbackServer]:
    with loopback_server() as server:
        yield server


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[HostServices, Permissions]]:
    """``fetch`` declares and is granted 127.0.0.1 only; ``probe`` declares nothing."""
    with mediation(tmp_path, (NetworkAccess(hosts=("127.0.0.1",)),), ["network:127.0.0.1"], "fetch") as opened:
        yield opened


async def test_the_fetch_server_reaches_a_declared_host_through_the_hosts_mediation(
    host: tuple[HostServices, Permissions], web: LoopbackServer
) -> None:
    services, permissions = host
    async with started(fetch_launch(), services.host_call("fetch")) as instance:
        answer = await instance.invoke("fetch", {"url": web.url("/page")})
    assert "hello" in answer["text"]
    assert [hit.path for hit in web.hits] == ["/page"]
    allowed = permissions.audit.entries(extension="fetch", decision="allowed")
    assert f"network:127.0.0.1:{web.port}" in [entry.permission for entry in allowed]


async def test_the_fetch_server_is_refused_an_undeclared_host(
    host: tuple[HostServices, Permissions], web: LoopbackServer
) -> None:
    services, permissions = host
    async with started(fetch_launch(), services.host_call("fetch")) as instance:
        with pytest.raises(ExtensionError, match="status code 403"):
            await instance.invoke("fetch", {"url": web.url("/page", host="localhost")})
    assert web.hits == []
    denied = permissions.audit.entries(extension="fetch", decision="denied")
    assert [entry.permission for entry in denied] == [f"network:localhost:{web.port}"]


async def test_a_direct_connection_past_the_proxy_is_refused_by_the_sandbox(web: LoopbackServer) -> None:
    async with started(probe_launch()) as instance:
        with pytest.raises(ExtensionError, match=r"no connection: .*Connection refused"):
            await instance.invoke("connect", {"host": "127.0.0.1", "port": web.port})
    assert web.hits == []


async def test_a_denied_request_is_answered_403_with_the_denials_reason(
    host: tuple[HostServices, Permissions], web: LoopbackServer
) -> None:
    services, _ = host
    async with started(probe_launch(), services.host_call("probe")) as instance:
        with pytest.raises(ExtensionError, match=r"status 403: Denied network:127\.0\.0\.1:\d+ to extension 'probe'"):
            await instance.invoke("proxied", {"url": web.url("/page")})
    assert web.hits == []


async def test_an_https_tunnel_is_refused_since_the_host_cannot_read_inside_it(
    host: tuple[HostServices, Permissions], web: LoopbackServer
) -> None:
    services, permissions = host
    async with started(fetch_launch(), services.host_call("fetch")) as instance:
        with pytest.raises(ExtensionError, match="405"):
            await instance.invoke("fetch", {"url": f"https://127.0.0.1:{web.port}/page"})
    assert web.hits == []
    assert permissions.audit.entries(extension="fetch") == []
