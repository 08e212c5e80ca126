"""A model worker: ``python -m symphony.builtin_plugins.pit.pool.worker``, one model instance per process.

It answers the pool's handshake on stdin/stdout (fd 1 then points at stderr,
so a model's stray ``print`` cannot corrupt the frames), loads the model named
by the ``load`` request, and serves ``call`` requests in threads until stdin
closes.  Pings are answered by the reading thread itself, so a long call never
keeps a ping from being answered: a worker that misses pings is hung, not busy.

It uses blocking reads and threads rather than asyncio: importing asyncio (and
the ssl module it pulls in) costs every idle model worker ~8 MiB of RSS, a
third of what it holds.  It asks the kernel to kill it when the host dies
(PR_SET_PDEATHSIG), so a crashed host leaves no orphaned models holding memory.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import msgspec

from symphony.hookspecs import PROTOCOL_VERSION, SymphonyError, die_with_parent
from symphony.hookspecs.wire.framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, encode_frame

from .protocol import PARENT_ENV, Reply, Request, decode_request, encode

#: The handshake's first frame is a few dozen bytes; refuse a larger length unread.
_MAX_HELLO: Final = 64 * 1024
#: Calls of a shared model run at once at most; more wait in the executor's queue.
_CALL_THREADS: Final = 32


class _Hello(msgspec.Struct, frozen=True):
    """The pool's hello (see symphony.hookspecs.wire.handshake): its protocol version and codecs."""

    symphony: int
    codecs: list[str]


class _Link:
    """Whole frames in from stdin and out to the original stdout, which fd 1 no longer names."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out = os.dup(1)
        os.dup2(2, 1)
        self._lock = threading.Lock()
        self._decoder = FrameDecoder(DEFAULT_MAX_FRAME_SIZE, first_limit=_MAX_HELLO)

    def receive(self) -> bytes | None:
        """The next frame; None at end of input (the pool let us go)."""
        while not self._decoder.frames:
            data = os.read(0, 64 * 1024)
            if not data:
                return None
            self._decoder.feed(data)
        return self._decoder.pop()

    def send(self, payload: bytes) -> None:
        frame = memoryview(encode_frame(payload))
        with self._lock:  # one whole frame at a time, whichever thread answers
            while frame:
                frame = frame[os.write(self._out, frame) :]


def _handshake(link: _Link) -> bool:
    """Answer the pool's hello as ``server_handshake`` would: MessagePack, or a refusal with the reason."""
    first = link.receive()
    if first is None:
        return False
    try:
        hello = msgspec.json.decode(first, type=_Hello)
    except msgspec.DecodeError as error:
        reason = f"malformed handshake: {error}"
    else:
        if hello.symphony != PROTOCOL_VERSION:
            reason = f"protocol version mismatch: client speaks {hello.symphony}, worker speaks {PROTOCOL_VERSION}"
        elif "msgpack" not in hello.codecs:
            reason = f"no common codec: client offers {hello.codecs}, the worker speaks msgpack"
        else:
            link.send(msgspec.json.encode({"symphony": PROTOCOL_VERSION, "codec": "msgpack"}))
            return True
    link.send(msgspec.json.encode({"error": reason}))
    return False


class _Worker:
    """One loaded model and the link to the pool that asks it things."""

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.model: Any = None
        self.loader = ""

    def answer(self, request: Request) -> None:
        try:
            frame = encode(Reply(request.id, True, self.dispatch(request)))
        except Exception as error:  # every failure is a reply: the pool decides what it means
            category = error.category if isinstance(error, SymphonyError) else "symphony"
            frame = encode(Reply(request.id, False, self.describe(error, request), category))
        try:
            self.link.send(frame)
        except OSError:  # the pool is gone: nobody to answer
            os._exit(0)

    def describe(self, error: BaseException, request: Request) -> str:
        if isinstance(error, SymphonyError):
            return str(error)
        if isinstance(error, (TypeError, msgspec.EncodeError)) and request.op == "call":
            return f"method {request.method!r} failed or returned a value that cannot be sent: {error}"
        where = f"loader {self.loader!r}" if request.op == "load" else f"method {request.method!r}"
        return f"{where} raised {type(error).__name__}: {error}"

    def dispatch(self, request: Request) -> Any:
        if request.op == "load":
            return self.load(request.payload)
        if self.model is None:
            raise RuntimeError("no model is loaded: send load first")
        if request.method.startswith("_"):
            raise AttributeError(f"{request.method!r} is private; call a public method of the model")
        method = getattr(self.model, request.method, None)
        if not callable(method):
            raise AttributeError(f"the model has no method {request.method!r}")
        result = method(request.payload)
        if inspect.isawaitable(result):  # an async method: run it to completion in this thread
            import asyncio

            return asyncio.run(_awaited(result))
        return result

    def load(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.loader = payload["loader"]
        module_name, _, attribute = self.loader.partition(":")
        started = time.perf_counter()
        target: Any = importlib.import_module(module_name)
        for part in attribute.split(".") if attribute else ():
            target = getattr(target, part)
        if not callable(target):
            raise TypeError(f"{self.loader!r} is {type(target).__name__}, expected a function loader(config)")
        self.model = target(payload.get("config") or {})
        return {"pid": os.getpid(), "load_seconds": time.perf_counter() - started}


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def main() -> None:
    parent = os.environ.get(PARENT_ENV)
    die_with_parent(int(parent) if parent else 0)  # first: a host killed from now on takes the worker with it
    link = _Link()
    if _handshake(link):
        worker = _Worker(link)
        calls = ThreadPoolExecutor(max_workers=_CALL_THREADS, thread_name_prefix="model")
        while (frame := link.receive()) is not None:
            try:
                request = decode_request(frame)
            except msgspec.DecodeError:
                continue  # not ours to answer: the frame boundary is intact, so the next one is readable
            if request.op == "ping":
                link.send(encode(Reply(request.id, True, os.getpid())))
            else:
                calls.submit(worker.answer, request)
    # A load or call may still run in a thread; it must not keep alive a worker the pool let go.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
