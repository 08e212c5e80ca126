"""The JSON API under ``/ui/api/v1/`` and its Server-Sent Events: every route checks the caller first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from symphony.hookspecs.ports import ArtifactHistory, ArtifactStorePort, PoolManagerPort

from ..data.service.problems import invalid, too_large
from .artifacts import artifact_row, artifact_view
from .auth import Gate, allowed_actions
from .events import EventHub, frame, iso
from .extensions import ExtensionViews
from .runs import RunViews
from .workflows import ProjectWorkflows

__all__ = ["PREFIX", "Api", "routes"]

PREFIX: Final = "/ui/api/v1"
#: Largest request body accepted (an edit carries one node at most).
MAX_BODY: Final = 1_048_576

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass
class Api:
    """What the routes use: the gate, and each view over its ports (made when first asked for)."""

    gate: Gate
    workflows: ProjectWorkflows
    runs: Callable[[], RunViews]
    extensions: Callable[[], ExtensionViews]
    artifacts: Callable[[], ArtifactStorePort]
    #: The store's versions and lineage; raises PortUnavailableError naming the method its provider lacks.
    history: Callable[[], ArtifactHistory]
    pool: Callable[[], PoolManagerPort]
    hub: EventHub


def json(document: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(document), status_code=status, media_type="application/json")


async def body(request: Request) -> dict[str, Any]:
    data = await request.body()
    if len(data) > MAX_BODY:
        raise too_large(MAX_BODY)
    try:
        document = msgspec.json.decode(data) if data else {}
    except msgspec.DecodeError as error:
        raise invalid(f"The body is not JSON ({error}); send a JSON object.") from None
    if not isinstance(document, dict):
        raise invalid("The body must be a JSON object.")
    return document


def text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise invalid(f"The body needs {key!r}, a non-empty string.")
    return value


class Handlers:
    """The endpoints: each checks the caller, then answers through its view."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.gate = self.api.gate

    async def me(self, request: Request) -> Response:
        identity = self.gate.require(request)
        return json({"user": identity.name, "role": identity.role, "can": allowed_actions(identity)})

    async def workflows(self, request: Request) -> Response:
        self.gate.require(request)
        return json(self.api.workflows.listing())

    async def workflow(self, request: Request) -> Response:
        self.gate.require(request)
        return json(self.api.workflows.document(request.path_params["workflow_id"]))

    async def edit(self, request: Request) -> Response:
        self.gate.require(request, "workflows.edit")
        return json(await self.api.workflows.edit(request.path_params["workflow_id"], await body(request)))

    async def runs(self, request: Request) -> Response:
        self.gate.require(request)
        query = request.query_params
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise invalid(f"limit must be a whole number, not {query.get('limit')!r}.") from None
        return json(await self.api.runs().listing(query.get("status") or None, query.get("workflow") or None, limit))

    async def start(self, request: Request) -> Response:
        self.gate.require(request, "runs.start")
        document = await body(request)
        inputs = document.get("inputs", {})
        if not isinstance(inputs, dict):
            raise invalid("inputs must be a JSON object: input name -> value.")
        workflow = self.api.workflows.load(text(document, "workflow"))
        return json({"run_id": await self.api.runs().start(workflow, inputs)}, 202)

    async def run(self, request: Request) -> Response:
        self.gate.require(request)
        return json(await self.api.runs().show(request.path_params["run_id"]))

    async def cancel(self, request: Request) -> Response:
        self.gate.require(request, "runs.cancel")
        return json({"run_id": await self.api.runs().cancel(request.path_params["run_id"]), "cancel": "requested"}, 202)

    async def resume(self, request: Request) -> Response:
        self.gate.require(request, "runs.resume")
        return json({"run_id": await self.api.runs().resume(request.path_params["run_id"])}, 202)

    async def retry(self, request: Request) -> Response:
        self.gate.require(request, "runs.retry")
        node = text(await body(request), "node")
        return json({"run_id": await self.api.runs().retry(request.path_params["run_id"], node)}, 202)

    async def events(self, request: Request) -> Response:
        self.gate.require(request)
        record = await self.api.runs().record(request.path_params["run_id"])
        if record.state != "running":  # nothing more will happen: say how it ended and close
            done = frame("run", {"run_id": record.id, "status": record.state, "at": iso(record.finished_at)})
            return Response(done, media_type="text/event-stream")
        stream = self.api.hub.open(record.id)

        async def frames() -> Any:
            try:
                yield b"retry: 2000\n\n"
                async for chunk in stream.frames():
                    yield chunk
            finally:
                self.api.hub.close(stream)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)

    async def extensions(self, request: Request) -> Response:
        self.gate.require(request)
        return json(self.api.extensions().listing())

    async def extension(self, request: Request) -> Response:
        self.gate.require(request)
        return json(self.api.extensions().show(request.path_params["name"]))

    async def grant(self, request: Request) -> Response:
        identity = self.gate.require(request, "grants.grant")
        capability = text(await body(request), "capability")
        return json(self.api.extensions().grant(request.path_params["name"], capability, identity), 201)

    async def revoke(self, request: Request) -> Response:
        self.gate.require(request, "grants.revoke")
        return json(self.api.extensions().revoke(request.path_params["name"], request.path_params["capability"]))

    async def artifacts(self, request: Request) -> Response:
        self.gate.require(request)
        query = request.query_params.get("q", "").strip()
        if not query:
            raise invalid("Give a search: ?q=words.")
        found = await self.api.artifacts().search(query, limit=50)
        return json([artifact_row(info) for info in found])

    async def artifact(self, request: Request) -> Response:
        self.gate.require(request)
        return json(await artifact_view(self.api.artifacts(), self.api.history, request.path_params["artifact_id"]))

    async def pool(self, request: Request) -> Response:
        self.gate.require(request)
        status = self.api.pool().status()
        document: dict[str, Any] = msgspec.to_builtins(status)
        for model in document["models"]:
            model["last_used"] = iso(model["last_used"])
        return json(document)


def routes(api: Api) -> list[Route]:
    handlers = Handlers(api)
    table: list[tuple[str, str, Endpoint]] = [
        ("GET", "/me", handlers.me),
        ("GET", "/workflows", handlers.workflows),
        ("GET", "/workflows/{workflow_id}", handlers.workflow),
        ("POST", "/workflows/{workflow_id}/edits", handlers.edit),
        ("GET", "/runs", handlers.runs),
        ("POST", "/runs", handlers.start),
        ("GET", "/runs/{run_id}", handlers.run),
        ("POST", "/runs/{run_id}/cancel", handlers.cancel),
        ("POST", "/runs/{run_id}/resume", handlers.resume),
        ("POST", "/runs/{run_id}/retry", handlers.retry),
        ("GET", "/runs/{run_id}/events", handlers.events),
        ("GET", "/extensions", handlers.extensions),
        ("GET", "/extensions/{name}", handlers.extension),
        ("POST", "/extensions/{name}/grants", handlers.grant),
        ("DELETE", "/extensions/{name}/grants/{capability:path}", handlers.revoke),
        ("GET", "/artifacts", handlers.artifacts),
        ("GET", "/artifacts/{artifact_id}", handlers.artifact),
        ("GET", "/pool", handlers.pool),
    ]
    return [Route(PREFIX + path, endpoint, methods=[method]) for method, path, endpoint in table]
