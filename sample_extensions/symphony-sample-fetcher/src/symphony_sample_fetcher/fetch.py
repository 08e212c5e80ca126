"""``ask``: POST the input text to the configured endpoint and return the answer.

The worker this runs in has no network of its own; ``guest.http_request`` asks
the host, which performs the request only if the endpoint's host is declared
in the manifest *and* granted (``symphony ext grant sample-fetcher
network:127.0.0.1``).  A refusal arrives here as ``PermissionDeniedError`` and
is passed on unchanged, so the caller sees the grant command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symphony.hookspecs import ExtensionError, guest


def handle(operation: str, input: Mapping[str, Any]) -> dict[str, Any]:
    """The extension's entry; ``operation`` is the contribution's ``entry``."""
    if operation != "ask":
        raise ExtensionError(f"sample-fetcher has no operation {operation!r}; it offers 'ask'")
    text = input.get("text")
    if not isinstance(text, str):
        raise ExtensionError(f"sample-fetcher's 'ask' needs a string 'text', got {type(text).__name__}")
    config = guest.config()
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if config.get("token"):
        headers["Authorization"] = f"Bearer {config['token']}"
    response = guest.http_request("POST", str(config["endpoint"]), headers=headers, body=text)
    if response.status >= 400:
        raise ExtensionError(f"the endpoint answered HTTP {response.status}: {response.body[:200]}")
    return {"answer": response.body, "status": response.status}
