"""Idempotency keys: a retried write replays its first response instead of writing twice."""

from __future__ import annotations

import asyncio

from symphony.builtin_plugins.data.service import ServiceSettings

from .conftest import SPEC, Service, make_client


async def test_a_write_retried_with_its_key_replays_the_first_response(service: Service) -> None:
    body = {"name": "once", "spec": SPEC}
    key = {"Idempotency-Key": "create-once"}
    first = await service.call("admin", "POST", "/v1/workflows", json=body, headers=key)
    again = await service.call("admin", "POST", "/v1/workflows", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len((await service.call("admin", "GET", "/v1/workflows")).json()["items"]) == 1


async def test_a_key_reused_for_a_different_body_is_refused(service: Service) -> None:
    key = {"Idempotency-Key": "k"}
    await service.call("admin", "POST", "/v1/workflows", json={"name": "a", "spec": SPEC}, headers=key)
    other = await service.call("admin", "POST", "/v1/workflows", json={"name": "b", "spec": SPEC}, headers=key)
    assert other.status_code == 422
    assert other.json()["detail"].startswith("This Idempotency-Key was used for a different request")


async def test_the_same_key_from_another_caller_is_a_separate_write(service: Service) -> None:
    await service.add_user("ed", "editor")
    key = {"Idempotency-Key": "shared-key"}
    mine = await service.call("admin", "POST", "/v1/workflows", json={"name": "a", "spec": SPEC}, headers=key)
    theirs = await service.call("ed", "POST", "/v1/workflows", json={"name": "a", "spec": SPEC}, headers=key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


async def test_concurrent_retries_with_one_key_write_once(service: Service) -> None:
    body = {"name": "racy", "spec": SPEC}
    key = {"Idempotency-Key": "race"}
    answers = await asyncio.gather(
        *(service.call("admin", "POST", "/v1/workflows", json=body, headers=key) for _ in range(8))
    )
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len((await service.call("admin", "GET", "/v1/workflows")).json()["items"]) == 1


async def test_a_key_longer_than_128_characters_is_refused(service: Service) -> None:
    response = await service.call(
        "admin", "POST", "/v1/workflows", json={"name": "a", "spec": SPEC}, headers={"Idempotency-Key": "k" * 129}
    )
    assert response.status_code == 422


async def test_an_expired_key_is_forgotten_so_it_may_name_a_new_write(service: Service) -> None:
    settings = ServiceSettings(database=service.url, idempotency_ttl=0, idempotency_prune_every=1)
    async with make_client(service.url, settings) as client:
        headers = {**service.auth("admin"), "Idempotency-Key": "old"}
        first = await client.post("/v1/workflows", json={"name": "a", "spec": SPEC}, headers=headers)
        await client.post("/v1/workflows", json={"name": "b", "spec": SPEC}, headers=service.auth("admin"))
        reused = await client.post("/v1/workflows", json={"name": "c", "spec": SPEC}, headers=headers)
    assert (first.status_code, reused.status_code) == (201, 201)
    assert reused.json()["id"] != first.json()["id"]
