"""The worker side: confine this process, then serve the parent's requests over stdio.

Order is the point: the spec comes from the command line, stderr goes to the
log file, the process confines itself, and only then is the extension
imported (on ``load``), so no extension code ever runs unconfined.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import msgspec

from symphony.hookspecs import (
    ErrorPayload,
    ExtensionError,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
    SerializationError,
    SymphonyError,
    TransportError,
    die_with_parent,
    guest,
)
from symphony.hookspecs.wire.stdio import serve_stdio

from ..confine import ConfinementRefusedError, ConfinementReport, confine
from ._errors import ConfinementUnavailableError, WorkerStartError
from ._protocol import HOST, HOST_PREFIX, InvokeParams, LoadParams, ReadyInfo, WorkerSpec

__all__ = ["main"]

#: Read-only system locations: shared libraries an extension module may load later.  No secrets live here.
_SYSTEM_READ: Final = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache", "/dev/urandom")
_MIB: Final = 1024 * 1024


def _redirect_stderr(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)


def read_paths(spec: WorkerSpec) -> list[str]:
    """Everything the worker may read: the interpreter, its import paths, the grants, system libraries."""
    prefixes = [sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix]
    paths = [*prefixes, *(p for p in sys.path if p), *spec.environment_paths, *spec.policy.read_paths, *_SYSTEM_READ]
    return list(dict.fromkeys(os.path.abspath(p) for p in paths))


def main(raw_spec: str) -> int:
    """Run a worker; returns the exit status."""
    spec = msgspec.json.decode(raw_spec, type=WorkerSpec)
    die_with_parent(spec.parent_pid)  # first: a host killed from now on takes the worker with it
    _redirect_stderr(spec.log_path)
    os.chdir(spec.workdir)
    refusal: str | None = None
    report: ConfinementReport | None = None
    try:
        report = confine(
            spec.policy, read_paths=read_paths(spec), write_paths=[spec.workdir, "/dev/null", *spec.policy.write_paths]
        )
    except ConfinementRefusedError as error:
        refusal = str(error)
    except OSError as error:  # a mechanism failed half-way: never run the extension like this
        refusal = f"confinement failed: {error}"
    if refusal is not None:
        print(f"symphony worker {spec.name!r}: {refusal}", file=sys.stderr, flush=True)
    asyncio.run(_serve(spec, report, refusal))
    return 0


async def _serve(spec: WorkerSpec, report: ConfinementReport | None, refusal: str | None) -> None:
    await _Worker(spec, report, refusal).serve()


Handler = Callable[[str, dict[str, Any]], Any]


class _Worker:
    """One connection to the parent; requests are answered one at a time, in order."""

    def __init__(self, spec: WorkerSpec, report: ConfinementReport | None, refusal: str | None) -> None:
        self.spec = spec
        self.report = report
        self.refusal = refusal
        self.me = f"worker:{spec.name}"
        self.config: dict[str, Any] = {}
        self.handler: Handler | None = None
        self.is_async = False
        self.invocations = 0
        self._executor: ThreadPoolExecutor | None = None
        self._guest_lock = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._conn: Any = None

    async def serve(self) -> None:
        self._conn = await serve_stdio()
        while True:
            try:
                envelope = await self._conn.receive_envelope()
            except (TransportError, SerializationError, ConnectionError):
                return  # the parent went away (or is not speaking the protocol): nothing left to serve
            if isinstance(envelope.payload, RequestPayload):
                await self._answer(envelope, envelope.payload)

    async def _reply(self, request: MessageEnvelope, payload: ResponsePayload | ErrorPayload) -> None:
        reply = MessageEnvelope.create(
            payload, sender=self.me, recipient=HOST, correlation_id=request.header.message_id
        )
        try:
            await self._conn.send_envelope(reply)
        except (TypeError, msgspec.EncodeError) as error:
            failure = ExtensionError(f"extension {self.spec.name!r} returned a value that cannot be sent: {error}")
            error_reply = MessageEnvelope.create(
                ErrorPayload.from_exception(failure),
                sender=self.me,
                recipient=HOST,
                correlation_id=request.header.message_id,
            )
            await self._conn.send_envelope(error_reply)

    async def _answer(self, request: MessageEnvelope, payload: RequestPayload) -> None:
        try:
            result = await self._dispatch(payload.method, payload.params)
        except Exception as error:  # every failure becomes an error reply, never a dead worker
            await self._reply(request, ErrorPayload.from_exception(self._describe(error, payload)))
        else:
            await self._reply(request, ResponsePayload(result=result))

    def _describe(self, error: BaseException, payload: RequestPayload) -> SymphonyError:
        if isinstance(error, SymphonyError):
            return error
        where = f"operation {payload.params.get('operation')!r}" if payload.method == "invoke" else payload.method
        if isinstance(error, MemoryError):
            limit = self.spec.policy.memory_bytes
            shown = f"{limit // _MIB} MiB" if limit else "none set"
            return ExtensionError(f"extension {self.spec.name!r} ran out of memory in {where} (memory limit {shown})")
        return ExtensionError(f"extension {self.spec.name!r} raised {type(error).__name__} in {where}: {error}")

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if method == "invoke":
            return await self._invoke(msgspec.convert(params, InvokeParams))
        if method == "ping":
            return {"pid": os.getpid(), "invocations": self.invocations}
        if method == "confinement":
            return msgspec.to_builtins(self._confined())
        if method == "load":
            return self._load(msgspec.convert(params, LoadParams))
        raise ExtensionError(f"unknown worker method {method!r}; expected confinement, load, invoke or ping")

    def _confined(self) -> ConfinementReport:
        """What confinement holds; asked before ``load``, while no extension code has run to alter the answer."""
        if self.refusal is not None or self.report is None:
            raise ConfinementUnavailableError(self.refusal or "confinement was not applied", worker=self.spec.name)
        return self.report

    def _load(self, params: LoadParams) -> dict[str, Any]:
        self._confined()
        self.config = params.config
        guest.install(self)
        module_name, _, attribute = self.spec.entry.partition(":")
        # The runtime (msgspec, pluggy, symphony.*) is imported by now; the extension's own
        # environment goes first so that its imports prefer it to the host's packages.
        sys.path[:0] = self.spec.environment_paths
        started = time.perf_counter()
        try:
            target: Any = importlib.import_module(module_name)
            for part in attribute.split(".") if attribute else ():
                target = getattr(target, part)
        except Exception as error:
            raise WorkerStartError(
                f"cannot load extension {self.spec.name!r} from entry {self.spec.entry!r}: "
                f"{type(error).__name__}: {error}",
                worker=self.spec.name,
            ) from None
        if not callable(target):
            raise WorkerStartError(
                f"entry {self.spec.entry!r} of extension {self.spec.name!r} is {type(target).__name__}, "
                "expected a callable handler(operation: str, input: dict) -> dict",
                worker=self.spec.name,
            )
        self.handler = target
        self.is_async = asyncio.iscoroutinefunction(target)
        info = ReadyInfo(
            python=sys.version.split()[0],
            import_ms=(time.perf_counter() - started) * 1000,
        )
        return msgspec.to_builtins(info)  # type: ignore[no-any-return]

    async def _invoke(self, params: InvokeParams) -> dict[str, Any]:
        if self.handler is None:
            raise ExtensionError(f"extension {self.spec.name!r} is not loaded; the parent must send `load` first")
        self.invocations += 1
        if self.is_async:
            result = await self.handler(params.operation, params.input)
        else:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extension")
            result = await self._loop.run_in_executor(self._executor, self.handler, params.operation, params.input)
        if not isinstance(result, dict):
            raise ExtensionError(
                f"extension {self.spec.name!r} returned {type(result).__name__} from operation "
                f"{params.operation!r}; handlers must return a dict"
            )
        return result

    # -- the guest channel (see guest.py) --------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("an async handler must use `await guest.ahost_call(...)` / `guest.ahttp_request(...)`")
        return asyncio.run_coroutine_threadsafe(self.acall(method, params), self._loop).result()

    async def acall(self, method: str, params: dict[str, Any]) -> Any:
        async with self._guest_lock:
            request = MessageEnvelope.create(
                RequestPayload(method=HOST_PREFIX + method, params=params), sender=self.me, recipient=HOST
            )
            await self._conn.send_envelope(request)
            while True:
                envelope = await self._conn.receive_envelope()
                payload = envelope.payload
                if envelope.header.correlation_id != request.header.message_id:
                    continue  # nothing else is outstanding while the parent waits for us
                if isinstance(payload, ErrorPayload):
                    raise payload.to_exception()
                if isinstance(payload, ResponsePayload):
                    return payload.result
