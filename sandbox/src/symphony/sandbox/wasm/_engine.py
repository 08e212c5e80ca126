"""The one Wasmtime engine per host, and the thread that moves its epoch.

Fuel bounds what a guest computes; the epoch bounds how long it takes in wall-clock
time (a guest blocked in a host call or starved of CPU burns no fuel). Both are engine
settings, so every compiled artefact depends on them: :data:`ENGINE_FINGERPRINT` goes
into the compiled-code cache key.
"""

from __future__ import annotations

import _thread
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
    """Increments the engine's epoch every ``tick`` seconds on a background thread.

    A store's deadline is a number of ticks, so a timeout is enforced to within one tick.
    The thread runs only between :meth:`start` and :meth:`stop`. It is a bare
    ``_thread`` thread because ``threading.Thread.start`` waits until the new thread has
    run, which on a busy machine adds milliseconds to the first extension's cold start.
    """

    def __init__(self, engine: wasmtime.Engine, tick: float = 0.01) -> None:
        self.engine = engine
        self.tick = tick
        self._stop: threading.Event | None = None
        self._finished: _thread.LockType | None = None
        self._lock = threading.Lock()

    def ticks_for(self, seconds: float) -> int:
        """The deadline, in ticks, that expires no sooner than ``seconds`` from now."""
        return math.ceil(seconds / self.tick) + 1

    def start(self) -> None:
        with self._lock:
            if self._stop is not None:
                return
            stop, finished = threading.Event(), _thread.allocate_lock()
            finished.acquire()
            self._stop, self._finished = stop, finished
            _thread.start_new_thread(self._run, (stop, finished))

    def stop(self) -> None:
        """Stop the thread and wait until it no longer touches the engine."""
        with self._lock:
            stop, finished = self._stop, self._finished
            self._stop = self._finished = None
        if stop is not None and finished is not None:
            stop.set()
            finished.acquire()

    def _run(self, stop: threading.Event, finished: _thread.LockType) -> None:
        try:
            while not stop.wait(self.tick):
                self.engine.increment_epoch()
        finally:
            finished.release()
