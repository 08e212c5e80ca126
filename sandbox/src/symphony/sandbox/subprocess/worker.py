"""The parent side: start a confined worker, invoke it, notice when it dies, stop it.

One :class:`SubprocessWorker` is one extension in one process, forked by the
host's zygote (this interpreter) or started afresh (another interpreter, or
``fork_server=False``); either way the same code confines it in the same
order.  Calls are serialised (one in flight), which keeps the protocol a
plain request/response exchange, interleaved only with the worker's own
``host.*`` requests during an invocation.  Any failure of the *process*
(crash, timeout, garbage on the stream) kills it and raises one WorkerError
naming what happened; the object can then ``start()`` again.  An error
*inside* the extension is an ExtensionError and leaves the worker running.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import msgspec

from symphony.hookspecs import (
    ErrorPayload,
    ExtensionError,
    SerializationError,
    SymphonyError,
    TransportError,
)

from ..confine import ConfinementPolicy, ConfinementReport
from ._deadline import CallDeadline
from ._errors import (
    ConfinementUnavailableError,
    WorkerCrashedError,
    WorkerError,
    WorkerNotRunningError,
    WorkerProtocolError,
    WorkerStartError,
    WorkerTimeoutError,
)
from ._launch import current_umask, default_python, same_interpreter, worker_env, worker_sys_path
from ._link import WorkerLink, open_link
from ._procstat import read_usage
from ._protocol import (
    HOST_PREFIX,
    PROTOCOL,
    Call,
    Done,
    Failed,
    Hello,
    Invoke,
    ReadyInfo,
    Start,
    WorkerSpec,
    decode_hello,
    failure,
)

__all__ = ["HostCall", "SubprocessWorker", "WorkerInfo", "WorkerStats"]

#: ``host_call(method, params) -> result``: answers the worker's ``host.<method>`` requests.
#: Raise a SymphonyError (e.g. PermissionDeniedError) to refuse; the extension sees it raised.
HostCall = Callable[[str, dict[str, Any]], Awaitable[Any]]

_MIB: Final = 1024 * 1024
_LOG_TAIL: Final = 600


class WorkerInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A started worker: its pid, the confinement it applied and skipped, how long start took, and whether forked."""

    pid: int
    confinement: ConfinementReport
    python: str
    start_ms: float
    import_ms: float
    #: Forked by the host's zygote (True) or started as a fresh interpreter.
    forked: bool


class WorkerStats(msgspec.Struct, frozen=True, kw_only=True):
    """Resource use and counters, for ``symphony ext ps``."""

    name: str
    running: bool
    pid: int | None
    rss_bytes: int
    peak_rss_bytes: int
    cpu_seconds: float
    invocations: int
    failures: int
    starts: int


async def _no_host_calls(method: str, params: dict[str, Any]) -> Any:
    from symphony.hookspecs import PermissionDeniedError

    raise PermissionDeniedError(f"this worker was given no host functions; {method!r} is not available")


class SubprocessWorker:
    """One confined worker process for the extension ``name`` whose handler is ``entry`` (``module:attr``).

    :param policy: what the worker may do (files, network, limits); see ConfinementPolicy.
    :param sys_path: where the extension's code is importable from (read-only to the worker).
    :param config: the extension's configuration, secrets included: sent in the ``load``
        request, never through the environment or the command line.
    :param host_call: answers the worker's guest API requests; by default every one is refused.
    :param python: the interpreter to run; default this one.
    :param environment_paths: site-packages of the extension's own virtual environment: put in
        front of ``sys.path`` after the worker's runtime is imported and before the extension is,
        so the extension's imports prefer them to the host's packages (readable to the worker).
    :param start_timeout: seconds for spawn + confine + handshake + load.
    :param fork_server: fork the worker from the host's zygote when ``python`` is this
        interpreter (a virtual environment's link to it included); False: always start a
        fresh interpreter.  The confinement is the same either way.
    """

    def __init__(
        self,
        name: str,
        entry: str,
        *,
        policy: ConfinementPolicy | None = None,
        sys_path: Sequence[str] = (),
        config: Mapping[str, Any] | None = None,
        host_call: HostCall | None = None,
        python: str | None = None,
        environment_paths: Sequence[str] = (),
        start_timeout: float = 10.0,
        fork_server: bool = True,
    ) -> None:
        if ":" not in entry or not all(entry.partition(":")[::2]):
            raise ValueError(f"entry: expected 'module:callable', got {entry!r}")
        self.name = name
        self.entry = entry
        self.policy = policy or ConfinementPolicy()
        self.sys_path = tuple(sys_path)
        self.config = dict(config or {})
        self.host_call = host_call or _no_host_calls
        self.python = python or default_python()
        self.environment_paths = tuple(environment_paths)
        self.start_timeout = start_timeout
        self.forks = fork_server and same_interpreter(self.python)
        self.info: WorkerInfo | None = None
        self._link: WorkerLink | None = None
        self._tmp: Path | None = None
        self._lock = asyncio.Lock()
        self._seq = itertools.count(1)
        self._deadline = CallDeadline()
        self._invocations = 0
        self._failures = 0
        self._starts = 0

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._link is not None and self._link.process.returncode is None

    @property
    def workdir(self) -> Path | None:
        """The private working directory (writable by the worker), while it runs."""
        return self._tmp / "work" if self._tmp else None

    async def start(self) -> WorkerInfo:
        """Start (fork or spawn), confine, hello and load; returns what the worker reported.

        Raises ConfinementUnavailableError if the policy needs a mechanism this
        kernel lacks (and weaker modes are not allowed), WorkerStartError otherwise.
        """
        async with self._lock:
            if self.running and self.info is not None:
                return self.info
            await self._discard()
            started = time.perf_counter()
            self._tmp = Path(tempfile.mkdtemp(prefix=f"symphony-worker-{_safe(self.name)}-"))
            workdir = self._tmp / "work"
            workdir.mkdir()
            spec = WorkerSpec(
                name=self.name,
                entry=self.entry,
                policy=self.policy,
                workdir=str(workdir),
                log_path=str(self._tmp / "worker.log"),
                environment_paths=self.environment_paths,
            )
            opening = Start(
                spec=spec,
                sys_path=tuple(worker_sys_path(self.sys_path)),
                env=worker_env(str(workdir)),
                umask=current_umask(),
            )
            try:
                async with asyncio.timeout(self.start_timeout):
                    self._link = link = await open_link(self.python, fork=self.forks)
                    self._starts += 1
                    await link.send(opening)
                    confinement = self._accept(decode_hello(await link.receive_frame()))
                    result = await self._exchange(link, Call(next(self._seq), "load", {"config": self.config}), "load")
            except TimeoutError:
                await self._discard()
                raise WorkerStartError(
                    f"worker for {self.name!r} did not start within {self.start_timeout} s{self._log_tail()}",
                    worker=self.name,
                ) from None
            except WorkerError:
                await self._discard()
                raise
            except (TransportError, SerializationError, msgspec.DecodeError, OSError) as error:
                detail = await self._death_reason()
                await self._discard()
                raise WorkerStartError(
                    f"worker for {self.name!r} failed to start: {error}{detail}", worker=self.name
                ) from None
            ready = msgspec.convert(result, ReadyInfo)
            self.info = WorkerInfo(
                pid=link.process.pid,  # ours to know: the worker answers after extension code ran
                confinement=confinement,
                python=ready.python,
                start_ms=(time.perf_counter() - started) * 1000,
                import_ms=ready.import_ms,
                forked=self.forks,
            )
            return self.info

    def _accept(self, hello: Hello) -> ConfinementReport:
        """The confinement the worker applied, from its first frame (sent before any extension code ran)."""
        if hello.protocol != PROTOCOL:
            raise WorkerStartError(
                f"worker for {self.name!r} speaks worker protocol {hello.protocol}, this host {PROTOCOL}: "
                f"its interpreter {self.python!r} imports another release of symphony-sandbox",
                worker=self.name,
            )
        if hello.refusal is not None or hello.confinement is None:
            raise ConfinementUnavailableError(hello.refusal or "confinement was not applied", worker=self.name)
        return hello.confinement

    async def stop(self) -> None:
        """End the worker (EOF on its stdin, then SIGKILL after a grace period) and remove its directory."""
        async with self._lock:
            await self._discard(graceful=True)

    async def __aenter__(self) -> SubprocessWorker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- calls ------------------------------------------------------------------------------

    async def invoke(self, operation: str, input: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """Run ``operation`` with ``input`` in the worker; its dict result.

        ``timeout`` (seconds) defaults to the policy's ``wall_clock_seconds``; when
        it passes the worker is killed and WorkerTimeoutError raised.  An
        exception inside the extension arrives as ExtensionError (or the
        SymphonyError it raised) and the worker keeps running.
        """
        deadline = timeout if timeout is not None else self.policy.wall_clock_seconds
        request = Invoke(next(self._seq), operation, input if type(input) is dict else dict(input))
        await self._lock.acquire()  # not ``async with``: two coroutine hops fewer on the hot path
        self._invocations += 1
        try:
            result = await self._call(request, deadline, operation)
        except BaseException:
            self._failures += 1
            raise
        finally:
            self._lock.release()
        if type(result) is not dict:
            raise WorkerProtocolError(f"worker for {self.name!r} answered with a {type(result).__name__}, not a dict")
        return result

    async def ping(self, *, timeout: float = 5.0) -> float:
        """Round-trip time of a health check, in seconds."""
        async with self._lock:
            started = time.perf_counter()
            await self._call(Call(next(self._seq), "ping"), timeout, "ping")
            return time.perf_counter() - started

    def stats(self) -> WorkerStats:
        pid = self._link.process.pid if self._link is not None else None
        usage = read_usage(pid) if pid is not None and self.running else None
        return WorkerStats(
            name=self.name,
            running=self.running,
            pid=pid,
            rss_bytes=usage.rss_bytes if usage else 0,
            peak_rss_bytes=usage.peak_rss_bytes if usage else 0,
            cpu_seconds=usage.cpu_seconds if usage else 0.0,
            invocations=self._invocations,
            failures=self._failures,
            starts=self._starts,
        )

    # -- internals --------------------------------------------------------------------------

    async def _call(self, request: Call | Invoke, seconds: float | None, what: str) -> Any:
        link = self._link
        if link is None or link.process.returncode is not None:
            raise WorkerNotRunningError(
                f"worker for {self.name!r} is not running; call start() first", worker=self.name
            )
        deadline = self._deadline
        deadline.begin(seconds)
        try:
            return await self._exchange(link, request, what)
        except asyncio.CancelledError:  # its answer would reach the next call, and the extension works on
            await self._discard()
            if not deadline.ours():
                raise
            raise WorkerTimeoutError(
                f"extension {self.name!r} did not finish {what!r} within {seconds} s (wall-clock limit); "
                "its worker was killed and will start afresh",
                worker=self.name,
            ) from None
        finally:
            deadline.end()

    async def _exchange(self, link: WorkerLink, request: Call | Invoke, what: str) -> Any:
        """Send one request and serve the worker's host calls until its answer arrives."""
        try:
            message = await link.exchange(request)
            while True:
                kind = type(message)
                if kind is Done and message.seq == request.seq:
                    return message.result  # type: ignore[union-attr]
                if kind is Call:
                    message = await link.exchange(await self._host_answer(message))  # type: ignore[arg-type]
                    continue
                if kind is Failed and message.seq == request.seq:
                    raise self._remote_error(message)  # type: ignore[arg-type]
                raise SerializationError(f"an unexpected {type(message).__name__} while waiting for {what!r}")
        except (SerializationError, msgspec.DecodeError) as error:
            await self._discard()
            raise WorkerProtocolError(
                f"worker for {self.name!r} wrote something that is not the worker protocol ({error}); "
                "it was killed. A print() to stdout is harmless, so this means the protocol stream was "
                "written to directly",
                worker=self.name,
            ) from None
        except (TransportError, ConnectionError, BrokenPipeError) as error:
            reason = await self._death_reason()
            await self._discard()
            raise WorkerCrashedError(
                f"worker for {self.name!r} {reason or f'lost its connection ({error})'}", worker=self.name
            ) from None

    def _remote_error(self, failed: Failed) -> SymphonyError:
        error = ErrorPayload(category=failed.category, message=failed.message).to_exception()
        if isinstance(error, ConfinementUnavailableError | WorkerStartError):
            return type(error)(error.message, worker=self.name)
        return error if isinstance(error, ExtensionError) else ExtensionError(failed.message)

    async def _host_answer(self, call: Call) -> Done | Failed:
        """The answer to the worker's ``host.*`` request: ``host_call``'s result, or the error it raised."""
        if not call.method.startswith(HOST_PREFIX):
            return failure(call.seq, ExtensionError(f"workers may only call host.* methods, not {call.method!r}"))
        try:
            return Done(call.seq, await self.host_call(call.method[len(HOST_PREFIX) :], call.params))
        except SymphonyError as error:
            return failure(call.seq, error)
        except Exception as error:  # the callback's own failure must not kill the host
            return failure(call.seq, ExtensionError(f"host function {call.method!r} failed: {error}"))

    async def _death_reason(self) -> str:
        """Why the worker's stream ended: its exit status or signal, with a hint and its last words."""
        link = self._link
        if link is None:
            return self._log_tail()
        process = link.process
        try:
            code = await asyncio.wait_for(process.wait(), 2.0)
        except TimeoutError:
            return ""
        if code < 0:
            number = -code
            name = signal.Signals(number).name if number in signal.valid_signals() else f"signal {number}"
            text = f"(pid {process.pid}) was killed by {name}{self._signal_hint(number)}"
        else:
            text = f"(pid {process.pid}) exited with status {code}"
        return text + self._log_tail()

    def _signal_hint(self, number: int) -> str:
        policy = self.policy
        if number == signal.SIGXCPU or (number == signal.SIGKILL and policy.cpu_seconds is not None):
            cpu = f"CPU time limit {policy.cpu_seconds} s"
            if number == signal.SIGXCPU:
                return f" ({cpu} exceeded)"
            memory = f"memory limit {policy.memory_bytes // _MIB} MiB" if policy.memory_bytes else "memory"
            return f" ({memory} or {cpu}?)"
        if number == signal.SIGSYS:
            return " (a system call the seccomp filter forbids outright)"
        return ""

    def _log_tail(self) -> str:
        if self._tmp is None:
            return ""
        try:
            text = (self._tmp / "worker.log").read_text(errors="replace").strip()
        except OSError:
            return ""
        return f"; its last output: {text[-_LOG_TAIL:]!r}" if text else ""

    async def _discard(self, *, graceful: bool = False) -> None:
        """Kill (or, if ``graceful``, let exit) the process, close the pipes, remove the directory."""
        link, self._link, self.info = self._link, None, None
        if link is not None:
            if not graceful:
                with contextlib.suppress(ProcessLookupError):
                    link.process.kill()
            with contextlib.suppress(Exception):
                await link.close()
            if link.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    link.process.kill()
                await link.process.wait()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40]
