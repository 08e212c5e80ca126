"""The direct transport's remembered routes and the checkpoints' own body decoder: the same answers as over HTTP.

A path is decoded and matched once per transport (``direct.py``), and a checkpoint's body is decoded without the
depth walk other bodies get (``routes/runs.py``); neither may change what a caller is answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import msgspec.inspect
import pytest

from symphony.builtin_plugins.data.direct import DirectTransport
from symphony.builtin_plugins.data.embedded import EmbeddedService, open_embedded
from symphony.builtin_plugins.data.service.schemas_runs import NodesBody
from symphony.hookspecs.ports import NewRun

#: Run ``run0001``'s checkpoints with a character of its id percent-encoded, as a client may send it.
ENCODED = "/v1/runs/run%30001/nodes"


def _run(run_id: str) -> NewRun:
    return NewRun(id=run_id, workflow_id="hello", workflow_name="Hello", document=b"", inputs=b"", nodes_total=2)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[EmbeddedService]:
    """An embedded service holding runs ``run0001`` and ``run0002``, no checkpoints yet."""
    service = open_embedded(tmp_path / "data")
    try:
        async with service.client() as admin:
            for run_id in ("run0001", "run0002"):
                await admin.create_run(_run(run_id))
        yield service
    finally:
        service.close()


async def _saved(service: EmbeddedService, run_id: str) -> list[str]:
    """The nodes checkpointed in ``run_id``, as the port reads them."""
    async with service.client() as admin:
        return [node.node_id for node in await admin.run_nodes(run_id)]


async def _both(service: EmbeddedService, method: str, path: str, body: bytes) -> list[tuple[int, bytes]]:
    """The status and body ``method`` on ``path`` is answered, directly (twice) and over the HTTP app."""
    direct = DirectTransport(service.service, service.token)
    transport = httpx.ASGITransport(app=service.app)
    headers = {"Authorization": f"Bearer {service.token}", "Content-Type": "application/json"}
    answers = []
    for _ in range(2):
        answer = await direct.request(method, path, query=None, body=body, key=None)
        answers.append((answer.status, answer.content))
    async with httpx.AsyncClient(transport=transport, base_url="http://data.invalid", headers=headers) as http:
        response = await http.request(method, path, content=body)
    answers.append((response.status_code, response.content))
    return answers


async def test_a_percent_encoded_path_reaches_its_run_every_time_and_no_other(service: EmbeddedService) -> None:
    direct = DirectTransport(service.service, service.token)
    for node_id in ("a", "b"):
        body = b'{"nodes": [{"node_id": "%s", "state": "succeeded"}]}' % node_id.encode()
        assert (await direct.request("PUT", ENCODED, query=None, body=body, key=None)).status == 204
    other = b'{"nodes": [{"node_id": "c", "state": "failed"}]}'
    assert (await direct.request("PUT", "/v1/runs/run0002/nodes", query=None, body=other, key=None)).status == 204
    assert (await _saved(service, "run0001"), await _saved(service, "run0002")) == (["a", "b"], ["c"])


@pytest.mark.parametrize(
    "body",
    [
        b'{"nodes": [{"node_id": "a", "state": "succeeded", "detail": [[[1]]]}]}',
        b'{"nodes": [{"node_id": "a", "state": "succeeded"}], "extra": {"deep": [[[[]]]]}}',
        b'{"nodes": [{"node_id": "a", "state": "sleeping"}]}',
        b'{"nodes": [',
    ],
    ids=["wrong type", "unknown field", "unknown state", "not json"],
)
async def test_a_malformed_checkpoint_is_refused_the_same_way_directly_and_over_http(
    service: EmbeddedService, body: bytes
) -> None:
    answers = await _both(service, "PUT", ENCODED, body)
    assert answers[0][0] == 422
    assert answers[1:] == [answers[0], answers[0]]
    assert await _saved(service, "run0001") == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("PUT", "/v1/runs/run0001/nodes/more", 404), ("PATCH", "/v1/runs/run0001/nodes", 405)],
)
async def test_a_path_without_a_route_is_refused_every_time_it_is_sent(
    service: EmbeddedService, method: str, path: str, status: int
) -> None:
    answers = await _both(service, method, path, b'{"nodes": []}')
    assert [code for code, _ in answers] == [status] * 3
    assert answers[1] == answers[0]


def _free_values(info: msgspec.inspect.Type, within: frozenset[type] = frozenset()) -> list[str]:
    """The parts of a schema whose values may nest without bound (``Any``, a mapping, a raw value, a recursion)."""
    inspect = msgspec.inspect
    if isinstance(info, inspect.StructType):
        if info.cls in within:
            return [f"{info.cls.__name__} within itself"]
        return [found for field in info.fields for found in _free_values(field.type, within | {info.cls})]
    if isinstance(info, inspect.UnionType):
        return [found for member in info.types for found in _free_values(member, within)]
    if isinstance(info, inspect.ListType):
        return _free_values(info.item_type, within)
    scalars = (inspect.StrType, inspect.BytesType, inspect.IntType, inspect.FloatType, inspect.BoolType)
    return [] if isinstance(info, (*scalars, inspect.NoneType, inspect.LiteralType)) else [type(info).__name__]


def test_a_checkpoint_body_cannot_nest_deeper_than_its_schema() -> None:
    """What lets ``routes/runs.py`` skip the depth walk: a field that could hold any value must bring it back."""
    assert _free_values(msgspec.inspect.type_info(NodesBody)) == []
