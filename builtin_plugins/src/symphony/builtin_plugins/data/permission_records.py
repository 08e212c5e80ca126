"""PermissionRecordsPort over the data service: synchronous, as the host's permission checker needs it.

Two carriers, one set of use cases: the embedded service's handlers called on the calling thread
(``DirectTransport.request_sync``: no HTTP, no event loop, one session per call, so the host's
audit writer thread may call it while the loop does too), or a remote service through an
``httpx.Client`` with the DataClient's URL, token and TLS settings.  Refusals arrive as the same
problems and become the same DataError classes as the DataClient's.  Remote writes carry an
Idempotency-Key, kept when one failed on the network, so sending the same decisions again is not
recorded twice; direct calls have no network to fail and send none (a key costs a write two statements).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from hashlib import blake2b
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
import msgspec

from symphony.hookspecs import NetworkError
from symphony.hookspecs.ports import DecisionRecord, GrantRecord, TrustMark

from .answers import Answer, json_of, problem_of, record_of

__all__ = ["ServicePermissionRecords"]

#: Largest page the service gives (service/routes/permissions.py) and records one write carries.
PAGE = 1000
BATCH = 1000
#: Writes that failed on the network whose keys are kept for a retry.
_MAX_PENDING = 256
_encode = msgspec.json.Encoder().encode


class SyncCarrier(Protocol):
    """Carries one request to the service and brings back its answer; NetworkError when it could not."""

    def request_sync(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer: ...


class HttpCarrier:
    """Requests as HTTP through an ``httpx.Client`` holding the base URL and the Authorization header.

    Closing it closes the client; a request after that opens another.  The host may stop the data component
    before the extension runtime, whose last audit flush must still reach the service.
    """

    def __init__(self, make: Callable[[], httpx.Client], where: str) -> None:
        self._make = make
        self._http: httpx.Client | None = None
        self._guard = threading.Lock()
        self.where = where

    def _client(self) -> httpx.Client:
        with self._guard:
            if self._http is None:
                self._http = self._make()
            return self._http

    def close(self) -> None:
        with self._guard:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def request_sync(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer:
        headers = {} if key is None else {"Idempotency-Key": key}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._client().request(method, path, content=body, params=query, headers=headers)
        except httpx.TransportError as error:
            raise NetworkError(
                f"The data service at {self.where} could not be reached ({type(error).__name__}: {error});"
                " check that it is running, then retry."
            ) from None
        return Answer(response.status_code, response.headers.get("content-type", ""), response.content)


class ServicePermissionRecords:
    """The caller's grants, trust marks and permission decisions, kept by the data service.

    Build it with ``direct(transport)`` (a ``DirectTransport`` of the embedded service) or
    ``remote(url, token, ...)``; ``close()`` closes what it opened (the HTTP client).
    """

    def __init__(self, carrier: SyncCarrier, *, keyed: bool, close: Callable[[], None] | None = None) -> None:
        self._carrier = carrier
        self._keyed = keyed
        self._close = close
        self._pending: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def direct(cls, transport: SyncCarrier) -> ServicePermissionRecords:
        return cls(transport, keyed=False)

    @classmethod
    def remote(cls, url: str, token: str, *, timeout: float = 30.0, verify: Any = True) -> ServicePermissionRecords:
        """Records at the data service at ``url`` (``symphony data serve``); ``verify`` as httpx takes it."""

        def make() -> httpx.Client:
            return httpx.Client(
                base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout, verify=verify
            )

        carrier = HttpCarrier(make, url.rstrip("/"))
        return cls(carrier, keyed=True, close=carrier.close)

    def __repr__(self) -> str:  # the token is in the carrier, which a repr must not show
        return "ServicePermissionRecords()"

    def close(self) -> None:
        if self._close is not None:
            self._close()

    # -- carriage ---------------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, query: Mapping[str, str] | None = None, body: Any = None) -> Any:
        content = None if body is None else _encode(body)
        key = None
        fingerprint = b""
        if self._keyed and method != "GET":
            fingerprint = blake2b(f"{method} {path}\n".encode() + (content or b""), digest_size=16).digest()
            with self._lock:
                key = self._pending.pop(fingerprint, None)
            key = key or uuid.uuid4().hex
        try:
            answer = self._carrier.request_sync(method, path, query=query, body=content, key=key)
        except NetworkError:
            if key is not None:
                with self._lock:
                    self._pending[fingerprint] = key
                    while len(self._pending) > _MAX_PENDING:
                        self._pending.popitem(last=False)
            raise
        if answer.status >= 400:
            raise problem_of(answer)
        return json_of(answer) if answer.content else None

    def _all(self, path: str, query: dict[str, str], limit: int | None = None) -> list[dict[str, Any]]:
        """Every item of a listing (up to ``limit``), a page at a time."""
        items: list[dict[str, Any]] = []
        while limit is None or len(items) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(items))
            page = self._send("GET", path, query={**query, "limit": str(size)})
            items += page["items"]
            if page["next_cursor"] is None:
                break
            query = {**query, "cursor": str(page["next_cursor"])}
        return items

    # -- the port ---------------------------------------------------------------------------------

    def grant(self, grants: list[GrantRecord]) -> None:
        for start in range(0, len(grants), BATCH):
            batch = [msgspec.to_builtins(record) for record in grants[start : start + BATCH]]
            self._send("PUT", "/v1/permissions/grants", body={"grants": batch})

    def revoke(self, extension: str, permissions: list[str] | None = None) -> list[str]:
        if permissions is None:
            answer = self._send("POST", "/v1/permissions/grants/revoke", body={"extension": extension})
            return list(answer["revoked"])
        revoked: list[str] = []
        for start in range(0, len(permissions), BATCH):
            body = {"extension": extension, "permissions": permissions[start : start + BATCH]}
            revoked += self._send("POST", "/v1/permissions/grants/revoke", body=body)["revoked"]
        return sorted(revoked)

    def grants(self, extension: str | None = None) -> list[GrantRecord]:
        query = {} if extension is None else {"extension": extension}
        return [record_of(item, GrantRecord) for item in self._all("/v1/permissions/grants", query)]

    def trust(self, mark: TrustMark) -> None:
        self._send("PUT", "/v1/permissions/trust", body=msgspec.to_builtins(mark))

    def untrust(self, extension: str) -> bool:
        return bool(self._send("DELETE", f"/v1/permissions/trust/{quote(extension, safe='')}")["removed"])

    def trust_marks(self) -> list[TrustMark]:
        return [record_of(item, TrustMark) for item in self._all("/v1/permissions/trust", {})]

    def version(self) -> int:
        return int(self._send("GET", "/v1/permissions/version")["version"])

    def record_decisions(self, decisions: list[DecisionRecord]) -> None:
        """One request per batch of up to ``BATCH`` (each its own transaction); the checker's batches are smaller."""
        for start in range(0, len(decisions), BATCH):
            batch = [_decision_body(record) for record in decisions[start : start + BATCH]]
            self._send("POST", "/v1/permissions/decisions", body={"decisions": batch})

    def decisions(
        self,
        *,
        extension: str | None = None,
        decision: Literal["allowed", "denied"] | None = None,
        run_id: str | None = None,
        limit: int | None = 100,
    ) -> list[DecisionRecord]:
        filters = (("extension", extension), ("decision", decision), ("run_id", run_id))
        query = {name: value for name, value in filters if value is not None}
        return [record_of(item, DecisionRecord) for item in self._all("/v1/permissions/decisions", query, limit)]


def _decision_body(record: DecisionRecord) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(record)
    body.pop("id", None)
    return body
