"""The one anonymous route: is the service up, on which database, at which schema revision."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..call import Service
from ..migrate import current_revision


def status(service: Service) -> tuple[int, dict[str, Any]]:
    """The health document and its status: 503 with the error's kind when the database cannot be reached."""
    try:
        with service.db.engine.connect() as connection:
            schema = current_revision(connection)
    except Exception as error:  # the database is down: say so, with the reason
        return 503, {"status": "failed", "database": service.db.dialect, "error": type(error).__name__}
    return 200, {"status": "ok", "database": service.db.dialect, "schema_revision": schema}


def health(service: Service) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The health endpoint: anonymous, so load balancers and `symphony doctor` need no token."""

    async def endpoint(request: Request) -> JSONResponse:
        code, document = await anyio.to_thread.run_sync(status, service)
        return JSONResponse(document, status_code=code)

    return endpoint
