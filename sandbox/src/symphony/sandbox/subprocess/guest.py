"""The guest API: what an extension running inside a confined worker may ask of its host.

The worker has no network and sees only its granted files, so everything else
goes through the host, which checks the extension's permissions first::

    from symphony.sandbox.subprocess import guest

    def handle(operation: str, input: dict) -> dict:
        response = guest.http_request("GET", "https://api.example.com/v1/items")
        return {"status": response.status, "body": response.body}

A refused request raises :class:`~symphony.hookspecs.PermissionDeniedError`
inside the extension.  Synchronous handlers (run on the worker's handler
thread) use the plain functions; ``async def`` handlers await the ``a*`` twins.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

__all__ = ["HttpResponse", "ahost_call", "ahttp_request", "config", "host_call", "http_request"]


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


_channel: Channel | None = None


def install(channel: Channel) -> None:
    """Called once by the worker before the extension is imported."""
    global _channel
    _channel = channel


def _require() -> Channel:
    if _channel is None:
        raise RuntimeError("the guest API is only available inside a Symphony subprocess worker")
    return _channel


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
