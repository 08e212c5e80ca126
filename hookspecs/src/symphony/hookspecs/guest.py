"""The guest API: what an extension may ask of its host, in whichever runtime it runs.

A confined worker has no network and sees only its granted files, so
everything else goes through the host, which checks the extension's
permissions first.  The same calls work for a trusted extension running in
the host's process, so an extension does not change when its runtime does::

    from symphony.hookspecs import guest

    def handle(operation: str, input: dict) -> dict:
        response = guest.http_request("GET", "https://api.example.com/v1/items")
        return {"status": response.status, "body": response.body}

A refused request raises :class:`~symphony.hookspecs.PermissionDeniedError`
inside the extension.  Synchronous handlers (run on the worker's handler
thread) use the plain functions; ``async def`` handlers await the ``a*`` twins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import msgspec

__all__ = [
    "Channel",
    "HttpResponse",
    "ahost_call",
    "ahttp_request",
    "bind",
    "config",
    "host_call",
    "http_request",
    "install",
]


class HttpResponse(msgspec.Struct, frozen=True, kw_only=True):
    """What the host's mediated HTTP request returned."""

    status: int
    headers: dict[str, str] = {}
    body: str = ""


class Channel(Protocol):
    """Installed by the worker; carries guest calls to the parent."""

    config: dict[str, Any]

    def call(self, method: str, params: dict[str, Any]) -> Any: ...

    async def acall(self, method: str, params: dict[str, Any]) -> Any: ...


_process_channel: Channel | None = None
_call_channel: ContextVar[Channel | None] = ContextVar("symphony_guest_channel", default=None)


def install(channel: Channel) -> None:
    """Called once by a worker process before the extension is imported: every call uses ``channel``."""
    global _process_channel
    _process_channel = channel


@contextmanager
def bind(channel: Channel) -> Iterator[None]:
    """Use ``channel`` for guest calls in this context (the in-process runtime, one invocation at a time)."""
    token = _call_channel.set(channel)
    try:
        yield
    finally:
        _call_channel.reset(token)


def _require() -> Channel:
    channel = _call_channel.get() or _process_channel
    if channel is None:
        raise RuntimeError("the guest API is only available to an extension run by a Symphony runtime")
    return channel


def config() -> dict[str, Any]:
    """This extension's configuration (secrets included), as the host validated and passed it."""
    return dict(_require().config)


def host_call(method: str, params: dict[str, Any]) -> Any:
    """Ask the host to run ``method`` (e.g. ``"http"``) and wait for its answer."""
    return _require().call(method, params)


async def ahost_call(method: str, params: dict[str, Any]) -> Any:
    """:func:`host_call` for ``async def`` handlers."""
    return await _require().acall(method, params)


def _http_params(
    method: str, url: str, headers: dict[str, str] | None, body: str | None, timeout: float | None
) -> dict[str, Any]:
    return {"method": method.upper(), "url": url, "headers": dict(headers or {}), "body": body, "timeout": timeout}


def http_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    timeout: float | None = None,
) -> HttpResponse:
    """An HTTP request performed by the host if this extension may reach ``url``'s host name."""
    result = host_call("http", _http_params(method, url, headers, body, timeout))
    return msgspec.convert(result, HttpResponse)


async def ahttp_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    timeout: float | None = None,
) -> HttpResponse:
    """:func:`http_request` for ``async def`` handlers."""
    result = await ahost_call("http", _http_params(method, url, headers, body, timeout))
    return msgspec.convert(result, HttpResponse)
