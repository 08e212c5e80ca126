"""The data service's answers as the clients read them: records, pages, JSON bodies and refusals.

Shared by the async DataClient (and its runs mixin) and the synchronous permission records, so every
client decodes the service alike: unknown members ignored, a refusal's ``category`` choosing the exception.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from symphony.hookspecs import DataError, error_class_for
from symphony.hookspecs.ports import Page

__all__ = ["Answer", "json_of", "page_of", "problem_of", "record_of", "segment"]

R = TypeVar("R", bound=msgspec.Struct)

#: Problems listed in one exception's message at most, so a hostile answer cannot make it unbounded.
_MAX_ERRORS = 50
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class Answer(NamedTuple):
    """The service's answer to one request, as any transport brings it back."""

    status: int
    content_type: str
    content: bytes


def record_of(data: Any, kind: type[R]) -> R:
    """``data`` as ``kind``, ignoring members a newer service added (a newer service must not break this client)."""
    if not isinstance(data, dict):
        raise DataError(f"The data service answered {type(data).__name__} where a {kind.__name__} was expected.")
    known = {name: data[name] for name in kind.__struct_fields__ if name in data}
    try:
        return msgspec.convert(known, kind)
    except msgspec.ValidationError as error:
        raise DataError(f"The data service's {kind.__name__} is malformed: {error}.") from None


def page_of(data: Any, kind: type[R]) -> Page[R]:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise DataError("The data service answered a listing without its items.")
    cursor = data.get("next_cursor")
    return Page(
        items=[record_of(item, kind) for item in data["items"]], next_cursor=None if cursor is None else str(cursor)
    )


def segment(value: str) -> str:
    """A path segment: ids come from callers, so '/' or '..' must not reach another route."""
    return quote(value, safe="")


def json_of(answer: Answer) -> Any:
    """A successful answer's JSON body; a DataError when it is not JSON (a proxy's page, a truncated body)."""
    try:
        return _decode(answer.content)
    except msgspec.DecodeError:
        kind = answer.content_type or "no content type"
        raise DataError(
            f"The data service answered {answer.status} with a body that is not JSON ({kind}); is the"
            " configured url the data service?"
        ) from None


def problem_of(answer: Answer) -> DataError:
    """The exception a refusal stands for, chosen by the problem's ``category`` (or, failing that, its status)."""
    category = detail = None
    errors: list[str] = []
    if answer.content_type.startswith(("application/problem+json", "application/json")):
        try:
            body = _decode(answer.content)
        except msgspec.DecodeError:
            body = None
        if isinstance(body, dict):
            category, detail = body.get("category"), body.get("detail")
            listed = body.get("errors")
            errors = (
                [e if isinstance(e, str) else _encode(e).decode() for e in listed[:_MAX_ERRORS] if e is not None]
                if isinstance(listed, list)
                else []
            )
    if not isinstance(category, str):
        category = {401: "data.authorization", 403: "data.authorization", 404: "data.not_found"}.get(
            answer.status, "data.network" if answer.status in (502, 503, 504) else "data"
        )
    cls = error_class_for(category)
    if not issubclass(cls, DataError):
        cls = DataError
    message = (
        str(detail)
        if detail
        else f"The data service answered {answer.status} {httpx.codes.get_reason_phrase(answer.status)}."
    )
    if errors:
        message += "".join(f"\n  {e}" for e in errors)
    return cls(message)
