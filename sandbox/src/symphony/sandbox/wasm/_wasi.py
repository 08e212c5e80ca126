"""The WASI view a guest gets: granted directories, its configuration, captured output.

Nothing is inherited from the host: no environment variables (only the extension's own
configuration, as variables), no stdin, no stdout/stderr (captured into a bounded
buffer), no network (Wasmtime's WASI has no sockets unless told to inherit them), and no
filesystem beyond the preopened directories, read-only unless writing was granted.

The output callbacks are Python code that Wasmtime calls, and finally releases, on its
own tokio threads. Once the interpreter is finalizing, such a thread cannot take the GIL:
CPython ends it with ``pthread_exit``, which unwinds through Rust frames that cannot
unwind, and the whole process aborts (exit 134). So every store must be dropped, and
Wasmtime must have released its callbacks, while the interpreter still runs:
:meth:`OutputCapture.wait_released` is how the runtime waits for the release.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping

import wasmtime

from ._limits import Preopen

__all__ = ["OutputCapture", "wasi_config"]


class OutputCapture:
    """Keeps the first ``limit`` bytes a guest writes during one invocation; counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.dropped = 0
        self._held = 0
        self._held_lock = threading.Lock()

    def write(self, data: bytes) -> None:
        room = self.limit - len(self.buffer)
        if room > 0:
            self.buffer += data[:room]
        self.dropped += max(0, len(data) - max(room, 0))

    def reset(self) -> None:
        if self.buffer or self.dropped:
            self.buffer.clear()
            self.dropped = 0

    def text(self) -> str:
        text = self.buffer.decode("utf-8", errors="replace")
        return text + (f"\n[{self.dropped} more bytes dropped]" if self.dropped else "")

    def tail(self, characters: int = 2000) -> str:
        text = self.text()
        return text if len(text) <= characters else "..." + text[-characters:]

    @property
    def held(self) -> int:
        """How many of this capture's callbacks Wasmtime still holds (two per live store)."""
        return self._held

    def count(self, change: int) -> None:
        with self._held_lock:
            self._held += change

    def wait_released(self, timeout: float) -> bool:
        """Wait (releasing the GIL, which Wasmtime's threads need) until Wasmtime holds no callback."""
        deadline = time.monotonic() + timeout
        while self._held and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._held


class _Callback:
    """One WASI stream's callback; counted in its capture's ``held`` until Wasmtime releases it."""

    def __init__(self, output: OutputCapture) -> None:
        self.output = output
        output.count(1)

    def __call__(self, data: bytes) -> None:
        self.output.write(data)

    def __del__(self) -> None:
        self.output.count(-1)


def wasi_config(
    name: str,
    preopens: Iterable[Preopen],
    environment: Mapping[str, str],
    output: OutputCapture,
) -> wasmtime.WasiConfig:
    config = wasmtime.WasiConfig()
    config.argv = [name]
    config.env = [(key, value) for key, value in environment.items()]
    for preopen in preopens:
        config.preopen_dir(preopen.host_path, preopen.guest_path, preopen.writable)
    config.stdout_custom = _Callback(output)
    config.stderr_custom = _Callback(output)
    return config
