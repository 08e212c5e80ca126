"""Failures inside the service: a crashing rule is a 500 problem that stores nothing and reaches the log;
an unreachable database is a 503 health answer; the failed-check table stays bounded."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from symphony.builtin_plugins.data.service import ServiceSettings, create_app
from symphony.builtin_plugins.data.service.auth import FailedChecks
from symphony.builtin_plugins.data.service.problems import Problem
from symphony.hookspecs import DataRule

from .conftest import SPEC, Service


def _crash(action: str, record: Mapping[str, Any], before: Mapping[str, Any] | None) -> None:
    raise KeyError("a plugin's bug")


async def test_a_crashing_rule_is_a_500_problem_that_stores_nothing_and_is_logged(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        ServiceSettings(database=service.url), rules=[DataRule(name="buggy", resource="workflow", check=_crash)]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://data") as client:
        response = await client.post("/v1/workflows", json={"name": "w", "spec": SPEC}, headers=service.auth("admin"))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The data service failed; the error is in its log."
    assert "Traceback" not in response.text
    assert "a plugin's bug" in caplog.text
    assert (await service.call("admin", "GET", "/v1/workflows")).json()["items"] == []


async def test_health_is_503_when_the_database_cannot_be_opened(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(database=f"sqlite:///{tmp_path / 'missing' / 'service.db'}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://data") as client:
        response = await client.get("/v1/health")
    assert response.status_code == 503
    assert response.json() == {"status": "failed", "database": "sqlite", "error": "OperationalError"}


def test_failed_checks_remember_at_most_the_configured_number_of_clients() -> None:
    failures = FailedChecks(limit=1, window=3600, max_clients=100)
    for number in range(1000):
        failures.failed(f"10.0.{number // 256}.{number % 256}")
    failures.check("10.0.0.0")  # forgotten: the oldest went first
    with pytest.raises(Problem) as limited:
        failures.check("10.0.3.231")  # the newest is still limited
    assert limited.value.status == 429


async def test_an_unknown_route_is_a_not_found_problem(service: Service) -> None:
    response = await service.call("admin", "GET", "/v2/workflows")
    assert response.status_code == 404
    assert response.json()["category"] == "data.not_found"
    assert response.json()["detail"] == "No route /v2/workflows; the API is under /v1 (docs/data.md)."


async def test_a_method_a_route_does_not_take_is_a_405_problem_naming_those_it_takes(service: Service) -> None:
    response = await service.call("admin", "PATCH", "/v1/workflows")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "/v1/workflows does not take PATCH; it takes GET, HEAD, POST."


async def test_a_client_hanging_up_mid_body_is_not_logged_as_a_failure(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(ServiceSettings(database=service.url))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/workflows",
        "raw_path": b"/v1/workflows",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {service.tokens['admin']}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("data", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    messages: list[MutableMapping[str, Any]] = [
        {"type": "http.request", "body": b'{"name": "x", ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.ERROR, logger="symphony"):
        await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
