"""The worker side: take the start frame, confine this process, then serve the parent's requests.

Order is the point: the process arms its death with its parent, reads its
spec, sends stderr to the log, confines itself, tells the parent what it
applied, and only then is the extension imported (on ``load``), so no
extension code ever runs unconfined.  It runs the same way whether
``bootstrap.py`` started a fresh interpreter or the zygote forked one.

The loop is blocking reads and writes on the pipes (:class:`.Pipe`): a
request is read, answered and the answer written with no event loop turning
in between.  A plain handler is called right there; an ``async def`` one is
awaited inline, so the loop it runs on only turns while the handler waits on
something.  Guest calls are blocking exchanges on the same pipes, one at a
time; ``acall`` makes its exchange on a thread so the handler's other tasks go on.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import msgspec

from symphony.hookspecs import ErrorPayload, ExtensionError, SymphonyError, die_with_parent, guest

from ..confine import ConfinementRefusedError, ConfinementReport, confine
from ._errors import WorkerStartError
from ._pipe import Pipe
from ._protocol import (
    HOST_PREFIX,
    PROTOCOL,
    Call,
    Done,
    Failed,
    Hello,
    Invoke,
    LoadParams,
    Message,
    ReadyInfo,
    WorkerSpec,
    decode,
    decode_start,
    encode,
    failure,
)

__all__ = ["read_paths", "run"]

#: Read-only system locations: shared libraries an extension module may load later.  No secrets live here.
_SYSTEM_READ: Final = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache", "/dev/urandom")
_MIB: Final = 1024 * 1024


def _redirect_stderr(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)


def _frames_off_stdout() -> int:
    """Move the frame stream off fd 1 (returned: its new fd) and point fd 1 at the log: a stray print() lands there."""
    sys.stdout.flush()
    frames = os.dup(1)
    os.dup2(2, 1)
    return frames


def read_paths(spec: WorkerSpec) -> list[str]:
    """Everything the worker may read: the interpreter, its import paths, the grants, system libraries."""
    prefixes = [sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix]
    paths = [*prefixes, *(p for p in sys.path if p), *spec.environment_paths, *spec.policy.read_paths, *_SYSTEM_READ]
    return list(dict.fromkeys(os.path.abspath(p) for p in paths))


def _confine(spec: WorkerSpec) -> tuple[ConfinementReport | None, str | None]:
    try:
        report = confine(
            spec.policy, read_paths=read_paths(spec), write_paths=[spec.workdir, "/dev/null", *spec.policy.write_paths]
        )
    except ConfinementRefusedError as error:
        return None, str(error)
    except OSError as error:  # a mechanism failed half-way: never run the extension like this
        return None, f"confinement failed: {error}"
    return report, None


def run(parent_pid: int) -> int:
    """Be a worker until the parent closes the link; returns the exit status."""
    die_with_parent(parent_pid)  # first: a parent killed from now on takes the worker with it
    start = decode_start(Pipe(0, 1).read())
    os.environ.clear()
    os.environ.update(start.env)
    os.umask(start.umask)
    sys.path[:] = [*start.sys_path, *(p for p in sys.path if p not in start.sys_path)]
    spec = start.spec
    _redirect_stderr(spec.log_path)
    os.chdir(spec.workdir)
    pipe = Pipe(0, _frames_off_stdout())  # nothing follows Start on stdin until the parent has our Hello
    report, refusal = _confine(spec)
    pipe.write(encode(Hello(PROTOCOL, report, refusal)))
    if refusal is not None:
        print(f"symphony worker {spec.name!r}: {refusal}", file=sys.stderr, flush=True)
        return 0
    loop = asyncio.new_event_loop()  # after confinement: its self-pipe is the one socketpair seccomp allows
    asyncio.set_event_loop(loop)
    loop.run_until_complete(_Worker(spec, pipe).serve())
    return 0


Handler = Callable[[str, dict[str, Any]], Any]


class _Worker:
    """One link to the parent; requests are answered one at a time, in order."""

    def __init__(self, spec: WorkerSpec, pipe: Pipe) -> None:
        self.spec = spec
        self.pipe = pipe
        self.config: dict[str, Any] = {}
        self.handler: Handler | None = None
        self.is_async = False
        self.invocations = 0
        self._exchange = threading.Lock()  # one guest call on the pipes at a time, from any thread
        self._seq = 0

    async def serve(self) -> None:
        while True:
            try:
                request = decode(self.pipe.read())
            except (EOFError, OSError, msgspec.DecodeError, SymphonyError):
                return  # the parent went away (or is not speaking the protocol): nothing left to serve
            self._reply(await self._answer(request))

    def _reply(self, answer: Done | Failed) -> None:
        try:
            frame = encode(answer)
        except (TypeError, OverflowError, msgspec.EncodeError) as error:
            unsendable = ExtensionError(f"extension {self.spec.name!r} returned a value that cannot be sent: {error}")
            frame = encode(failure(answer.seq, unsendable))
        self.pipe.write(frame)

    async def _answer(self, request: Message) -> Done | Failed:
        try:
            if isinstance(request, Invoke):
                return Done(request.seq, await self._invoke(request))
            if isinstance(request, Call):
                return Done(request.seq, self._call(request))
            raise ExtensionError(f"unexpected {type(request).__name__} from the parent; expected a request")
        except Exception as error:  # every failure becomes an error reply, never a dead worker
            return failure(request.seq, self._describe(error, request))

    def _describe(self, error: BaseException, request: Message) -> SymphonyError:
        if isinstance(error, SymphonyError):
            return error
        where = f"operation {request.operation!r}" if isinstance(request, Invoke) else getattr(request, "method", "?")
        if isinstance(error, MemoryError):
            limit = self.spec.policy.memory_bytes
            shown = f"{limit // _MIB} MiB" if limit else "none set"
            return ExtensionError(f"extension {self.spec.name!r} ran out of memory in {where} (memory limit {shown})")
        return ExtensionError(f"extension {self.spec.name!r} raised {type(error).__name__} in {where}: {error}")

    def _call(self, request: Call) -> Any:
        if request.method == "ping":
            return {"pid": os.getpid(), "invocations": self.invocations}
        if request.method == "load":
            return self._load(msgspec.convert(request.params, LoadParams))
        raise ExtensionError(f"unknown worker method {request.method!r}; expected load, invoke or ping")

    def _load(self, params: LoadParams) -> dict[str, Any]:
        self.config = params.config
        guest.install(self)
        module_name, _, attribute = self.spec.entry.partition(":")
        # The runtime (msgspec, asyncio, symphony.*) is imported by now; the extension's own
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
        info = ReadyInfo(python=sys.version.split()[0], import_ms=(time.perf_counter() - started) * 1000)
        return msgspec.to_builtins(info)  # type: ignore[no-any-return]

    async def _invoke(self, request: Invoke) -> dict[str, Any]:
        if self.handler is None:
            raise ExtensionError(f"extension {self.spec.name!r} is not loaded; the parent must send `load` first")
        self.invocations += 1
        result = self.handler(request.operation, request.input)
        if self.is_async:
            result = await result
        if not isinstance(result, dict):
            raise ExtensionError(
                f"extension {self.spec.name!r} returned {type(result).__name__} from operation "
                f"{request.operation!r}; handlers must return a dict"
            )
        return result

    # -- the guest channel (see guest.py) --------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Ask the parent and wait for its answer: nothing else is in flight while it serves us."""
        with self._exchange:
            self._seq += 1
            seq = self._seq
            self.pipe.write(encode(Call(seq, HOST_PREFIX + method, params)))
            while True:
                try:
                    answer = decode(self.pipe.read())
                except EOFError:
                    raise ExtensionError("the host closed the link during a guest call") from None
                if isinstance(answer, Failed) and answer.seq == seq:
                    raise ErrorPayload(category=answer.category, message=answer.message).to_exception()
                if isinstance(answer, Done) and answer.seq == seq:
                    return answer.result

    async def acall(self, method: str, params: dict[str, Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.call, method, params)
