"""The direct transport: the DataClient's requests handed to the service's handlers in this process, no HTTP.

The embedded default.  Only the carriage changes: requests are matched on the
route table the HTTP app is built from, and go through the same ``Service.serve``
(authentication, rate limit, body and key limits, idempotency, rules, audit, one
transaction) and come back as the same problems, so the client maps them to
exceptions exactly as it does over HTTP.  A run's checkpoints, its hot path, skip
even the request: ``save_nodes_now`` hands the body to the inline writer through
``Service.inline_route``, which makes ``serve``'s checks (token, rate limit, body
limit, and the handler's own: body schema, the run's owner and the caller's role).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

import anyio
import msgspec

from .answers import Answer, problem_of, segment
from .service.app import ROUTES
from .service.call import InlineRoute, Service
from .service.problems import PROBLEM_TYPE, Problem
from .service.routes import health
from .service.routing import HEALTH_PATH, Operation

__all__ = ["DirectTransport"]

#: The "client address" failed token checks are counted under: every direct caller is this process.
CLIENT = "in-process"
_JSON = "application/json"
#: Routes a transport remembers at most (one per run for checkpoints: a handful in use at a time).
_MAX_ROUTES = 1024


class DirectTransport:
    """Calls ``service`` as the holder of ``token``; ``inline``: SQLite transactions run on the event loop.

    Inline, a transaction that would have to wait for another writer's lock fails at once and is run again in a
    worker thread, where it waits: the loop is never blocked on a lock (docs/decisions.md, "Direct transport").
    """

    where = "in this process"

    def __init__(self, service: Service, token: str, *, inline: bool = True) -> None:
        self._service = service
        self._authorization = f"Bearer {token}"
        self._inline = inline
        #: (method, path as sent) -> the operation, its parameters and the decoded path: the route table is fixed,
        #: so a path is decoded and matched once, not on every checkpoint. Handlers only read the parameters.
        self._routes: dict[tuple[str, str], tuple[Operation, dict[str, str], str]] = {}
        #: run id -> how its checkpoints are saved inline (``save_nodes_now``), remembered as routes are.
        self._saves: dict[str, tuple[InlineRoute | None, str, dict[str, str]]] = {}

    def __repr__(self) -> str:  # the token must never reach a log through a repr
        return f"DirectTransport({self._service.db.dialect}, inline={self._inline})"

    async def request(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer:
        try:
            if method == "GET" and unquote(path) == HEALTH_PATH:
                code, document = await anyio.to_thread.run_sync(health.status, self._service)
                return Answer(code, _JSON, msgspec.json.encode(document))
            operation, params, path = self._route(method, path)
            status, content = await self._service.serve(
                operation,
                client=CLIENT,
                authorization=self._authorization,
                path=path,
                params=params,
                query=dict(query) if query else {},
                body=body or b"",
                key=key,
                inline=self._inline,
            )
        except Problem as problem:
            return Answer(problem.status, PROBLEM_TYPE, problem.body())
        return Answer(status, _JSON, content or b"")

    def request_sync(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer:
        """``request`` on the calling thread, no event loop: for synchronous ports (permission records)."""
        try:
            operation, params, path = self._route(method, path)
            status, content = self._service.serve_sync(
                operation,
                client=CLIENT,
                authorization=self._authorization,
                path=path,
                params=params,
                query=dict(query) if query else {},
                body=body or b"",
                key=key,
            )
        except Problem as problem:
            return Answer(problem.status, PROBLEM_TYPE, problem.body())
        return Answer(status, _JSON, content or b"")

    def save_nodes_now(self, run_id: str, body: bytes) -> bool:
        """Commit a checkpoint (``PUT /v1/runs/{run_id}/nodes`` with ``body``) on the calling thread, the event loop:
        the service's checks without a request's framing. False when it would wait (then ``request`` saves it).

        Raises the exception a refusal maps to, as the client would from the answer. The hot path of a run's
        checkpoints (docs/performance.md).
        """
        if not self._inline:
            return False
        try:
            route, path, params = self._saves.get(run_id) or self._save_route(run_id)
            return route is not None and route(path, params, body) is not None
        except Problem as problem:
            raise problem_of(Answer(problem.status, PROBLEM_TYPE, problem.body())) from None

    def _save_route(self, run_id: str) -> tuple[InlineRoute | None, str, dict[str, str]]:
        """How a checkpoint of ``run_id`` is served inline (None: it cannot be), its decoded path and parameters.

        The path is matched as ``request`` matches it; a path without a route is refused every time, never remembered.
        """
        operation, params, path = self._route("PUT", f"/v1/runs/{segment(run_id)}/nodes")
        route = None
        if operation.inline is not None and self._service.db.dialect == "sqlite":
            route = self._service.inline_route(operation, CLIENT, self._authorization)
        if len(self._saves) >= _MAX_ROUTES:
            self._saves.clear()
        found = self._saves[run_id] = (route, path, params)
        return found

    def _route(self, method: str, path: str) -> tuple[Operation, dict[str, str], str]:
        """The operation for ``method`` on ``path``, its parameters and the decoded path; a 404 or 405 problem if none.

        The path is decoded as an ASGI server hands the app its path, then matched segment by segment.
        """
        found = self._routes.get((method, path))
        if found is None:
            decoded = unquote(path)
            operation, params = ROUTES.match(method, decoded)
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            found = self._routes[method, path] = (operation, params, decoded)
        return found

    async def aclose(self) -> None:
        """Nothing to close: the service's database belongs to whoever opened the service."""
