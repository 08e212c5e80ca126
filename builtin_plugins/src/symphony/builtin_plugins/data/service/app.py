"""The data service as a Starlette application: every route but /v1/health behind a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route

from symphony.hookspecs import DataRule

from .call import Service
from .routes import audit_log, health, tokens, users, workflows
from .rules import builtin_rules
from .settings import ServiceSettings

#: Handlers whose response holds a secret shown once, by the field that holds it.
SHOWN_ONCE = {tokens.create: "token"}


def create_app(settings: ServiceSettings, rules: Iterable[DataRule] | None = None) -> Starlette:
    """The app over ``settings.database`` (already migrated: see ``migrate``); ``rules`` default to the builtins."""
    service = Service(settings, builtin_rules() if rules is None else rules)
    routes = [Route("/v1/health", health.health(service), methods=["GET"])]
    for module in (users, tokens, workflows, audit_log):
        for method, path, handler in module.ROUTES:
            endpoint = service.endpoint(handler, write=method != "GET", shown_once=SHOWN_ONCE.get(handler))
            routes.append(Route(path, endpoint, methods=[method]))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        service.db.dispose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app
