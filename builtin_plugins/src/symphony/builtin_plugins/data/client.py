"""DataClient: the DataAccessPort as one request per use case to the data service, over a pluggable transport.

The transport is the only seam: ``Transport.request`` carries a request to the
service and brings back its answer (status, content type, body), over HTTP
(``HttpTransport``: a remote service, or the app in process through httpx's ASGI
transport) or straight to the service's handlers (``direct.DirectTransport``, the
embedded default).  Every use case is written once, above it.  Errors arrive as
RFC 9457 problems whose ``category`` names the exception class
(``error_class_for``), so nothing parses messages.  Every write carries an
``Idempotency-Key``; a write that failed with a NetworkError keeps its key, so
making the same write again replays the first one's outcome if it did commit.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping
from hashlib import blake2b
from typing import Any, Protocol

import httpx
import msgspec

from symphony.hookspecs import DataError, NetworkError, NotFoundError, UserId, WorkflowId
from symphony.hookspecs.ports import (
    AuditRecord,
    CreateTokenRequest,
    CreateUserRequest,
    CreateWorkflowRequest,
    NewToken,
    Page,
    PreValidationPort,
    TokenRecord,
    UpdateWorkflowRequest,
    User,
    WorkflowRecord,
    WorkflowVersionRecord,
)

from .answers import Answer, json_of, page_of, problem_of, record_of, segment
from .runs_client import RunsAPI

__all__ = ["Answer", "DataClient", "HttpTransport", "Transport"]

#: Writes that failed on the network and whose keys are kept for a retry; the oldest is forgotten first.
_MAX_PENDING = 1024
_IN_PROCESS_URL = "http://data.invalid"
_encode = msgspec.json.Encoder().encode


class Transport(Protocol):
    """How requests reach the data service; raises NetworkError when one could not be carried."""

    #: Where the service is, for messages ("http://127.0.0.1:8765", "in this process").
    where: str

    async def request(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer:
        """``method`` on ``path`` (its segments percent-encoded) with the JSON ``body`` and Idempotency-Key ``key``."""
        ...

    async def aclose(self) -> None: ...


class HttpTransport:
    """Requests as HTTP through an ``httpx.AsyncClient`` holding the base URL and the Authorization header."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self.where = str(http.base_url)

    async def request(
        self, method: str, path: str, *, query: Mapping[str, str] | None, body: bytes | None, key: str | None
    ) -> Answer:
        headers = {} if key is None else {"Idempotency-Key": key}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(method, path, content=body, params=query, headers=headers)
        except httpx.TransportError as error:
            raise NetworkError(
                f"The data service at {self.where} could not be reached ({type(error).__name__}: {error});"
                " check that it is running, then retry: writes are idempotent."
            ) from None
        return Answer(response.status_code, response.headers.get("content-type", ""), response.content)

    async def aclose(self) -> None:
        await self._http.aclose()


class DataClient(RunsAPI):
    """The DataAccessPort over a ``Transport``; pre-validates each write first when given the port.

    Build it with ``direct(service, token)`` (the service's handlers in this process, no HTTP),
    ``in_process(app, token)`` (the ASGI app in this process through httpx, no socket) or
    ``remote(url, token)``.  Close it with ``aclose()``.
    """

    def __init__(self, transport: Transport, *, pre_validation: PreValidationPort | None = None) -> None:
        self._transport = transport
        self._pre = pre_validation
        self._save_now = getattr(transport, "save_nodes_now", None)  # the direct transport's: checkpoints as calls
        self._pending: OrderedDict[bytes, str] = OrderedDict()

    @classmethod
    def direct(cls, service: Any, token: str, *, pre_validation: PreValidationPort | None = None) -> DataClient:
        """A client calling ``service`` (an app's ``app.state.service``) without HTTP: the embedded default."""
        from .direct import DirectTransport

        return cls(DirectTransport(service, token), pre_validation=pre_validation)

    @classmethod
    def in_process(cls, app: Any, token: str, *, pre_validation: PreValidationPort | None = None) -> DataClient:
        """A client calling the ASGI ``app`` in this process through the whole HTTP stack (httpx's ASGI transport)."""
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        http = httpx.AsyncClient(transport=transport, base_url=_IN_PROCESS_URL, headers=_auth(token))
        return cls(HttpTransport(http), pre_validation=pre_validation)

    @classmethod
    def remote(
        cls,
        url: str,
        token: str,
        *,
        pre_validation: PreValidationPort | None = None,
        timeout: float = 30.0,
        verify: Any = True,
    ) -> DataClient:
        """A client of the data service at ``url`` (``symphony data serve``); ``verify`` as httpx takes it."""
        http = httpx.AsyncClient(base_url=url.rstrip("/"), headers=_auth(token), timeout=timeout, verify=verify)
        return cls(HttpTransport(http), pre_validation=pre_validation)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def health(self) -> dict[str, Any]:
        """The service's own health (``GET /v1/health``, anonymous): status, database, schema revision.

        A service that answers that its database is down (503) is reported, not raised; one that cannot be
        reached is a NetworkError.
        """
        body = json_of(await self._transport.request("GET", "/v1/health", query=None, body=None, key=None))
        if not isinstance(body, dict):
            raise DataError(f"The data service's health is not a JSON object: {str(body)[:100]!r}.")
        return body

    async def __aenter__(self) -> DataClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport -------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        key: str | None = None,
    ) -> Answer:
        answer = await self._transport.request(method, path, query=query, body=body, key=key)
        if answer.status >= 400:
            raise problem_of(answer)
        return answer

    async def _read(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        return json_of(await self._send("GET", path, query=query))

    async def _read_optional(self, path: str) -> Any:
        try:
            return await self._read(path)
        except NotFoundError:
            return None

    async def _write(
        self, method: str, path: str, document: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> Any:
        """One write under an idempotency key, reused if the same write failed on the network before.

        ``idempotent``: the write itself may be repeated harmlessly (an upsert), so it needs no key, and the
        service is spared the key's two statements: the hot path of checkpoints.
        """
        body = None if document is None else _encode(document)
        if idempotent:
            answer = await self._send(method, path, body=body, key=None)
            return json_of(answer) if answer.content else None
        fingerprint = blake2b(f"{method} {path}\n".encode() + (body or b""), digest_size=16).digest()
        key = self._pending.pop(fingerprint, None) or uuid.uuid4().hex
        try:
            answer = await self._send(method, path, body=body, key=key)
        except NetworkError:
            self._pending[fingerprint] = key
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
            raise
        return json_of(answer) if answer.content else None

    # -- workflows -------------------------------------------------------------------------------

    async def create_workflow(self, request: CreateWorkflowRequest) -> WorkflowRecord:
        if self._pre is not None:
            self._pre.validate_workflow_request(request)
        document: dict[str, Any] = {"name": request.name, "spec": request.spec}
        if request.owner is not None:
            document["owner"] = request.owner
        return record_of(await self._write("POST", "/v1/workflows", document), WorkflowRecord)

    async def get_workflow(self, workflow_id: WorkflowId) -> WorkflowRecord | None:
        data = await self._read_optional(f"/v1/workflows/{segment(workflow_id)}")
        return None if data is None else record_of(data, WorkflowRecord)

    async def update_workflow(self, request: UpdateWorkflowRequest) -> WorkflowRecord:
        if self._pre is not None:
            self._pre.validate_workflow_update(request)
        document: dict[str, Any] = {"spec": request.spec, "expected_version": request.expected_version}
        if request.name is not None:
            document["name"] = request.name
        return record_of(await self._write("PUT", f"/v1/workflows/{segment(request.id)}", document), WorkflowRecord)

    async def list_workflows(self, *, limit: int = 50, cursor: str | None = None) -> Page[WorkflowRecord]:
        return page_of(await self._read("/v1/workflows", {"limit": limit, "cursor": cursor}), WorkflowRecord)

    async def list_workflow_versions(
        self, workflow_id: WorkflowId, *, limit: int = 50, cursor: str | None = None
    ) -> Page[WorkflowVersionRecord]:
        query = {"limit": limit, "cursor": cursor}
        return page_of(await self._read(f"/v1/workflows/{segment(workflow_id)}/versions", query), WorkflowVersionRecord)

    async def get_workflow_version(self, workflow_id: WorkflowId, version: int) -> WorkflowVersionRecord | None:
        data = await self._read_optional(f"/v1/workflows/{segment(workflow_id)}/versions/{int(version)}")
        return None if data is None else record_of(data, WorkflowVersionRecord)

    async def delete_workflow(self, workflow_id: WorkflowId) -> None:
        await self._write("DELETE", f"/v1/workflows/{segment(workflow_id)}")

    async def share_workflow(self, workflow_id: WorkflowId, user_id: UserId, role: str = "viewer") -> None:
        await self._write("PUT", f"/v1/workflows/{segment(workflow_id)}/shares/{segment(user_id)}", {"role": role})

    async def unshare_workflow(self, workflow_id: WorkflowId, user_id: UserId) -> None:
        await self._write("DELETE", f"/v1/workflows/{segment(workflow_id)}/shares/{segment(user_id)}")

    # -- users and tokens ------------------------------------------------------------------------

    async def create_user(self, request: CreateUserRequest) -> User:
        if self._pre is not None:
            self._pre.validate_user_request(request)
        document = {"name": request.name, "email": request.email, "role": request.role}
        return record_of(await self._write("POST", "/v1/users", document), User)

    async def get_user(self, user_id: UserId) -> User | None:
        data = await self._read_optional(f"/v1/users/{segment(user_id)}")
        return None if data is None else record_of(data, User)

    async def list_users(self, *, limit: int = 50, cursor: str | None = None) -> Page[User]:
        return page_of(await self._read("/v1/users", {"limit": limit, "cursor": cursor}), User)

    async def me(self) -> User:
        return record_of(await self._read("/v1/me"), User)

    async def create_token(self, request: CreateTokenRequest) -> NewToken:
        document: dict[str, Any] = {"name": request.name}
        if request.expires_in is not None:
            document["expires_in"] = request.expires_in
        if request.user_id is not None:
            document["user_id"] = request.user_id
        return record_of(await self._write("POST", "/v1/tokens", document), NewToken)

    async def list_tokens(
        self, *, user_id: UserId | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[TokenRecord]:
        return page_of(
            await self._read("/v1/tokens", {"user_id": user_id, "limit": limit, "cursor": cursor}), TokenRecord
        )

    async def revoke_token(self, token_id: str) -> None:
        await self._write("DELETE", f"/v1/tokens/{segment(token_id)}")

    async def list_audit(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        resource: str | None = None,
        actor: str | None = None,
    ) -> Page[AuditRecord]:
        query = {"limit": limit, "cursor": cursor, "resource": resource, "actor": actor}
        return page_of(await self._read("/v1/audit", query), AuditRecord)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _query_value(value: Any) -> str:
    """A query parameter as httpx would write it, so every transport hands the service the same strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
