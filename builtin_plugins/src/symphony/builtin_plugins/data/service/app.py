"""The data service as a Starlette application: every route but /v1/health behind a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from symphony.hookspecs import DataRule

from .call import Handler, Service
from .inline import InlineHandler
from .routes import audit_log, health, permissions, runs, tokens, users, workflows
from .routing import HEALTH_PATH, RouteTable, no_route, routing_problem
from .rules import builtin_rules
from .settings import ServiceSettings

Endpoint = Callable[[Request], Awaitable[Response]]

#: Handlers whose response holds a secret shown once, by the field that holds it.
SHOWN_ONCE: dict[Handler, str] = {tokens.create: "token"}

#: Handlers whose body carries a workflow document: a workflow file may be far larger than other requests.
DOCUMENTS: set[Handler] = {workflows.create, workflows.change, runs.create, runs.change}

#: Handlers with an inline twin for requests made on the event loop on a SQLite file (``inline.py``): the hot paths.
INLINE: dict[Handler, InlineHandler] = {runs.save_nodes: runs.save_nodes_inline}

#: Every authenticated route: this app and the direct in-process transport both dispatch from this one table.
ROUTES = RouteTable.of((users, tokens, workflows, runs, permissions, audit_log), SHOWN_ONCE, DOCUMENTS, INLINE)


def _by_method(endpoints: dict[str, Endpoint]) -> Endpoint:
    """One route per path, so a method it does not take is a 405 naming all those it does."""
    endpoints = {**endpoints, "HEAD": endpoints["GET"]} if "GET" in endpoints else endpoints

    async def dispatch(request: Request) -> Response:
        return await endpoints[request.method](request)

    return dispatch


def create_app(settings: ServiceSettings, rules: Iterable[DataRule] | None = None) -> Starlette:
    """The app over ``settings.database`` (already migrated: see ``migrate``); ``rules`` default to the builtins.

    ``app.state.service`` is the ``Service`` behind it, which the direct transport calls without HTTP.
    """
    service = Service(settings, builtin_rules() if rules is None else rules)
    routes = [Route(HEALTH_PATH, health.health(service), methods=["GET"])]
    for path, operations in ROUTES.by_path.items():
        endpoints = {method: service.endpoint(operation) for method, operation in operations.items()}
        routes.append(Route(path, _by_method(endpoints), methods=list(endpoints)))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        service.close()

    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: routing_problem(no_route, "data")}
    )
    app.state.service = service
    return app
