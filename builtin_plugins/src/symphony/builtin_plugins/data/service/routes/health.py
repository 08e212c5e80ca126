"""The one anonymous route: is the service up, on which database, at which schema revision."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..call import Service
from ..migrate import current_revision


def health(service: Service) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The health endpoint: anonymous, so load balancers and `symphony doctor` need no token."""

    def revision() -> str | None:
        with service.db.engine.connect() as connection:
            return current_revision(connection)

    async def endpoint(request: Request) -> JSONResponse:
        try:
            schema = await anyio.to_thread.run_sync(revision)
        except Exception as error:  # the database is down: say so, with the reason, as a 503
            return JSONResponse(
                {"status": "failed", "database": service.db.dialect, "error": type(error).__name__}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": service.db.dialect, "schema_revision": schema})

    return endpoint
