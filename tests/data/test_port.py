"""Port ``data_access`` from the builtin ``data`` plugin: the embedded service by default, pre-validated writes."""

from __future__ import annotations

import logging
import re
import sqlite3
import stat
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import open_embedded
from symphony.hookspecs import AuthorizationError, ConfigurationError, HookCallError, PreValidationError
from symphony.hookspecs.ports import CreateTokenRequest, CreateUserRequest, CreateWorkflowRequest, DataAccessPort
from symphony.host import Host, Settings

ROOT = Path(__file__).parents[2]
SPEC: dict[str, Any] = tomllib.loads((ROOT / "examples" / "welcome.toml").read_text())

MakeHost = Callable[..., Host]


@pytest.fixture
def make_host(tmp_path: Path) -> MakeHost:
    def make(**options: Any) -> Host:
        settings = Settings(
            data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", components={"data": {"options": options}}
        )
        return Host(settings).load()

    return make


@pytest.fixture
async def port(make_host: MakeHost) -> AsyncIterator[DataAccessPort]:
    host = make_host()
    await host.start()
    try:
        yield host.port("data_access")
    finally:
        await host.stop()


async def test_the_builtin_port_is_the_embedded_service_under_the_data_dir(
    port: DataAccessPort, tmp_path: Path
) -> None:
    assert isinstance(port, DataClient)
    created = await port.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
    assert await port.get_workflow(created.id) == created
    assert (tmp_path / "data" / "data" / "service.db").is_file()


async def test_a_request_failing_pre_validation_never_reaches_the_service(port: DataAccessPort) -> None:
    assert isinstance(port, DataClient)
    before = len((await port.list_audit()).items)
    with pytest.raises(PreValidationError, match="user-email"):
        await port.create_user(CreateUserRequest(name="ada", email="ada@example"))
    assert len((await port.list_audit()).items) == before


def test_the_token_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    service = open_embedded(tmp_path / "data")
    path = tmp_path / "data" / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == service.token
    assert service.token not in repr(service)


def test_a_reopened_service_keeps_its_token(tmp_path: Path) -> None:
    assert open_embedded(tmp_path / "data").token == open_embedded(tmp_path / "data").token


async def test_a_replaced_database_gets_a_new_working_token(tmp_path: Path) -> None:
    first = open_embedded(tmp_path / "data")
    (tmp_path / "data" / "service.db").unlink()
    second = open_embedded(tmp_path / "data")
    assert second.token != first.token
    async with DataClient.in_process(second.app, second.token) as client:
        assert (await client.me()).role == "admin"


async def test_a_lost_token_file_gets_the_same_admin_a_new_token(tmp_path: Path) -> None:
    first = open_embedded(tmp_path / "data")
    async with DataClient.in_process(first.app, first.token) as client:
        admin = await client.me()
    (tmp_path / "data" / "token").unlink()
    second = open_embedded(tmp_path / "data")
    async with DataClient.in_process(second.app, second.token) as client:
        assert await client.me() == admin


def test_a_remote_service_without_a_token_is_refused_with_the_fix(
    make_host: MakeHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYMPHONY_DATA_TOKEN", raising=False)
    host = make_host(url="https://data.example.org")
    with pytest.raises(HookCallError) as raised:
        host.port("data_access")
    assert isinstance(raised.value.__cause__, ConfigurationError)
    assert "set components.data.options.token_file or the SYMPHONY_DATA_TOKEN" in str(raised.value)


def test_a_url_that_is_not_http_is_refused_when_the_host_loads(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", components={"data": {"options": {"url": "data.example.org"}}})
    with pytest.raises(
        ConfigurationError, match=re.escape("must start with http:// or https://, found 'data.example.org'")
    ):
        Host(settings).load()


async def test_no_token_reaches_the_logs(make_host: MakeHost, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    host = make_host()
    await host.start()
    try:
        port: DataClient = host.port("data_access")
        await port.create_workflow(CreateWorkflowRequest(name="welcome", spec=SPEC))
        new = await port.create_token(CreateTokenRequest(name="ci"))
        with pytest.raises(AuthorizationError):
            async with DataClient.in_process(open_embedded(tmp_path / "data" / "data").app, "sym_wrong") as stranger:
                await stranger.me()
    finally:
        await host.stop()
    token = (tmp_path / "data" / "data" / "token").read_text().strip()
    assert caplog.records, "nothing was logged, so the check proves nothing"
    assert all(secret not in caplog.text for secret in (token, new.token, "sym_wrong"))


@pytest.mark.slow
def test_processes_starting_at_once_agree_on_one_admin_and_token(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path;"
        " from symphony.builtin_plugins.data.embedded import open_embedded;"
        " print(open_embedded(Path(sys.argv[1])).token)"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "data")], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    tokens = {process.communicate(timeout=120)[0].strip() for process in processes}
    assert [process.returncode for process in processes] == [0, 0, 0, 0]
    assert tokens == {(tmp_path / "data" / "token").read_text().strip()}
    with sqlite3.connect(tmp_path / "data" / "service.db") as connection:
        assert connection.execute("select count(*) from users").fetchone() == (1,)


async def test_the_component_reports_the_service_database_and_schema_once_in_use(make_host: MakeHost) -> None:
    host = make_host()
    await host.start()
    try:
        component = next(r.component for r in host.components if r.name == "data")
        assert (await component.health_check()).message == "not used yet"
        host.port("data_access")
        health = await component.health_check()
    finally:
        await host.stop()
    assert health.status == "ok"
    assert health.message.startswith("embedded, sqlite at schema ")
