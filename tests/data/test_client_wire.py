"""How DataClient reads answers: the problem's category picks the exception, never its message; new members are ignored.

The service here is a real Starlette app answering fixed responses, so each wire
shape a service (or a proxy in front of it) may send is checked on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from symphony.builtin_plugins.data.client import DataClient
from symphony.hookspecs import (
    AuthorizationError,
    DataError,
    NetworkError,
    PreValidationError,
    ValidationError,
    WorkflowId,
)

#: What GET /v1/workflows/{id} answers, by id: (status, content type, body).
ANSWERS: dict[str, tuple[int, str, Any]] = {
    "newer": (200, "application/json", {"id": "newer", "name": "n", "spec": {}, "version": 3, "etag": "x"}),
    "refused": (422, "application/problem+json", {"category": "data.validation", "detail": "Not found, oddly."}),
    "listed": (
        422,
        "application/problem+json",
        {"category": "data.validation", "detail": "Bad.", "errors": ["a", {"pointer": "/name"}]},
    ),
    "forbidden": (403, "application/problem+json", {"category": "data.authorization", "detail": "No."}),
    "gone": (404, "application/problem+json", {"category": "data.not_found", "detail": "Gone."}),
    "limited": (429, "application/problem+json", {"category": "data.rate_limited", "detail": "Wait 3 s."}),
    "prevalidated": (422, "application/problem+json", {"category": "data.pre_validation", "detail": "Too long."}),
    "foreign": (500, "application/problem+json", {"category": "plugin.hook_call", "detail": "A plugin broke."}),
    "proxy-down": (502, "text/html", "<html>Bad Gateway</html>"),
    "proxy-denied": (403, "text/html", "<html>Forbidden</html>"),
    "teapot": (418, "text/plain", "short and stout"),
    "malformed": (200, "application/json", {"id": "malformed", "name": 7}),
    "portal": (200, "text/html", "<html>Sign in to the Wi-Fi</html>"),
}


async def _answer(request: Request) -> Response:
    status, media_type, body = ANSWERS[request.path_params["workflow_id"]]
    content = body.encode() if isinstance(body, str) else msgspec.json.encode(body)
    return Response(content, status_code=status, media_type=media_type)


@pytest.fixture
async def client() -> AsyncIterator[DataClient]:
    app = Starlette(routes=[Route("/v1/workflows/{workflow_id}", _answer, methods=["GET"])])
    async with DataClient.in_process(app, "sym_t") as client:
        yield client


async def _raised(client: DataClient, workflow_id: str) -> DataError:
    with pytest.raises(DataError) as raised:
        await client.get_workflow(WorkflowId(workflow_id))
    return raised.value


async def test_members_a_newer_service_added_are_ignored(client: DataClient) -> None:
    record = await client.get_workflow(WorkflowId("newer"))
    assert record is not None and (record.id, record.version) == ("newer", 3)


@pytest.mark.parametrize(
    ("workflow_id", "kind", "message"),
    [
        ("refused", ValidationError, "Not found, oddly."),
        ("listed", ValidationError, 'Bad.\n  a\n  {"pointer":"/name"}'),
        ("forbidden", AuthorizationError, "No."),
        ("limited", DataError, "Wait 3 s."),
        ("prevalidated", PreValidationError, "Too long."),
        ("foreign", DataError, "A plugin broke."),
        ("proxy-down", NetworkError, "The data service answered 502 Bad Gateway."),
        ("proxy-denied", AuthorizationError, "The data service answered 403 Forbidden."),
        ("teapot", DataError, "The data service answered 418 I'm a teapot."),
    ],
)
async def test_each_answer_raises_the_class_of_its_category_else_of_its_status(
    client: DataClient, workflow_id: str, kind: type[DataError], message: str
) -> None:
    error = await _raised(client, workflow_id)
    assert (type(error), str(error)) == (kind, message)


async def test_a_not_found_problem_reads_as_no_record(client: DataClient) -> None:
    assert await client.get_workflow(WorkflowId("gone")) is None


async def test_a_record_of_the_wrong_shape_is_a_data_error_saying_so(client: DataClient) -> None:
    error = await _raised(client, "malformed")
    assert type(error) is DataError
    assert str(error) == "The data service's WorkflowRecord is malformed: Expected `str`, got `int` - at `$.name`."


async def test_a_success_that_is_not_json_is_a_data_error_saying_so(client: DataClient) -> None:
    error = await _raised(client, "portal")
    assert type(error) is DataError
    assert str(error) == (
        "The data service answered 200 with a body that is not JSON (text/html; charset=utf-8); is the configured"
        " url the data service?"
    )
