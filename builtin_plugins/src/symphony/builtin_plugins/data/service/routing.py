"""The service's one route table: the Starlette app and the direct in-process transport both dispatch from it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .problems import Problem

if TYPE_CHECKING:
    from .call import Handler
    from .inline import InlineHandler

#: The one anonymous route, answered outside the table (it needs no identity or transaction).
HEALTH_PATH = "/v1/health"

_PARAMETER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path: its handler, whether it writes, and the response field holding a secret if any."""

    method: str
    path: str
    handler: Handler
    write: bool
    shown_once: str | None = None
    #: Its body carries a workflow document (and a run's inputs): ``max_document_body_bytes`` bounds it.
    documents: bool = False
    #: The same operation on the raw SQLite connection of the event loop's writes (``inline.py``), if it has one.
    inline: InlineHandler | None = None


def no_route(path: str) -> Problem:
    return Problem(404, "data.not_found", f"No route {path}; the API is under /v1 (docs/data.md).")


def wrong_method(path: str, method: str, allowed: Iterable[str]) -> Problem:
    names = ", ".join(sorted(allowed))
    return Problem(405, "data.validation", f"{path} does not take {method}; it takes {names}.", Allow=names)


def routing_problem(
    missing: Callable[[str], Problem], kind: str
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A Starlette handler answering no route for a path (``missing(path)``, a 404) or method (405) as a problem like
    every other refusal; any other routing error is a problem of type ``kind``."""

    async def answer(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 405:
            allowed = [method.strip() for method in (error.headers or {}).get("Allow", "").split(",")]
            return wrong_method(request.url.path, request.method, allowed).response()
        if error.status_code == 404:
            return missing(request.url.path).response()
        return Problem(error.status_code, kind, str(error.detail)).response()

    return answer


def _pattern(template: str) -> re.Pattern[str]:
    """``/v1/workflows/{workflow_id}`` as a regular expression whose groups are the parameters."""
    parts = _PARAMETER.split(template)  # literal, name, literal, name, ..., literal
    body = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts))
    return re.compile(f"^{body}$")


class RouteTable:
    """Operations by path template; ``match`` finds one the way Starlette does (a parameter is one path segment)."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self.by_path: dict[str, dict[str, Operation]] = {}
        for operation in operations:
            self.by_path.setdefault(operation.path, {})[operation.method] = operation
        self._paths = [
            (path, _pattern(path) if "{" in path else None, methods) for path, methods in self.by_path.items()
        ]

    @classmethod
    def of(
        cls,
        modules: Sequence[ModuleType],
        shown_once: Mapping[Handler, str],
        documents: Collection[Handler] = (),
        inline: Mapping[Handler, InlineHandler] | None = None,
    ) -> RouteTable:
        """The table of each module's ``ROUTES`` (method, path, handler): every method but GET writes."""
        return cls(
            Operation(
                method,
                path,
                handler,
                write=method != "GET",
                shown_once=shown_once.get(handler),
                documents=handler in documents,
                inline=(inline or {}).get(handler),
            )
            for module in modules
            for method, path, handler in module.ROUTES
        )

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation for ``method`` on the (decoded) ``path`` and its parameters; a 404 or 405 problem if none.

        As Starlette routes: the first path that matches and takes the method, else 405 naming what the first
        path that matches takes, else 404.
        """
        wanted = "GET" if method == "HEAD" else method
        first: dict[str, Operation] | None = None
        for template, pattern, methods in self._paths:
            if pattern is None:
                if template != path:
                    continue
                params: dict[str, str] = {}
            else:
                found = pattern.match(path)
                if found is None:
                    continue
                params = found.groupdict()
            operation = methods.get(wanted)
            if operation is not None:
                return operation, params
            first = methods if first is None else first
        if first is None:
            raise no_route(path)
        raise wrong_method(path, method, [*first, *(["HEAD"] if "GET" in first else [])])
