"""The WASI view a guest gets: granted directories, its configuration, captured output.

Nothing is inherited from the host: no environment variables (only the extension's own
configuration, as variables), no stdin, no stdout/stderr (captured into a bounded
buffer), no network (Wasmtime's WASI has no sockets unless told to inherit them), and no
filesystem beyond the preopened directories, read-only unless writing was granted.
"""

from __future__ import annotations

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
    config.stdout_custom = output.write
    config.stderr_custom = output.write
    return config
