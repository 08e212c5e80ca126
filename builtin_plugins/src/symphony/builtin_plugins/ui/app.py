"""The console as a Starlette app: the login link, the static single-page app, the API, and problem answers.

Its lifespan runs the host components a long-lived host runs (the message bus,
so run events reach the streams; the data service, conductor and pool, closed
when it stops).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import FrameType
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from symphony.hookspecs import DataError, PortUnavailableError, SymphonyError
from symphony.hookspecs.ports import HostContext

from ..conductor.serve import running
from ..data.service.problems import Problem, not_found
from ..data.service.routing import routing_problem
from .api import PREFIX, Api, routes
from .auth import COOKIE, SESSION_IDLE

__all__ = ["STATIC", "create_app"]

#: The built single-page app (ui/web builds it here; the wheel ships it).
STATIC: Final = Path(__file__).parent / "static"
#: The host components the console runs while it serves, started in this order and stopped in reverse.
COMPONENTS: Final = ("message_bus", "data", "pool", "conductor")


def problem_of(error: Exception) -> Problem:
    """The problem answering ``error``: the data service's for its errors, 422 for other user errors."""
    if isinstance(error, Problem):
        return error
    if isinstance(error, DataError):
        return Problem.from_error(error)
    if isinstance(error, PortUnavailableError):
        return Problem(503, "port_unavailable", str(error))
    if isinstance(error, SymphonyError):
        return Problem(422, error.category, str(error))
    # Only the server's last-resort handler gets here; it logs the traceback once it has answered.
    return Problem(500, "internal", "The console failed on this request; its log says why.")


async def _problem(_request: Request, error: Exception) -> Response:
    return problem_of(error).response()


def _no_route(path: str) -> Problem:
    return not_found(f"No route {path}; the console's API is under {PREFIX}.")


@contextmanager
def _on_stop_signals(action: Callable[[], object]) -> Iterator[None]:
    """Also run ``action`` on SIGTERM/SIGINT, before the server's own handler (which waits for open responses:
    the event streams, which would otherwise hold it for its whole grace period)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def handle(number: int, frame: FrameType | None) -> None:
        action()
        handler = previous[signal.Signals(number)]
        if callable(handler):
            handler(number, frame)

    for number in previous:
        signal.signal(number, handle)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def create_app(context: HostContext, api: Api, *, secure: bool) -> Starlette:
    """The console over ``api``; ``secure``: served over TLS (the session cookie is then Secure)."""

    async def index(request: Request) -> Response:
        code = request.query_params.get("login")
        if code is not None:
            session = api.gate.exchange(code)
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(
                COOKIE, session, max_age=int(SESSION_IDLE), httponly=True, samesite="strict", secure=secure, path="/"
            )
            return response
        page = STATIC / "index.html"
        if not page.is_file():
            raise not_found("The console's page is not built (ui/static/index.html); the API still answers.")
        return FileResponse(page, headers={"Cache-Control": "no-store"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        found = context.contributions("symphony_components")
        async with running([found[name][1] for name in COMPONENTS if name in found]):
            api.hub.start(context.port("message_bus"))
            loop = asyncio.get_running_loop()
            try:
                with _on_stop_signals(lambda: loop.call_soon_threadsafe(api.hub.end_all)):
                    yield
            finally:
                api.hub.stop()

    served: list[Route | Mount] = [Route("/", index, methods=["GET"]), *routes(api)]
    if STATIC.is_dir():
        served.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    handlers = {
        Problem: _problem,
        SymphonyError: _problem,
        HTTPException: routing_problem(_no_route, "ui"),
        Exception: _problem,
    }
    return Starlette(routes=served, lifespan=lifespan, exception_handlers=handlers)
