"""What an extension may ask of the host — HTTP and model calls — each decided by the permission checker.

This is the *mediation* of the sandbox design: a confined worker or a wasm
guest has no network of its own, so a declared and granted request is
performed here, by the host, after the checker allowed it (and recorded it in
the audit log).  How an HTTP request is kept to what the checker approved
(headers, addresses, redirects, sizes, deadlines) is ``_mediated_http``'s job.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from symphony.hookspecs import (
    Invocation,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    one_line,
)
from symphony.hookspecs.ports import HostContext

from ..permissions import ModelBudgetTracker, ModelRequest, NetworkRequest, PermissionChecker
from ._mediated_http import (
    MAX_RESPONSE_BYTES,
    Target,
    fetch,
    is_public,
    request_body,
    request_headers,
    request_method,
    request_timeout,
)

__all__ = ["HostServices"]

HostCall = Callable[[str, dict[str, Any]], Awaitable[Any]]

_LOG_CHARS: Final = 4096


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
                message = one_line(str(params.get("message", ""))[:_LOG_CHARS])
                logging.getLogger(f"symphony.extensions.{extension}").info("%s", message)
                return None
            raise NotFoundError(f"The host offers no function {method!r} to extensions; it offers http, model and log.")

        return call

    async def http(self, extension: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check, then perform, exactly the request the checker decided on (see ``_mediated_http``)."""
        target = Target.parse(params.get("url"))
        method = request_method(params.get("method"))
        headers = request_headers(params.get("headers"))
        body = request_body(params.get("body"))
        timeout = request_timeout(params.get("timeout"))
        self.checker.require(extension, target.request, run_id=self._run_id)
        what = f"{method} {target.host}:{target.port} for extension {extension!r}"

        def choose(addresses: list[str]) -> str:
            return self._address(extension, target, addresses)

        return await fetch(method, target, choose, headers=headers, body=body, timeout=timeout, what=what)

    def _address(self, extension: str, target: Target, addresses: list[str]) -> str:
        """The first address the extension may reach: any public one, a non-public one only if granted itself."""
        denied = None
        for address in addresses:
            if address == target.host or is_public(address):
                return address
            decision = self.checker.evaluate(extension, NetworkRequest(host=address, port=target.port))
            if decision.allowed:
                self.checker.record(decision, run_id=self._run_id)
                return address
            denied = denied or decision
        if denied is None:
            raise NetworkError(f"The host name {target.host!r} resolves to no address.")
        self.checker.record(denied, run_id=self._run_id)
        raise PermissionDeniedError(
            f"Denied {denied.permission} to extension {extension!r}: {target.host!r} resolves to {denied.target},"
            " a loopback, private or link-local address, which a grant of a host name does not reach (DNS can"
            f" point any name there). {denied.reason}"
        )

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
        plugin, spec = instruments[self._model_instrument]
        # Through symphony_invoke like a node's call; made during the extension's call, so nested under it.
        outputs = await self._context.invoke(
            Invocation(
                kind="instrument",
                target=spec.name,
                inputs={"prompt": str(params.get("input", ""))},
                call=spec.factory({"model": model}),
                plugin=plugin,
                attributes={"symphony.model": model, "symphony.requested_by": extension},
            )
        )
        usage = outputs.get("usage") or {}
        tokens = int(usage.get("total_tokens", 0)) if isinstance(usage, dict) else 0
        self.budgets.after_call(extension, run, model, tokens=tokens)
        text = str(outputs.get("text", ""))
        if len(text.encode()) > MAX_RESPONSE_BYTES:  # it must fit the frame back to the worker
            raise NetworkError(
                f"Model {model!r} answered with more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB of text, the most"
                " a mediated answer may carry; ask for a shorter answer."
            )
        return text
