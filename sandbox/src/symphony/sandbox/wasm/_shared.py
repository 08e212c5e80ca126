"""The process's engines: runtimes with the same epoch tick share one engine, ticker, linker and programs.

Programs belong to the engine that compiled or deserialized them, so runtimes can share
deserialized programs only if they share the engine. Engine settings are fixed (see
:mod:`._engine`); only the epoch tick differs between runtimes, and one ticker per engine
keeps a deadline's ticks meaning the same for every store. The ticker runs while some
runtime uses the engine; the engine and its programs stay for the life of the process, so
a runtime made later starts without deserializing what an earlier one loaded.
"""

from __future__ import annotations

import threading

import wasmtime

from ._cache import ProgramMemory
from ._component import ComponentLinker
from ._engine import EpochTicker, new_engine

__all__ = ["SharedEngine", "shared_engine"]


class SharedEngine:
    """One engine with its epoch ticker, component linker and deserialized programs, used by runtimes.

    The linker's host functions find the calling extension by its store, so one linker
    serves every runtime (building one costs ~0.2-0.3 ms).
    """

    def __init__(self, tick: float) -> None:
        self.engine: wasmtime.Engine = new_engine()
        self.ticker = EpochTicker(self.engine, tick)
        self.programs = ProgramMemory()
        self.linker = ComponentLinker(self.engine)
        self._users = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            self.ticker.start()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self.ticker.stop()


_ENGINES: dict[float, SharedEngine] = {}
_ENGINES_LOCK = threading.Lock()


def shared_engine(tick: float) -> SharedEngine:
    """The process's engine for runtimes whose epoch advances every ``tick`` seconds."""
    with _ENGINES_LOCK:
        found = _ENGINES.get(tick)
        if found is None:
            found = _ENGINES[tick] = SharedEngine(tick)
        return found
