"""What an extension may ask of the host — HTTP and model calls — each decided by the permission checker.

This is the *mediation* of the sandbox design: a confined worker or a wasm
guest has no network of its own, so a declared and granted request is
performed here, by the host, after the checker allowed it (and recorded it in
the audit log).  Redirects are not followed: a redirect to another host would
be a request the checker never saw.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import httpx

from symphony.hookspecs import NetworkError, NotFoundError, ValidationError
from symphony.hookspecs.ports import HostContext

from ..permissions import ModelBudgetTracker, ModelRequest, NetworkRequest, PermissionChecker

__all__ = ["HostServices"]

HostCall = Callable[[str, dict[str, Any]], Awaitable[Any]]

_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
_MAX_BODY: Final = 16 * 1024 * 1024


class HostServices:
    """The host functions extensions call, by name: ``http``, ``model``, ``log``.

    :param model_instrument: the instrument contribution that performs model calls
        (``openai-chat`` by default; any instrument taking ``prompt`` and giving ``text``).
    """

    def __init__(
        self,
        checker: PermissionChecker,
        context: HostContext,
        *,
        run_id: str | None = None,
        model_instrument: str = "openai-chat",
    ) -> None:
        self.checker = checker
        self.budgets = ModelBudgetTracker(checker)
        self._context = context
        self._run_id = run_id
        self._model_instrument = model_instrument

    def host_call(self, extension: str) -> HostCall:
        """The host call given to ``extension``'s runtime."""

        async def call(method: str, params: dict[str, Any]) -> Any:
            if method == "http":
                return await self.http(extension, params)
            if method == "model":
                return await self.model(extension, params)
            if method == "log":
                logging.getLogger(f"symphony.extensions.{extension}").info("%s", str(params.get("message", ""))[:4096])
                return None
            raise NotFoundError(f"The host offers no function {method!r} to extensions; it offers http, model and log.")

        return call

    async def http(self, extension: str, params: dict[str, Any]) -> dict[str, Any]:
        url = params.get("url")
        method = str(params.get("method", "GET")).upper()
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError(f"An http host call needs an absolute http(s) URL; got {url!r}.")
        if method not in _METHODS:
            raise ValidationError(f"An http host call's method must be one of {', '.join(_METHODS)}; got {method!r}.")
        try:
            request = NetworkRequest.from_url(url)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        self.checker.require(extension, request, run_id=self._run_id)
        body = params.get("body")
        timeout = params.get("timeout") or 30.0
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                response = await client.request(
                    method, url, headers=dict(params.get("headers") or {}), content=body.encode() if body else None
                )
        except httpx.HTTPError as error:
            raise NetworkError(
                f"{method} {request.host} failed for extension {extension!r}: {type(error).__name__}"
            ) from None
        return {"status": response.status_code, "headers": dict(response.headers), "body": response.text[:_MAX_BODY]}

    async def model(self, extension: str, params: dict[str, Any]) -> str:
        model = params.get("model")
        if not isinstance(model, str) or not model:
            raise ValidationError(f"A model host call needs a model id; got {model!r}.")
        run = self._run_id or "interactive"
        self.checker.require(extension, ModelRequest(model=model), run_id=self._run_id)
        self.budgets.before_call(extension, run, model).raise_if_denied()
        instruments = self._context.contributions("symphony_instruments")
        if self._model_instrument not in instruments:
            raise NotFoundError(
                f"Model calls go through the instrument {self._model_instrument!r}, which is not installed;"
                " set [components.extensions.options] model_instrument."
            )
        _plugin, spec = instruments[self._model_instrument]
        outputs = await spec.factory({"model": model})({"prompt": str(params.get("input", ""))})
        usage = outputs.get("usage") or {}
        tokens = int(usage.get("total_tokens", 0)) if isinstance(usage, dict) else 0
        self.budgets.after_call(extension, run, model, tokens=tokens)
        return str(outputs.get("text", ""))
