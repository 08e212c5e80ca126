"""The one Wasmtime engine per host, and the thread that moves its epoch.

Fuel bounds what a guest computes; the epoch bounds how long it takes in wall-clock
time (a guest blocked in a host call or starved of CPU burns no fuel). Both are engine
settings, so every compiled artefact depends on them: :data:`ENGINE_FINGERPRINT` goes
into the compiled-code cache key.
"""

from __future__ import annotations

import math
import platform
import threading
from importlib.metadata import version
from typing import Final

import wasmtime

__all__ = ["ENGINE_FINGERPRINT", "EpochTicker", "new_engine"]

_SETTINGS: Final = "consume_fuel=1;epoch_interruption=1;component_model=1"
#: Everything a serialized artefact's validity depends on besides the wasm bytes.
ENGINE_FINGERPRINT: Final = f"wasmtime={version('wasmtime')};{platform.machine()};{_SETTINGS}"


def new_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.wasm_component_model = True
    return wasmtime.Engine(config)


class EpochTicker:
    """Increments the engine's epoch every ``tick`` seconds on a daemon thread.

    A store's deadline is a number of ticks, so a timeout is enforced to within one tick.
    The thread runs only between :meth:`start` and :meth:`stop`.
    """

    def __init__(self, engine: wasmtime.Engine, tick: float = 0.01) -> None:
        self.engine = engine
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ticks_for(self, seconds: float) -> int:
        """The deadline, in ticks, that expires no sooner than ``seconds`` from now."""
        return math.ceil(seconds / self.tick) + 1

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="symphony-wasm-epoch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self.engine.increment_epoch()
