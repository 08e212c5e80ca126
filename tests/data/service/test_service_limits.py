"""Limits and secrets: bodies, names, failed token checks, and tokens never stored or logged in clear."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import create_engine, text

from symphony.builtin_plugins.data.service import ServiceSettings
from symphony.builtin_plugins.data.service.db import normalize_url

from .conftest import SPEC, Service, make_client


async def test_a_body_over_the_limit_is_a_413_problem(service: Service) -> None:
    async with make_client(service.url, ServiceSettings(database=service.url, max_body_bytes=1000)) as client:
        body = {"name": "x" * 2000, "email": "big@x.org", "role": "viewer"}
        response = await client.post("/v1/users", json=body, headers=service.auth("admin"))
    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is larger than 1000 bytes; send a smaller one."


async def test_a_streamed_body_over_the_limit_is_refused_without_a_content_length(service: Service) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    async with make_client(service.url, ServiceSettings(database=service.url, max_body_bytes=1000)) as client:
        response = await client.post("/v1/users", content=chunks(), headers=service.auth("admin"))
    assert response.status_code == 413


async def test_a_workflow_document_may_be_larger_than_other_bodies(service: Service) -> None:
    # A workflow file may take megabytes; a run carries its whole document: both get the document limit.
    settings = ServiceSettings(database=service.url, max_body_bytes=1000, max_document_body_bytes=10_000)
    spec = {**SPEC, "metadata": {"description": "x" * 2000}}
    async with make_client(service.url, settings) as client:
        response = await client.post("/v1/workflows", json={"name": "big", "spec": spec}, headers=service.auth("admin"))
    assert response.status_code == 201, response.text


async def test_a_workflow_document_over_the_document_limit_is_a_413_problem(service: Service) -> None:
    settings = ServiceSettings(database=service.url, max_body_bytes=1000, max_document_body_bytes=10_000)
    spec = {**SPEC, "metadata": {"description": "x" * 20_000}}
    async with make_client(service.url, settings) as client:
        response = await client.post("/v1/workflows", json={"name": "big", "spec": spec}, headers=service.auth("admin"))
    assert response.status_code == 413
    assert "10000 bytes" in response.json()["detail"]


async def test_a_name_longer_than_200_characters_is_refused(service: Service) -> None:
    response = await service.call("admin", "POST", "/v1/workflows", json={"name": "n" * 201, "spec": SPEC})
    assert response.status_code == 422
    assert "Expected `str` of length <= 200 - at `$.name`" in response.json()["detail"]


async def test_an_unknown_field_is_refused_with_its_name(service: Service) -> None:
    response = await service.call("admin", "POST", "/v1/users", json={"name": "a", "email": "a@x.org", "admin": True})
    assert response.status_code == 422
    assert "unknown field `admin`" in response.json()["detail"]


async def test_a_document_nested_too_deep_is_refused(service: Service) -> None:
    deep: dict[str, object] = {}
    for _ in range(200):
        deep = {"d": deep}
    response = await service.call("admin", "POST", "/v1/workflows", json={"name": "deep", "spec": {**SPEC, "x": deep}})
    assert response.status_code == 422
    assert "nests deeper than the limit" in response.json()["detail"]


async def test_repeated_failed_token_checks_get_429_until_the_window_ends(service: Service) -> None:
    settings = ServiceSettings(database=service.url, max_failed_token_checks=3, token_check_window=3600)
    async with make_client(service.url, settings) as client:
        for _ in range(3):
            assert (await client.get("/v1/me", headers={"Authorization": "Bearer sym_guess"})).status_code == 401
        limited = await client.get("/v1/me", headers=service.auth("admin"))
    assert limited.status_code == 429
    assert limited.json()["category"] == "data.rate_limited"
    assert 3500 <= int(limited.headers["retry-after"]) <= 3600


async def test_requests_without_a_token_do_not_use_up_the_failed_check_allowance(service: Service) -> None:
    settings = ServiceSettings(database=service.url, max_failed_token_checks=2)
    async with make_client(service.url, settings) as client:
        for _ in range(5):
            assert (await client.get("/v1/me")).status_code == 401
        assert (await client.get("/v1/me", headers=service.auth("admin"))).status_code == 200


async def test_an_expired_token_is_refused(service: Service) -> None:
    short = (await service.call("admin", "POST", "/v1/tokens", json={"name": "short", "expires_in": 0.001})).json()
    service.tokens["short"] = short["token"]
    deadline = time.monotonic() + 10
    while (response := await service.call("short", "GET", "/v1/me")).status_code == 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # it expires 1 ms after creation: poll rather than guess when
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is unknown, revoked or expired; create a new one."


async def test_a_token_lifetime_over_a_year_is_refused(service: Service) -> None:
    response = await service.call("admin", "POST", "/v1/tokens", json={"name": "long", "expires_in": 400 * 86400})
    assert response.status_code == 422


async def test_a_revoked_token_is_refused_and_listed_as_revoked(service: Service) -> None:
    made = (await service.call("admin", "POST", "/v1/tokens", json={"name": "temp"})).json()
    service.tokens["temp"] = made["token"]
    assert (await service.call("temp", "GET", "/v1/me")).status_code == 200
    assert (await service.call("admin", "DELETE", f"/v1/tokens/{made['id']}")).status_code == 204
    assert (await service.call("temp", "GET", "/v1/me")).status_code == 401
    listed = (await service.call("admin", "GET", "/v1/tokens")).json()["items"]
    assert {item["name"]: item["revoked"] for item in listed} == {"bootstrap": False, "temp": True}


async def test_tokens_are_stored_only_as_their_sha256(service: Service) -> None:
    created = await service.call(
        "admin", "POST", "/v1/tokens", json={"name": "secret"}, headers={"Idempotency-Key": "t1"}
    )
    made = created.json()
    engine = create_engine(normalize_url(service.url))
    try:
        with engine.connect() as connection:
            digests = [bytes(row[0]) for row in connection.execute(text("select digest from api_tokens"))]
            dump = "\n".join(
                str(row)
                for table in ("api_tokens", "audit_log", "idempotency_keys")
                for row in connection.execute(text(f"select * from {table}"))
            )
    finally:
        engine.dispose()
    assert hashlib.sha256(made["token"].encode()).digest() in digests
    assert made["token"] not in dump


async def test_no_token_reaches_the_logs(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    made = (
        await service.call("admin", "POST", "/v1/tokens", json={"name": "logged"}, headers={"Idempotency-Key": "k1"})
    ).json()
    service.tokens["logged"] = made["token"]
    await service.call("logged", "GET", "/v1/me")
    await service.call(None, "GET", "/v1/me", headers={"Authorization": "Bearer sym_wrong_guess"})
    await service.call("logged", "POST", "/v1/workflows", json={"name": "x", "spec": {"broken": True}})
    logged = caplog.text
    assert len(caplog.records) > 0  # httpx and the service did log these requests
    for secret in (made["token"], service.tokens["admin"], "sym_wrong_guess"):
        assert secret not in logged


async def test_replaying_a_token_creation_is_a_409_since_the_secret_was_shown_once(service: Service) -> None:
    first = await service.call("admin", "POST", "/v1/tokens", json={"name": "once"}, headers={"Idempotency-Key": "k"})
    again = await service.call("admin", "POST", "/v1/tokens", json={"name": "once"}, headers={"Idempotency-Key": "k"})
    assert first.status_code == 201
    assert again.status_code == 409
    assert first.json()["id"] in again.json()["detail"]
    assert first.json()["token"] not in again.text
