"""Port ``data_access`` against a remote service: ``symphony data serve`` in a subprocess, over loopback HTTP."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trustme

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import open_embedded
from symphony.hookspecs import ConfigurationError, HookCallError, NetworkError, PreValidationError, WorkflowId
from symphony.hookspecs.ports import CreateUserRequest, CreateWorkflowRequest, DataAccessPort
from symphony.host import Host, Settings

from .conftest import Serve

if TYPE_CHECKING:
    from tests.conftest import Symphony

ROOT = Path(__file__).parents[2]
SPEC: dict[str, Any] = tomllib.loads((ROOT / "examples" / "welcome.toml").read_text())


def _host(tmp_path: Path, **options: Any) -> Host:
    settings = Settings(
        data_dir=tmp_path / "client", cache_dir=tmp_path / "cache", components={"data": {"options": options}}
    )
    return Host(settings).load()


@pytest.mark.slow
async def test_the_port_reaches_a_remote_service_with_the_configured_token(
    serve: Serve, home: Symphony, tmp_path: Path
) -> None:
    token_file = home.data_dir / "data" / "token"
    open_embedded(home.data_dir / "data").close()  # the served database, with its admin's token file
    server = serve(home)
    host = _host(tmp_path, url=server.url, token_file=str(token_file))
    await host.start()
    try:
        port: DataAccessPort = host.port("data_access")
        assert isinstance(port, DataClient)
        created = await port.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
        assert await port.get_workflow(created.id) == created
        with pytest.raises(PreValidationError, match="user-email"):
            await port.create_user(CreateUserRequest(name="ada", email="ada@example"))
    finally:
        await host.stop()
    assert not (tmp_path / "client" / "data").exists()  # no embedded service was made on the client's side


@pytest.mark.slow
async def test_a_stopped_remote_service_is_a_network_error(serve: Serve, home: Symphony, tmp_path: Path) -> None:
    token_file = home.data_dir / "data" / "token"
    open_embedded(home.data_dir / "data").close()
    server = serve(home)
    server.stop()
    host = _host(tmp_path, url=server.url, token_file=str(token_file), timeout=5)
    await host.start()
    try:
        port: DataAccessPort = host.port("data_access")
        with pytest.raises(NetworkError, match="could not be reached"):
            await port.get_workflow(WorkflowId("w"))
        component = next(r.component for r in host.components if r.name == "data")
        health = await component.health_check()
        assert health.status == "failed"
        assert health.message.startswith(f"data service ({server.url}): The data service at {server.url}")
    finally:
        await host.stop()


@pytest.mark.slow
async def test_an_https_service_signed_by_a_private_ca_is_trusted_through_ca_cert(
    serve: Serve, home: Symphony, tmp_path: Path
) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    chain, key, ca = tmp_path / "chain.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.private_key_pem.write_to_path(str(key))
    certificate.cert_chain_pems[0].write_to_path(str(chain))
    authority.cert_pem.write_to_path(str(ca))
    token_file = home.data_dir / "data" / "token"
    open_embedded(home.data_dir / "data").close()
    server = serve(home, "--tls-cert", str(chain), "--tls-key", str(key))
    assert server.url.startswith("https://127.0.0.1:")
    for options, works in (({"ca_cert": str(ca)}, True), ({}, False)):
        host = _host(tmp_path, url=server.url, token_file=str(token_file), **options)
        await host.start()
        try:
            port: DataAccessPort = host.port("data_access")
            if works:
                assert (await port.me()).role == "admin"
            else:
                with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
                    await port.me()
        finally:
            await host.stop()


def test_a_ca_cert_that_is_not_pem_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate")
    host = _host(tmp_path, url="https://data.example.org", token_file=str(tmp_path / "ca.pem"), ca_cert="ca.pem")
    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "ca.pem").write_text("not a certificate")
    with pytest.raises(HookCallError) as raised:
        host.port("data_access")
    assert isinstance(raised.value.__cause__, ConfigurationError)
    assert "(components.data.options.ca_cert) as certificate authorities" in str(raised.value)
    assert "give a PEM file of CA certificates" in str(raised.value)
