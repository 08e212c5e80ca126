"""Extensions' host calls: models checked, charged and called through the real openai-chat; http by httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.hookspecs import ModelAccess, ModelBudget, NetworkAccess, PermissionDeniedError
from symphony.host import Host, Settings
from symphony.host.extensions._services import HostServices
from symphony.host.permissions import Permissions, Subject, open_permissions

from .server import KEY, ChatServer, chat_server

DECLARED = (ModelAccess(models=("echo-1",)), NetworkAccess(hosts=("127.0.0.1",)))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    monkeypatch.setenv("MEDIATION_KEY", KEY)
    with chat_server() as running:
        yield running


@pytest.fixture
def host(tmp_path: Path, server: ChatServer) -> Host:
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path / "data",
            "cache_dir": tmp_path / "cache",
            "components": {"openai": {"options": {"base_url": f"{server.url}/v1", "api_key_env": "MEDIATION_KEY"}}},
        }
    )
    loaded = Host(settings, plugins=[orchestra_plugin], discover_plugins=False)
    loaded.load()
    return loaded


@pytest.fixture
def permissions(host: Host) -> Iterator[Permissions]:
    opened = open_permissions(host.settings, None, lambda name: Subject(name=name, declared=DECLARED))
    yield opened
    opened.close()


async def test_a_model_call_is_checked_charged_and_performed_by_the_real_instrument(
    host: Host, permissions: Permissions, server: ChatServer
) -> None:
    permissions.grants.grant("asker", ["model:echo-1"], budget=ModelBudget(calls=1))
    services = HostServices(permissions.checker(), host.context, run_id="run-1")
    assert await services.model("asker", {"model": "echo-1", "input": "hello"}) == "echo: hello"
    with pytest.raises(PermissionDeniedError, match="budget"):
        await services.model("asker", {"model": "echo-1", "input": "again"})
    assert len(server.requests) == 1, "the call over budget must not reach the model"


async def test_an_ungranted_model_is_denied_before_any_request(
    host: Host, permissions: Permissions, server: ChatServer
) -> None:
    services = HostServices(permissions.checker(), host.context)
    with pytest.raises(PermissionDeniedError, match=r"symphony ext grant asker model:echo-1"):
        await services.model("asker", {"model": "echo-1", "input": "hello"})
    assert server.requests == []
    denied = permissions.audit.entries(extension="asker", decision="denied")
    assert [entry.permission for entry in denied] == ["model:echo-1"]


async def test_http_is_performed_only_for_a_granted_host(
    host: Host, permissions: Permissions, server: ChatServer
) -> None:
    services = HostServices(permissions.checker(), host.context)
    url = f"{server.url}/hello"
    with pytest.raises(PermissionDeniedError):
        await services.http("asker", {"url": url})
    permissions.grants.grant("asker", ["network:127.0.0.1"])
    answer = await services.http("asker", {"url": url})
    assert answer["status"] == 200 and '"path": "/hello"' in answer["body"]
