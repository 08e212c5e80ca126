"""Mediated HTTP: exactly the request the permission checker approved, performed for an extension.

The extension names a URL; the checker decides on that URL's host and port.
Everything after the decision must keep to it, because the extension (an
attacker, by assumption) writes the URL, the headers and perhaps the server:

- one parser (httpx's) reads the URL, for the check *and* the connection, so
  no parser differential separates what was checked from what is reached;
- headers that would re-route the request (``Host``, ``Forwarded``, proxy
  and hop-by-hop headers) are refused, so a grant on one address does not
  reach the other virtual hosts behind it;
- a name is resolved here and the request pinned to the address checked
  (TLS still verifies the name), and a name that resolves to a loopback,
  private or link-local address needs that address granted too, so DNS cannot
  turn a grant on a public name into access to the host's own services;
- redirects are not followed (each hop is a new request the extension makes,
  and the checker decides);
- the response is streamed and decoded with a limit that fits the frame back
  to the worker, within one total deadline, so neither a huge body, a
  compression bomb nor a trickling server costs the host more than that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import zlib
from collections.abc import Callable
from typing import Any, Final

import httpx

from symphony.hookspecs import NetworkError, ValidationError

from ..permissions import NetworkRequest

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RESPONSE_BYTES",
    "MAX_TIMEOUT",
    "METHODS",
    "Target",
    "fetch",
    "is_public",
    "request_body",
    "request_headers",
    "request_method",
    "request_timeout",
]

METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
#: The most a response body may carry, decoded: half the worker's frame, leaving the other half
#: for the headers, the envelope and the text's encoding (the worker's transport uses the default frame).
MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024
DEFAULT_TIMEOUT: Final = 30.0
MAX_TIMEOUT: Final = 300.0
_MAX_HEADERS: Final = 100
_MAX_HEADER_BYTES: Final = 64 * 1024
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: Headers that choose the target, the connection or the framing: the host sets them, or nobody does.
_REFUSED: Final = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
        "accept-encoding",
        "forwarded",
        "via",
        "x-real-ip",
        "x-host",
        "x-original-url",
        "x-rewrite-url",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    }
)
_REFUSED_PREFIXES: Final = ("proxy-", "x-forwarded-")
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")


class Target:
    """A checked-to-be URL: the parsed URL and the host and port the checker decides on."""

    __slots__ = ("host", "port", "url")

    def __init__(self, url: httpx.URL, host: str, port: int) -> None:
        self.url = url
        self.host = host
        self.port = port

    @classmethod
    def parse(cls, value: object) -> Target:
        """Raises ValidationError (what is wrong, how to fix it) for anything but a plain absolute http(s) URL."""
        if not isinstance(value, str):
            raise ValidationError(f"An http host call needs an absolute http(s) URL; got {value!r}.")
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as error:
            raise ValidationError(f"An http host call's URL {value!r} is not valid: {error}.") from None
        if url.scheme not in _DEFAULT_PORTS or not url.raw_host:
            raise ValidationError(
                f"An http host call needs an absolute http(s) URL; got {value!r}"
                " (expected e.g. https://api.example.com/v1)."
            )
        if url.userinfo:
            raise ValidationError(
                f"An http host call's URL may not carry user info ({value!r}); send credentials in an"
                " Authorization header instead."
            )
        port = url.port or _DEFAULT_PORTS[url.scheme]
        if not 0 < port < 65536:
            raise ValidationError(f"An http host call's URL has port {port}, outside 1-65535.")
        host = url.raw_host.decode("ascii").lower().rstrip(".")
        return cls(url, host, port)

    @property
    def request(self) -> NetworkRequest:
        return NetworkRequest(host=self.host, port=self.port)

    @property
    def literal(self) -> bool:
        """Whether the host is an IP address (nothing to resolve)."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def request_method(value: object) -> str:
    method = str(value if value is not None else "GET").upper()
    if method not in METHODS:
        raise ValidationError(f"An http host call's method must be one of {', '.join(METHODS)}; got {value!r}.")
    return method


def request_headers(value: object) -> dict[str, str]:
    """The extension's headers, refusing any that would change the target, the connection or the framing."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationError("An http host call's headers must be a table of strings to strings.")
    if len(value) > _MAX_HEADERS or sum(len(k) + len(v) for k, v in value.items()) > _MAX_HEADER_BYTES:
        raise ValidationError(
            f"An http host call may send at most {_MAX_HEADERS} headers of {_MAX_HEADER_BYTES} bytes in all."
        )
    for name, text in value.items():
        if not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(text):
            raise ValidationError(
                f"An http host call's header {name!r} is not a valid header (a token name, a value of printable"
                " ASCII without line breaks or control characters; encode anything else, e.g. as RFC 8187 or base64)."
            )
        lowered = name.lower()
        if lowered in _REFUSED or lowered.startswith(_REFUSED_PREFIXES):
            raise ValidationError(
                f"An http host call may not set the header {name!r}: the host sets the target, the"
                " connection and the framing from the URL it checked. Remove the header (to reach another"
                " host name, request a URL with that name; it is checked like any other)."
            )
    return dict(value)


def request_body(value: object) -> bytes | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"An http host call's body must be text; got {type(value).__name__}.")
    return value.encode()


def request_timeout(value: object) -> float:
    """The request's total deadline in seconds: connecting, sending and reading the whole response."""
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT:
        raise ValidationError(
            f"An http host call's timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g};"
            f" got {value!r}."
        )
    return float(value)


def is_public(address: str) -> bool:
    """Whether ``address`` is a global unicast address (not loopback, private, link-local, reserved, multicast)."""
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


async def _resolve(target: Target) -> list[str]:
    """The addresses ``target``'s host name resolves to, in the resolver's order."""
    if target.literal:
        return [target.host]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise NetworkError(f"Cannot resolve the host name {target.host!r}: {error}.") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def fetch(
    method: str,
    target: Target,
    choose: Callable[[list[str]], str],
    *,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
    what: str,
) -> dict[str, Any]:
    """Resolve ``target``, perform the request at the address ``choose`` picks (pinned) and read the response,
    all within ``timeout`` (a resolver that stalls counts too) and the size limit."""
    try:
        async with asyncio.timeout(timeout):
            address = choose(await _resolve(target))
            return await _fetch(method, target, address, headers=headers, body=body, timeout=timeout, what=what)
    except TimeoutError:
        raise NetworkError(
            f"{what} did not complete within {timeout:g} s, the request's total deadline; raise its timeout"
            f" (at most {MAX_TIMEOUT:g} s) or ask for less."
        ) from None


async def _fetch(
    method: str, target: Target, address: str, *, headers: dict[str, str], body: bytes | None, timeout: float, what: str
) -> dict[str, Any]:
    url, extensions = target.url, {}
    if address != target.url.raw_host.decode("ascii"):
        url = url.copy_with(host=address)
        headers = {**headers, "Host": target.url.netloc.decode("ascii")}
        if target.url.scheme == "https" and not target.literal:
            extensions = {"sni_hostname": target.host}
    headers = {**headers, "Accept-Encoding": "gzip"}
    try:
        async with (
            # No proxies or .netrc from the environment (a proxy would resolve what was checked here);
            # certificates are verified against SSL_CERT_FILE / SSL_CERT_DIR if set, else certifi's.
            httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=httpx.create_ssl_context()
            ) as client,
            client.stream(method, url, headers=headers, content=body, extensions=extensions) as response,
        ):
            text = await _read(response, what)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise NetworkError(f"{what} failed: {type(error).__name__}: {error}") from None
    return {"status": response.status_code, "headers": dict(response.headers), "body": text}


async def _read(response: httpx.Response, what: str) -> str:
    """The body as text, decoded (gzip, bounded) and cut short with an error past MAX_RESPONSE_BYTES."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise NetworkError(f"{what} answered with content encoding {encoding!r}; mediated HTTP decodes only gzip.")
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16) if encoding != "identity" else None
    body = bytearray()
    try:
        async for raw in response.aiter_raw():
            # A bounded decompression: never more output than one byte past the limit, whatever the ratio.
            data = inflate.decompress(raw, MAX_RESPONSE_BYTES - len(body) + 1) if inflate else raw
            body += data
            if len(body) > MAX_RESPONSE_BYTES:
                raise _too_large(what)
        if inflate is not None:
            body += inflate.flush()
    except zlib.error as error:
        raise NetworkError(f"{what} answered with a body that is not valid gzip: {error}.") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise _too_large(what)
    text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
    if len(text.encode()) > MAX_RESPONSE_BYTES:
        raise _too_large(what)
    return text


def _too_large(what: str) -> NetworkError:
    return NetworkError(
        f"{what} answered with a body larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB, the most a mediated"
        " response may carry; it was not read further. The response is at fault, not the extension: ask for"
        " less (a page, a range, a smaller format)."
    )
