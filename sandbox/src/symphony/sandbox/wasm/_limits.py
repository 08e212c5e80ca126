"""What a wasm extension may touch and consume, fixed when it is loaded."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

__all__ = ["MAX_INSTANCES", "MAX_MEMORIES", "MAX_TABLES", "Preopen", "WasmLimits"]

#: Per store. A CPython component needs 1 memory, 2 tables and 9 instances.
MAX_MEMORIES = 2
MAX_TABLES = 16
MAX_INSTANCES = 64


class Preopen(msgspec.Struct, frozen=True, kw_only=True):
    """A host directory the guest sees at ``guest_path``; read-only unless ``writable``.

    Only preopened directories exist for the guest: WASI has no ambient filesystem, so a
    path outside every preopen cannot even be named.
    """

    host_path: str
    guest_path: str
    writable: bool = False

    def __post_init__(self) -> None:
        if not os.path.isdir(self.host_path):
            raise ValueError(f"Preopen host_path {self.host_path!r} is not a directory; grant an existing directory")
        if not self.guest_path.startswith("/"):
            raise ValueError(f"Preopen guest_path {self.guest_path!r} must be absolute, e.g. '/data'")

    @classmethod
    def read_only(cls, host_path: str | Path, guest_path: str) -> Preopen:
        return cls(host_path=str(host_path), guest_path=guest_path)

    @classmethod
    def read_write(cls, host_path: str | Path, guest_path: str) -> Preopen:
        return cls(host_path=str(host_path), guest_path=guest_path, writable=True)


class WasmLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-extension budgets, mapped from the manifest's ``[resources]``.

    - ``fuel``: Wasmtime fuel per invocation (about one unit per wasm instruction), the
      CPU bound that does not depend on machine load.
    - ``memory_bytes``: the largest a linear memory may grow (StoreLimits).
    - ``timeout``: wall-clock seconds per invocation, enforced by epoch interruption.
    - ``output_bytes``: how much of the guest's stdout/stderr is kept per invocation.
    - ``log_bytes``: the longest log line the host accepts (longer ones are cut).
    - ``table_elements``: the most elements one table may hold (about 8 host bytes each).

    A store also holds at most :data:`MAX_MEMORIES` memories, :data:`MAX_TABLES` tables and
    :data:`MAX_INSTANCES` instances, so a guest's host memory is bounded by about
    ``MAX_MEMORIES * memory_bytes + MAX_TABLES * table_elements * 8`` bytes, however it
    declares or grows them.
    """

    fuel: int = 2_000_000_000
    memory_bytes: int = 256 * 1024 * 1024
    timeout: float = 10.0
    output_bytes: int = 64 * 1024
    log_bytes: int = 4 * 1024
    table_elements: int = 100_000

    def __post_init__(self) -> None:
        for name in ("fuel", "memory_bytes", "output_bytes", "log_bytes", "table_elements"):
            if getattr(self, name) <= 0:
                raise ValueError(f"WasmLimits.{name} must be positive, got {getattr(self, name)}")
        if self.timeout <= 0:
            raise ValueError(f"WasmLimits.timeout must be positive seconds, got {self.timeout}")
