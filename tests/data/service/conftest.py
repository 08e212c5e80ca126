"""The data service under test: the real app on a real, migrated database, called through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from symphony.builtin_plugins.data.service import ServiceSettings, create_app, migrate
from symphony.builtin_plugins.data.service.bootstrap import create_identity

#: The smallest spec the builtin workflow-spec rule accepts.
SPEC: dict[str, Any] = {"schema_version": 1, "id": "hello", "name": "hello"}


@dataclass
class Service:
    """A running app and the identities made so far: ``tokens[name]`` is each one's bearer token."""

    url: str
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth(who), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def add_user(self, name: str, role: str) -> str:
        """Create ``name`` (as the admin) with a token of its own; return its id."""
        made = await self.call(
            "admin", "POST", "/v1/users", json={"name": name, "email": f"{name}@x.org", "role": role}
        )
        assert made.status_code == 201, made.text
        self.ids[name] = made.json()["id"]
        token = await self.call("admin", "POST", "/v1/tokens", json={"name": "t", "user_id": self.ids[name]})
        assert token.status_code == 201, token.text
        self.tokens[name] = token.json()["token"]
        return self.ids[name]

    async def add_workflow(self, who: str, name: str = "flow") -> dict[str, Any]:
        made = await self.call(who, "POST", "/v1/workflows", json={"name": name, "spec": SPEC})
        assert made.status_code == 201, made.text
        result: dict[str, Any] = made.json()
        return result


def make_client(url: str, settings: ServiceSettings | None = None) -> httpx.AsyncClient:
    app = create_app(settings or ServiceSettings(database=url))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://data")


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    """A migrated database with one admin (``tokens["admin"]``), served by the real app in-process."""
    migrate(database_url)
    admin_id, admin_token = create_identity(
        database_url, name="admin", email="admin@x.org", role="admin", token_name="bootstrap"
    )
    async with make_client(database_url) as client:
        yield Service(database_url, client, tokens={"admin": admin_token}, ids={"admin": admin_id})
