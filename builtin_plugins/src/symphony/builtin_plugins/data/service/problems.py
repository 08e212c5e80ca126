"""RFC 9457 problem details; ``category`` is the SymphonyError category the client raises, unparsed."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from symphony.hookspecs import DataError

#: Titles by HTTP status, the problem's short summary (the detail says what to do).
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Version conflict",
    413: "Request too large",
    422: "Invalid request",
    429: "Too many failed token checks",
    500: "Internal error",
    501: "Not implemented",
}

#: HTTP status of each data error category raised inside the service.
_STATUS = {"data.validation": 422, "data.authorization": 403, "data.not_found": 404}

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """A refusal with its HTTP status; raised anywhere in a request, answered as problem+json."""

    def __init__(
        self, status: int, category: str, detail: str, *, errors: list[str] | None = None, **headers: str
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.category = category
        self.detail = detail
        self.errors = errors
        self.headers = {key.replace("_", "-"): value for key, value in headers.items()}

    @classmethod
    def from_error(cls, error: DataError) -> Problem:
        """A DataError (e.g. a business rule's ValidationError) as the problem of its category."""
        return cls(_STATUS.get(error.category, 422), error.category, error.message)

    def body(self) -> bytes:
        document: dict[str, Any] = {
            "type": f"urn:symphony:problem:{self.category}",
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "category": self.category,
        }
        if self.errors:
            document["errors"] = self.errors
        return msgspec.json.encode(document)

    def response(self) -> Response:
        return Response(self.body(), status_code=self.status, media_type=PROBLEM_TYPE, headers=self.headers)


def unauthenticated(detail: str) -> Problem:
    return Problem(401, "data.authorization", detail, WWW_Authenticate="Bearer")


def forbidden(detail: str) -> Problem:
    return Problem(403, "data.authorization", detail)


def not_found(detail: str) -> Problem:
    return Problem(404, "data.not_found", detail)


def invalid(detail: str, errors: list[str] | None = None) -> Problem:
    return Problem(422, "data.validation", detail, errors=errors)


def conflict(detail: str) -> Problem:
    return Problem(409, "data.validation", detail)


def not_implemented(detail: str) -> Problem:
    """What a provider does not offer (a port's optional capability it lacks); the detail names the method."""
    return Problem(501, "port_unavailable", detail)


def too_large(limit: int) -> Problem:
    return Problem(413, "data.validation", f"The request body is larger than {limit} bytes; send a smaller one.")


def rate_limited(retry_after: int) -> Problem:
    return Problem(
        429,
        "data.rate_limited",
        f"Too many failed token checks from this client; wait {retry_after} s and use a valid token.",
        Retry_After=str(retry_after),
    )
