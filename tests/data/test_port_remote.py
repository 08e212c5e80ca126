"""Port ``data_access`` against a remote service: ``symphony data serve`` in a subprocess, over loopback HTTP."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import open_embedded
from symphony.hookspecs import NetworkError, PreValidationError, WorkflowId
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
    finally:
        await host.stop()
