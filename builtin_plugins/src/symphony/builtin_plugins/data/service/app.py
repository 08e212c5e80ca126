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

from .call import Service
from .problems import Problem
from .routes import audit_log, health, runs, tokens, users, workflows
from .rules import builtin_rules
from .settings import ServiceSettings

Endpoint = Callable[[Request], Awaitable[Response]]


def _by_method(endpoints: dict[str, Endpoint]) -> Endpoint:
    """One route per path, so a method it does not take is a 405 naming all those it does."""
    endpoints = {**endpoints, "HEAD": endpoints["GET"]} if "GET" in endpoints else endpoints

    async def dispatch(request: Request) -> Response:
        return await endpoints[request.method](request)

    return dispatch


async def _routing_problem(request: Request, error: Exception) -> Response:
    """No route for this path (404) or method (405), as a problem like every other refusal."""
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        allowed = ", ".join(sorted(method.strip() for method in (error.headers or {}).get("Allow", "").split(",")))
        detail = f"{request.url.path} does not take {request.method}; it takes {allowed}."
        return Problem(405, "data.validation", detail, Allow=allowed).response()
    if error.status_code == 404:
        return Problem(
            404, "data.not_found", f"No route {request.url.path}; the API is under /v1 (docs/data.md)."
        ).response()
    return Problem(error.status_code, "data", str(error.detail)).response()


#: Handlers whose response holds a secret shown once, by the field that holds it.
SHOWN_ONCE = {tokens.create: "token"}


def create_app(settings: ServiceSettings, rules: Iterable[DataRule] | None = None) -> Starlette:
    """The app over ``settings.database`` (already migrated: see ``migrate``); ``rules`` default to the builtins."""
    service = Service(settings, builtin_rules() if rules is None else rules)
    by_path: dict[str, dict[str, Endpoint]] = {}
    for module in (users, tokens, workflows, runs, audit_log):
        for method, path, handler in module.ROUTES:
            endpoint = service.endpoint(handler, write=method != "GET", shown_once=SHOWN_ONCE.get(handler))
            by_path.setdefault(path, {})[method] = endpoint
    routes = [Route("/v1/health", health.health(service), methods=["GET"])]
    routes += [Route(path, _by_method(endpoints), methods=list(endpoints)) for path, endpoints in by_path.items()]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        service.db.dispose()

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _routing_problem})
    app.state.service = service
    return app
