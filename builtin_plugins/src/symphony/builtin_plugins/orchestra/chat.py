"""The ``openai-chat`` instrument: any OpenAI-compatible ``/chat/completions`` endpoint over httpx.

Works with OpenAI, Azure-style gateways, vLLM, llama.cpp's server, Ollama's
OpenAI API and the like: they share the request and response shape.
Defaults come from ``[components.openai.options]`` (``base_url``, ``model``,
``api_key_env``, ``timeout``, ``max_retries``, ``retry_backoff``) and a node's ``config``
overrides them.  The key is read from the environment variable
``api_key_env`` names (default ``OPENAI_API_KEY``; ``""`` for a server without
keys) when the node runs, and is never put in an error, a log line or an output.

Rate limits (429) and server errors (5xx) are retried with exponential
backoff, honouring ``Retry-After``; other errors fail at once with what the
server said.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from symphony.hookspecs import AuthorizationError, NetworkError, RetryPolicy, ValidationError

if TYPE_CHECKING:  # httpx is imported on first use: loading the plugin must stay cheap
    import httpx

__all__ = ["DEFAULTS", "chat_instrument"]

DEFAULTS: Final[Mapping[str, Any]] = {
    "base_url": "https://api.openai.com/v1",
    "model": "gpt-4o-mini",
    "api_key_env": "OPENAI_API_KEY",
    "timeout": 60.0,
    "max_retries": 3,
    "retry_backoff": 0.5,
}
_OPTIONAL: Final = ("temperature", "max_tokens", "top_p", "stop", "seed")
_KNOWN: Final = {*DEFAULTS, *_OPTIONAL, "system"}


def _settings(defaults: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(config) - _KNOWN)
    if unknown:
        raise ValidationError(
            f"Instrument 'openai-chat' does not know config key(s) {', '.join(unknown)};"
            f" known: {', '.join(sorted(_KNOWN))}."
        )
    merged = {**DEFAULTS, **defaults, **config}
    if not isinstance(merged["api_key_env"], str):
        raise ValidationError(
            f'config.api_key_env must be a variable name (or "" for no key); got {merged["api_key_env"]!r}.'
        )
    for key in ("base_url", "model"):
        if not isinstance(merged[key], str) or not merged[key]:
            raise ValidationError(
                f"Instrument 'openai-chat' needs config.{key}, a non-empty string; got {merged[key]!r}."
            )
    if not isinstance(merged["timeout"], int | float) or merged["timeout"] <= 0:
        raise ValidationError(f"Instrument 'openai-chat' needs config.timeout > 0 seconds; got {merged['timeout']!r}.")
    if not isinstance(merged["max_retries"], int) or merged["max_retries"] < 0:
        raise ValidationError(f"Instrument 'openai-chat' needs config.max_retries >= 0; got {merged['max_retries']!r}.")
    return merged


def _messages(settings: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages = inputs.get("messages")
    if messages is None:
        prompt = inputs.get("prompt")
        if not isinstance(prompt, str):
            raise ValidationError("Instrument 'openai-chat' needs input 'prompt' (a string) or 'messages' (a list).")
        messages = [{"role": "user", "content": prompt}]
    if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise ValidationError("Input 'messages' must be a list of objects with 'role' and 'content'.")
    system = settings.get("system")
    return [{"role": "system", "content": system}, *messages] if isinstance(system, str) else list(messages)


class ChatInstrument:
    """One node's instrument; the HTTP client is created per call so a node holds no sockets between runs."""

    def __init__(self, settings: Mapping[str, Any], transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = dict(settings)
        self._transport = transport
        self._retry = RetryPolicy(
            max_attempts=int(settings["max_retries"]) + 1,
            backoff_initial=float(settings["retry_backoff"]),
            backoff_multiplier=2.0,
            backoff_max=20.0,
        )

    def _headers(self) -> dict[str, str]:
        name = self.settings["api_key_env"]
        if not name:
            return {}  # a local server without authentication
        key = os.environ.get(name)
        if not key:
            raise AuthorizationError(
                f"Instrument 'openai-chat' needs an API key in the environment variable {name}; set it (or point"
                ' config.api_key_env at another variable, or at "" for a server without keys).'
            )
        return {"Authorization": f"Bearer {key}"}

    async def __call__(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        settings = self.settings
        body: dict[str, Any] = {"model": settings["model"], "messages": _messages(settings, inputs)}
        body.update({key: settings[key] for key in _OPTIONAL if key in settings})
        url = settings["base_url"].rstrip("/") + "/chat/completions"
        headers = self._headers()
        import httpx

        async with httpx.AsyncClient(timeout=settings["timeout"], transport=self._transport) as client:
            response = await self._post(client, url, body, headers)
        return _outputs(response, url)

    async def _post(
        self, client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response:
        import httpx
        from tenacity import retry_if_exception_type

        from .._backoff import retrying

        async def once() -> httpx.Response:
            try:
                response = await client.post(url, json=body, headers=headers)
            except httpx.TimeoutException:
                raise _Unanswered(f"no answer within {self.settings['timeout']:g} s") from None
            except httpx.TransportError as error:
                raise _Unanswered(f"{type(error).__name__}: {error}") from None
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}: {_server_message(response)}"
                raise _Unanswered(problem, wait=_retry_after(response))
            return response

        unanswered = retry_if_exception_type(_Unanswered)
        try:
            async for attempt in retrying(self._retry, retry=unanswered, asked=_Unanswered.asked):
                with attempt:
                    return await once()
        except _Unanswered as failure:
            raise NetworkError(
                f"Chat completion at {url} failed after {self._retry.max_attempts} attempt(s): {failure}."
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover


class _Unanswered(Exception):
    """No usable answer (no response, a rate limit, a server error): worth another attempt."""

    def __init__(self, problem: str, *, wait: float | None = None) -> None:
        super().__init__(problem)
        self.wait = wait

    @staticmethod
    def asked(error: BaseException) -> float | None:
        """The wait the server asked for (``Retry-After``), if it did."""
        return error.wait if isinstance(error, _Unanswered) else None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


def _server_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(error, dict):
        return str(error.get("message", error))[:200]
    return str(error or response.reason_phrase)[:200]


def _outputs(response: httpx.Response, url: str) -> dict[str, Any]:
    if response.status_code in (401, 403):
        raise AuthorizationError(
            f"Chat completion at {url} was refused (HTTP {response.status_code}: {_server_message(response)});"
            " check the API key."
        )
    if response.status_code >= 400:
        raise ValidationError(
            f"Chat completion at {url} rejected the request (HTTP {response.status_code}: {_server_message(response)})."
        )
    try:
        data = response.json()
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise NetworkError(f"Chat completion at {url} answered with something that is not a chat completion.") from None
    return {
        "text": text if isinstance(text, str) else "",
        "model": str(data.get("model", "")),
        "finish_reason": str(choice.get("finish_reason") or ""),
        "usage": data.get("usage") or {},
    }


def chat_instrument(defaults: Mapping[str, Any]) -> Any:
    """The InstrumentSpec factory, closing over ``[components.openai.options]``."""

    def factory(config: Mapping[str, Any]) -> ChatInstrument:
        return ChatInstrument(_settings(defaults, config))

    return factory
